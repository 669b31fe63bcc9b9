import type { z } from "zod";
import { ConfigurationError } from "./errors.js";
import type { Issue } from "./issues.js";
import { describeIssues, toIssues } from "./issues.js";

/**
 * One step of a schema's evolution: a value stored at version `k` in, the same value at
 * version `k + 1` out. Pure and synchronous, like `handle`. Annotate the parameter with the
 * old version's type (`(state: PaymentV1) => …`): the stored value is handed over as it was
 * stored (JSON), so name what it was, not what it should be.
 *
 * @example
 * // Version 1 kept `open: boolean`; version 2 keeps `status`. A migration names the old type itself.
 * const migrations: Migrations = { 1: (state: { open: boolean }) => ({ status: state.open ? "open" : "closed" }) };
 */
// The method form makes the parameter bivariant, so that a migration may name its own old type
// (an interface as well as a type alias: `object` is what both are assignable to).
export type Migration = { migrate(value: object): unknown }["migrate"];

/** A chain of migrations: `migrations[k]` turns version `k` into `k + 1`, for every `k` below the current version. */
export type Migrations = Readonly<Record<number, Migration>>;

/** What a versioned value is: the state of a machine, or one of its events. */
export const VersionedSubject = { State: "state", Event: "event" } as const;
export type VersionedSubject = (typeof VersionedSubject)[keyof typeof VersionedSubject];

/** Why a stored value cannot be read by the running code: a smart enum. */
export const UnreadableReason = {
  /** Written by newer code than this one (a rollback): this code cannot know its shape. */
  NewerVersion: "newer_version",
  /** A migration of the chain threw. */
  MigrationFailed: "migration_failed",
  /** The migrated (or stored) value does not parse with the current schema. */
  SchemaRefused: "schema_refused",
  /** The stored version is no version (below 1, not an integer). */
  BadVersion: "bad_version",
} as const;
export type UnreadableReason = (typeof UnreadableReason)[keyof typeof UnreadableReason];

/** A stored value the running code cannot read, and why. */
export interface Unreadable {
  readonly ok: false;
  readonly subject: VersionedSubject;
  readonly reason: UnreadableReason;
  /** The version the value was stored at. */
  readonly storedVersion: number;
  /** The version the running code reads and writes. */
  readonly expectedVersion: number;
  /** One sentence, naming the first issue. */
  readonly message: string;
  readonly issues: readonly Issue[];
}

/** A stored value as the running code reads it: at the current version, parsed when it was migrated. */
export interface Readable {
  readonly ok: true;
  readonly value: unknown;
  /** True when a migration ran (the value differs from what is stored). */
  readonly migrated: boolean;
}

/** What reading a stored, versioned value came to. */
export type Reading = Readable | Unreadable;

/** A versioned schema: its current version, its migration chain, the schema of its current version. */
export interface Versioned {
  readonly subject: VersionedSubject;
  readonly version: number;
  readonly migrations: Migrations;
  readonly schema: z.ZodType;
}

/**
 * Bring a value stored at `storedVersion` to the current version through the migration
 * chain, without parsing it (for events, which the caller parses as it parses any event).
 * Never throws: a migration that throws and a version newer than the code are {@link Unreadable}.
 *
 * @example
 * const reading = migrateVersioned(eventSchemaOf(doors), timer.event, timer.eventVersion);
 */
export function migrateVersioned(versioned: Versioned, stored: unknown, storedVersion: number): Reading {
  if (storedVersion === versioned.version) return { ok: true, value: stored, migrated: false };
  const unreadable = unreadableAs(versioned, storedVersion);
  if (!Number.isSafeInteger(storedVersion) || storedVersion < 1) {
    return unreadable(UnreadableReason.BadVersion, `the ${versioned.subject} is stored at version ${storedVersion}`);
  }
  if (storedVersion > versioned.version) {
    return unreadable(
      UnreadableReason.NewerVersion,
      `the ${versioned.subject} is stored at version ${storedVersion}, newer than this code's version ${versioned.version} (was newer code rolled back?)`,
    );
  }
  let value: unknown = stored;
  for (let from = storedVersion; from < versioned.version; from++) {
    const migration = versioned.migrations[from];
    if (migration === undefined) {
      // defineMachine refuses a chain with holes; only a hand-built machine gets here.
      return unreadable(UnreadableReason.MigrationFailed, `no ${versioned.subject} migration from version ${from}`);
    }
    try {
      value = migration(value as object);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return unreadable(
        UnreadableReason.MigrationFailed,
        `the ${versioned.subject} migration from version ${from} to ${from + 1} threw: ${why}`,
      );
    }
  }
  return { ok: true, value, migrated: true };
}

/**
 * Read a value stored at `storedVersion` as the current code expects it: migrated step by
 * step, then parsed with the current schema. A value at the current version is returned as
 * stored (it was parsed when it was written). Never throws: a migration that throws, a
 * result the schema refuses and a version newer than the code are {@link Unreadable}.
 *
 * @example
 * const reading = readVersioned(stateSchemaOf(doors), entity.state, entity.stateVersion);
 * if (!reading.ok) console.error(reading.message);
 */
export function readVersioned(versioned: Versioned, stored: unknown, storedVersion: number): Reading {
  const migrated = migrateVersioned(versioned, stored, storedVersion);
  if (!migrated.ok || !migrated.migrated) return migrated;
  const parsed = versioned.schema.safeParse(migrated.value);
  if (!parsed.success) {
    const issues = toIssues(parsed.error);
    return unreadableAs(versioned, storedVersion)(
      UnreadableReason.SchemaRefused,
      `the ${versioned.subject} migrated from version ${storedVersion} to ${versioned.version} does not fit the schema: ${describeIssues(issues.slice(0, 1))}`,
      issues,
    );
  }
  return { ok: true, value: parsed.data, migrated: true };
}

function unreadableAs(
  versioned: Versioned,
  storedVersion: number,
): (reason: UnreadableReason, message: string, issues?: readonly Issue[]) => Unreadable {
  return (reason, message, issues = []) => ({
    ok: false,
    subject: versioned.subject,
    reason,
    storedVersion,
    expectedVersion: versioned.version,
    message,
    issues,
  });
}

/**
 * Check a migration chain when a machine is defined: a positive integer version, and exactly
 * one migration from each version below it — a hole or a stray entry is a
 * `ConfigurationError` that names it.
 */
export function checkMigrationChain(
  machine: string,
  subject: VersionedSubject,
  version: number,
  migrations: Migrations,
): void {
  const versionName = subject === VersionedSubject.State ? "version" : "eventVersion";
  const chainName = subject === VersionedSubject.State ? "migrations" : "eventMigrations";
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new ConfigurationError(`machine "${machine}": ${versionName} must be a whole number ≥ 1, got ${version}`);
  }
  for (let from = 1; from < version; from++) {
    if (typeof migrations[from] !== "function") {
      throw new ConfigurationError(
        `machine "${machine}" is at ${subject} version ${version} but ${chainName} has no entry ${from} (from version ${from} to ${from + 1})`,
      );
    }
  }
  for (const key of Object.keys(migrations)) {
    const from = Number(key);
    if (!Number.isSafeInteger(from) || from < 1 || from >= version) {
      throw new ConfigurationError(
        `machine "${machine}": ${chainName} has an entry ${JSON.stringify(key)}, but only versions 1 to ${version - 1} migrate (the ${subject} is at version ${version})`,
      );
    }
  }
}
