import type { Reading } from "./evolution.js";
import { describeIssues, toIssues } from "./issues.js";
import type { Json } from "./json.js";
import { stableStringify, toJson } from "./json.js";
import type { AnyMachine, Typed } from "./machine.js";
import { DecisionKind } from "./machine.js";
import type { JournalEntry } from "./ports.js";
import { RunResultKind } from "./result.js";
import { isSchedule } from "./schedule.js";
import { decide } from "./step.js";
import { migrateEvent, readState } from "./versions.js";

/** Ways a replayed step can differ from what the journal recorded: a smart enum. */
export const DivergenceKind = {
  /** The replayed state differs from the recorded one (compared when both are at the current state version). */
  State: "state",
  /** The replayed intents differ from the recorded ones. */
  Intents: "intents",
  /** The current code rejects an event the journal recorded as accepted. */
  Rejected: "rejected",
  /** The current code answers "no such entity" to the entity's first event. */
  NotFound: "not_found",
  /** The recorded event, or the state recorded before it, cannot be read (a migration failed, a newer version). */
  Unreadable: "unreadable",
  /** The recorded event, migrated to the current version, does not fit the current event schema. */
  EventRefused: "event_refused",
  /** The current code decides a state its own state schema refuses. */
  StateRefused: "state_refused",
  /** The current code decides an intent its own intent schema refuses. */
  IntentRefused: "intent_refused",
} as const;
export type DivergenceKind = (typeof DivergenceKind)[keyof typeof DivergenceKind];

/** One journal entry the current code decides differently, or cannot decide at all. */
export interface Divergence {
  readonly kind: DivergenceKind;
  readonly machine: string;
  readonly id: string;
  readonly version: number;
  readonly eventId: string;
  readonly recorded: Json;
  readonly replayed: Json;
}

/**
 * Re-run an entity's journal (oldest first) through the machine's current code, schemas
 * included, and report every step it now decides differently or refuses. Each step starts
 * from the state the journal recorded before it, migrated to the current state version, and
 * each recorded event is migrated to the current event version and parsed, so one divergence
 * does not hide or cause the next. A state recorded at an older state version is not compared
 * field by field (its shape changed on purpose): the replayed state must fit the schema, and
 * the decision and its intents must match.
 *
 * @example
 * const divergences = replayJournal(doors, await app.history({ machine: "doors", id }));
 * if (divergences.length > 0) console.table(divergences);
 */
export function replayJournal(machine: AnyMachine, entries: readonly JournalEntry[]): Divergence[] {
  const divergences: Divergence[] = [];
  let state: unknown;
  let exists = false;
  for (const entry of entries) {
    const base = { machine: entry.machine, id: entry.id, version: entry.version, eventId: entry.eventId };
    const diverge = (kind: DivergenceKind, recorded: Json, replayed: Json) =>
      divergences.push({ ...base, kind, recorded, replayed });
    const recordedState = readState(machine, entry.state, entry.stateVersion);
    const event = readEvent(machine, entry);
    if (!event.ok) {
      diverge(event.kind, entry.event, event.replayed);
    } else {
      const ctx = { entityId: entry.id, eventId: entry.eventId, at: entry.at };
      const outcome = decide(machine, state, exists, event.value, ctx);
      switch (outcome.kind) {
        case RunResultKind.NotFound:
          diverge(DivergenceKind.NotFound, entry.state, null);
          break;
        case DecisionKind.Rejected:
          diverge(DivergenceKind.Rejected, entry.state, {
            reason: outcome.reason,
            ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
          });
          break;
        case DecisionKind.Accepted: {
          const parsed = machine.schemas.state.safeParse(outcome.state);
          if (!parsed.success) {
            diverge(DivergenceKind.StateRefused, entry.state, {
              state: toJson(outcome.state),
              issues: describeIssues(toIssues(parsed.error)),
            });
          } else if (entry.stateVersion === machine.version) {
            const replayedState = toJson(parsed.data);
            if (stableStringify(replayedState) !== stableStringify(entry.state)) {
              diverge(DivergenceKind.State, entry.state, replayedState);
            }
          }
          const refused = outcome.intents.flatMap((intent) => {
            const result = machine.schemas.intent.safeParse(intent);
            return result.success ? [] : [{ intent: toJson(intent), issues: describeIssues(toIssues(result.error)) }];
          });
          if (refused.length > 0) diverge(DivergenceKind.IntentRefused, null, refused);
          const recordedIntents = recordedIntentsOf(machine, entry);
          const replayedIntents = toJson(outcome.intents);
          if (stableStringify(replayedIntents) !== stableStringify(recordedIntents)) {
            diverge(DivergenceKind.Intents, recordedIntents, replayedIntents);
          }
          break;
        }
      }
    }
    if (!recordedState.ok) diverge(DivergenceKind.Unreadable, entry.state, unreadableJson(recordedState));
    state = recordedState.ok ? recordedState.value : entry.state;
    exists = true;
  }
  return divergences;
}

type EventReading =
  | { readonly ok: true; readonly value: Typed }
  | { readonly ok: false; readonly kind: DivergenceKind; readonly replayed: Json };

/** A recorded event as the current code would receive it: migrated, then parsed. */
function readEvent(machine: AnyMachine, entry: JournalEntry): EventReading {
  const migrated = migrateEvent(machine, entry.event, entry.eventVersion);
  if (!migrated.ok) return { ok: false, kind: DivergenceKind.Unreadable, replayed: unreadableJson(migrated) };
  const parsed = machine.schemas.event.safeParse(migrated.value);
  if (!parsed.success) {
    return {
      ok: false,
      kind: DivergenceKind.EventRefused,
      replayed: { event: toJson(migrated.value), issues: describeIssues(toIssues(parsed.error)) },
    };
  }
  return { ok: true, value: parsed.data };
}

/**
 * The intents an entry recorded, as the current code would write them: the event inside a
 * recorded `Schedule` was written at the entry's event version, so it is migrated like any
 * recorded event (left as recorded if it cannot be).
 */
function recordedIntentsOf(machine: AnyMachine, entry: JournalEntry): Json[] {
  return entry.intents.map(({ intent }) => {
    if (typeof intent !== "object" || intent === null || Array.isArray(intent)) return intent;
    if (!isSchedule(intent as unknown as Typed)) return intent;
    const migrated = migrateEvent(machine, (intent as { event?: Json }).event, entry.eventVersion);
    return migrated.ok ? { ...intent, event: toJson(migrated.value) } : intent;
  });
}

function unreadableJson(reading: Extract<Reading, { ok: false }>): Json {
  return {
    subject: reading.subject,
    reason: reading.reason,
    storedVersion: reading.storedVersion,
    expectedVersion: reading.expectedVersion,
    message: reading.message,
  };
}
