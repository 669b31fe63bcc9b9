import type { CommitOutcome, StepWrite } from "@drover/core";
import { CommitOutcomeKind, DecisionKind } from "@drover/core";
import type { StepRow } from "./rows.js";
import { rows } from "./rows.js";

export const COMMITTED: CommitOutcome = Object.freeze({ kind: CommitOutcomeKind.Committed });

/** A step with its values serialised once: JSON is text by the time it reaches the driver. */
export interface Prepared {
  readonly index: number;
  readonly step: StepWrite;
  readonly event: string | null;
  readonly state: string | null;
  readonly intents: string | null;
  readonly result: string;
  readonly outbox: readonly (readonly [intentId: string, intent: string])[];
  readonly timers: readonly (readonly [
    timerId: string,
    event: string,
    eventVersion: number,
    dueAt: number,
    key: string | null,
  ])[];
  /** The pending timers the step cancels, by key or timer id (see `AcceptedWrite.cancelTimers`). */
  readonly cancels: readonly string[];
}

export function prepare(step: StepWrite, index: number): Prepared {
  if (step.kind === DecisionKind.Rejected) {
    const result = json(step.result);
    return { index, step, event: null, state: null, intents: null, result, outbox: [], timers: [], cancels: [] };
  }
  return {
    index,
    step,
    event: json(step.event),
    state: json(step.state),
    intents: json(step.intents),
    result: json(step.result),
    outbox: step.outbox.map((item) => [item.intentId, json(item.intent)] as const),
    timers: step.timers.map(
      (item) => [item.timerId, json(item.event), item.eventVersion, item.dueAt, item.key ?? null] as const,
    ),
    cancels: step.cancelTimers ?? [],
  };
}

export function json(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`cannot store ${String(value)} as JSON`);
  return text;
}

/** Steps with one event id must see each other's inbox rows: one call each, in order. */
export function distinctEvents(batch: readonly Prepared[]): boolean {
  return new Set(batch.map((item) => item.step.eventId)).size === batch.length;
}

/** Outcomes from the rows of `drover_commit`, one per step, in order. */
export function outcomesOf(batch: readonly Prepared[], stepRows: readonly StepRow[]): CommitOutcome[] {
  return batch.map((item, i) => {
    const row = stepRows[i];
    if (row === undefined || row.n !== i + 1) throw new Error("drover_commit returned rows out of order");
    const seen = rows.inboxOf(row, item.step.eventId);
    if (seen !== undefined) return { kind: CommitOutcomeKind.Duplicate, record: seen };
    if (row.written) return COMMITTED;
    return { kind: CommitOutcomeKind.Conflict, currentVersion: row.current_version ?? 0 };
  });
}

/**
 * The commit statement's arguments: one array per column (steps, then outbox rows, then
 * timers), and after them the columns added by later schema versions (see statements.ts).
 */
export function commitValues(batch: readonly Prepared[]): unknown[] {
  const kinds: string[] = [];
  const machines: string[] = [];
  const ids: string[] = [];
  const eventIds: string[] = [];
  const fingerprints: string[] = [];
  const ats: number[] = [];
  const expected: number[] = [];
  const events: (string | null)[] = [];
  const states: (string | null)[] = [];
  const stateNames: (string | null)[] = [];
  const stateVersions: (number | null)[] = [];
  const eventVersions: (number | null)[] = [];
  const intents: (string | null)[] = [];
  const results: string[] = [];
  const outboxSteps: number[] = [];
  const intentIds: string[] = [];
  const intentBodies: string[] = [];
  const timerSteps: number[] = [];
  const timerIds: string[] = [];
  const timerEvents: string[] = [];
  const timerEventVersions: number[] = [];
  const dueAts: number[] = [];
  const traceParents: (string | null)[] = [];
  const timerKeys: (string | null)[] = [];
  const cancelSteps: number[] = [];
  const cancelNames: string[] = [];
  batch.forEach((item, i) => {
    const { step } = item;
    kinds.push(step.kind);
    machines.push(step.ref.machine);
    ids.push(step.ref.id);
    eventIds.push(step.eventId);
    fingerprints.push(step.fingerprint);
    ats.push(step.at);
    expected.push(step.expectedVersion);
    events.push(item.event);
    states.push(item.state);
    const accepted = step.kind === DecisionKind.Accepted ? step : undefined;
    stateNames.push(accepted?.stateName ?? null);
    stateVersions.push(accepted?.stateVersion ?? null);
    eventVersions.push(accepted?.eventVersion ?? null);
    traceParents.push(accepted?.traceParent ?? null);
    intents.push(item.intents);
    results.push(item.result);
    for (const [intentId, intent] of item.outbox) {
      outboxSteps.push(i + 1);
      intentIds.push(intentId);
      intentBodies.push(intent);
    }
    for (const [timerId, event, eventVersion, dueAt, key] of item.timers) {
      timerSteps.push(i + 1);
      timerIds.push(timerId);
      timerEvents.push(event);
      timerEventVersions.push(eventVersion);
      dueAts.push(dueAt);
      timerKeys.push(key);
    }
    for (const name of item.cancels) {
      cancelSteps.push(i + 1);
      cancelNames.push(name);
    }
  });
  return [
    kinds,
    machines,
    ids,
    eventIds,
    fingerprints,
    ats,
    expected,
    events,
    states,
    intents,
    results,
    outboxSteps,
    intentIds,
    intentBodies,
    timerSteps,
    timerIds,
    timerEvents,
    dueAts,
    stateNames,
    stateVersions,
    eventVersions,
    timerEventVersions,
    traceParents,
    timerKeys,
    cancelSteps,
    cancelNames,
  ];
}

/** Lock troubles that a fresh attempt of the step resolves: the Runtime decides again on a conflict. */
export const RETRYABLE: ReadonlySet<string> = new Set(["40P01", "40001", "55P03"]);
