import type { Json } from "./json.js";
import { stableStringify } from "./json.js";
import type { AnyMachine, Typed } from "./machine.js";
import { DecisionKind } from "./machine.js";
import type { JournalEntry } from "./ports.js";
import { RunResultKind } from "./result.js";
import { decide } from "./step.js";

/** Ways a replayed step can differ from what the journal recorded: a smart enum. */
export const DivergenceKind = {
  State: "state",
  Intents: "intents",
  Rejected: "rejected",
  NotFound: "not_found",
} as const;
export type DivergenceKind = (typeof DivergenceKind)[keyof typeof DivergenceKind];

/** One journal entry the current code decides differently. */
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
 * Re-run an entity's journal (oldest first) through the machine's current code and report
 * every step it now decides differently. Each step starts from the state the journal
 * recorded before it, so one divergence does not hide or cause the next.
 *
 * @example
 * const divergences = replayJournal(doors, await store.history({ machine: "doors", id }));
 * if (divergences.length > 0) console.table(divergences);
 */
export function replayJournal(machine: AnyMachine, entries: readonly JournalEntry[]): Divergence[] {
  const divergences: Divergence[] = [];
  let state: Json | undefined;
  for (const entry of entries) {
    const base = { machine: entry.machine, id: entry.id, version: entry.version, eventId: entry.eventId };
    const ctx = { entityId: entry.id, eventId: entry.eventId, at: entry.at };
    const outcome = decide(machine, state, state !== undefined, entry.event as unknown as Typed, ctx);
    switch (outcome.kind) {
      case RunResultKind.NotFound:
        divergences.push({ ...base, kind: DivergenceKind.NotFound, recorded: entry.state, replayed: null });
        break;
      case DecisionKind.Rejected:
        divergences.push({
          ...base,
          kind: DivergenceKind.Rejected,
          recorded: entry.state,
          replayed: { reason: outcome.reason, ...(outcome.detail === undefined ? {} : { detail: outcome.detail }) },
        });
        break;
      case DecisionKind.Accepted: {
        const replayedState = JSON.parse(JSON.stringify(outcome.state)) as Json;
        if (stableStringify(replayedState) !== stableStringify(entry.state)) {
          divergences.push({ ...base, kind: DivergenceKind.State, recorded: entry.state, replayed: replayedState });
        }
        const recordedIntents = entry.intents.map((record) => record.intent);
        const replayedIntents = JSON.parse(JSON.stringify(outcome.intents)) as Json;
        if (stableStringify(replayedIntents) !== stableStringify(recordedIntents)) {
          divergences.push({
            ...base,
            kind: DivergenceKind.Intents,
            recorded: recordedIntents,
            replayed: replayedIntents,
          });
        }
        break;
      }
    }
    state = entry.state;
  }
  return divergences;
}
