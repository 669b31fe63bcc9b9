import type { Reading, Versioned } from "./evolution.js";
import { migrateVersioned, readVersioned, VersionedSubject } from "./evolution.js";
import type { AnyMachine } from "./machine.js";

/** A machine's state schema with its version and migration chain. */
export function stateSchemaOf(machine: AnyMachine): Versioned {
  return {
    subject: VersionedSubject.State,
    version: machine.version,
    migrations: machine.migrations,
    schema: machine.schemas.state,
  };
}

/** A machine's event schema with its version and migration chain. */
export function eventSchemaOf(machine: AnyMachine): Versioned {
  return {
    subject: VersionedSubject.Event,
    version: machine.eventVersion,
    migrations: machine.eventMigrations,
    schema: machine.schemas.event,
  };
}

/**
 * Read a state stored at `storedVersion` as `machine`'s current code expects it (see
 * {@link readVersioned}).
 *
 * @example
 * const reading = readState(doors, entity.state, entity.stateVersion);
 * if (reading.ok) decide(doors, reading.value, true, event, ctx);
 */
export function readState(machine: AnyMachine, state: unknown, storedVersion: number): Reading {
  // Every step reads its entity: the usual case, a state at the current version, builds nothing.
  if (storedVersion === machine.version) return { ok: true, value: state, migrated: false };
  return readVersioned(stateSchemaOf(machine), state, storedVersion);
}

/**
 * Bring an event recorded at `storedVersion` (in the journal, in a timer) to `machine`'s
 * current event version, unparsed: the caller parses it as it parses any incoming event.
 */
export function migrateEvent(machine: AnyMachine, event: unknown, storedVersion: number): Reading {
  if (storedVersion === machine.eventVersion) return { ok: true, value: event, migrated: false };
  return migrateVersioned(eventSchemaOf(machine), event, storedVersion);
}
