// What a decided step comes to: the answers that write nothing (invalid, unreadable, a replayed
// inbox record) and the writes a decision makes (a rejection's inbox row; an acceptance's
// entity, journal, inbox, outbox and timer rows). Pure builders, used by the runtime.
import type { Unreadable } from "./evolution.js";
import type { Json } from "./json.js";
import type { AnyMachine, Typed } from "./machine.js";
import { DecisionKind } from "./machine.js";
import type { EntityRef, InboxRecord, OutboxItem, StepWrite, TimerItem } from "./ports.js";
import type {
  IntentRecord,
  Invalid,
  Issue,
  Outcome,
  Processed,
  RejectedResult,
  RunResult,
  UnreadableResult,
} from "./result.js";
import { InvalidReason, RunResultKind } from "./result.js";
import { isCancelSchedule, isSchedule } from "./schedule.js";

/** A step's decision: an answer that writes nothing, or a write (whose result is the answer once committed). */
export type Decided =
  | { readonly answer: RunResult; readonly write?: undefined }
  | { readonly write: StepWrite; readonly answer?: undefined };

export interface Step {
  readonly machine: AnyMachine;
  readonly ref: EntityRef;
  readonly event: Typed;
  readonly eventId: string;
  readonly at: number;
  readonly fingerprint: string;
  readonly expectedVersion: number | readonly number[] | undefined;
  /** The W3C traceparent of the step's `drover.run` span, stored with its intents and timers. */
  readonly traceParent: string | undefined;
}

export function invalid(reason: InvalidReason, message: string, issues: readonly Issue[]): Invalid {
  return { kind: RunResultKind.Invalid, reason, message, issues };
}

export function unreadable(machine: string, id: string, eventId: string, reading: Unreadable): UnreadableResult {
  return {
    kind: RunResultKind.Unreadable,
    machine,
    id,
    eventId,
    subject: reading.subject,
    reason: reading.reason,
    storedVersion: reading.storedVersion,
    expectedVersion: reading.expectedVersion,
    message: `${machine}/${id}: ${reading.message}`,
    issues: reading.issues,
  };
}

/** A known event id: the same request is a duplicate; a different one reuses the key. */
export function replay(record: InboxRecord, step: Step): RunResult {
  if (record.fingerprint !== step.fingerprint) {
    return invalid(
      InvalidReason.IdempotencyKeyReused,
      `event id "${step.eventId}" was already used for a different request; use a new id for a new event`,
      [],
    );
  }
  const original: Outcome = record.result;
  return { kind: RunResultKind.Duplicate, eventId: step.eventId, original };
}

export function rejectionWrite(
  step: Step,
  expectedVersion: number,
  reason: string,
  detail: string | undefined,
): StepWrite {
  const result: RejectedResult = {
    kind: RunResultKind.Rejected,
    machine: step.ref.machine,
    id: step.ref.id,
    eventId: step.eventId,
    version: expectedVersion,
    reason,
    ...(detail === undefined ? {} : { detail }),
  };
  return {
    kind: DecisionKind.Rejected,
    ref: step.ref,
    eventId: step.eventId,
    fingerprint: step.fingerprint,
    at: step.at,
    expectedVersion,
    result,
  };
}

export function acceptedWrite(step: Step, expectedVersion: number, state: Json, decided: readonly Typed[]): StepWrite {
  const version = expectedVersion + 1;
  const prefix = `${step.ref.machine}/${step.ref.id}/${version}/`;
  const intents: IntentRecord[] = decided.map((intent, index) => ({
    id: prefix + index,
    intent: intent as unknown as Json,
  }));
  const outbox: OutboxItem[] = [];
  const timers: TimerItem[] = [];
  const cancelTimers: string[] = [];
  decided.forEach((intent, index) => {
    const intentId = prefix + index;
    if (isSchedule(intent)) {
      const event = intent.event as unknown as Json;
      const key = intent.key === undefined ? {} : { key: intent.key };
      timers.push({ timerId: intentId, event, eventVersion: step.machine.eventVersion, dueAt: intent.at, ...key });
    } else if (isCancelSchedule(intent)) cancelTimers.push(intent.key);
    else outbox.push({ intentId, intent: intent as unknown as Json });
  });
  const result: Processed = {
    kind: RunResultKind.Processed,
    machine: step.ref.machine,
    id: step.ref.id,
    eventId: step.eventId,
    version,
    state,
    intents,
  };
  return {
    kind: DecisionKind.Accepted,
    ref: step.ref,
    eventId: step.eventId,
    fingerprint: step.fingerprint,
    at: step.at,
    expectedVersion,
    event: step.event as unknown as Json,
    eventVersion: step.machine.eventVersion,
    state,
    stateName: step.machine.stateName(state),
    stateVersion: step.machine.version,
    intents,
    outbox,
    timers,
    ...(cancelTimers.length === 0 ? {} : { cancelTimers }),
    result,
    ...(step.traceParent === undefined ? {} : { traceParent: step.traceParent }),
  };
}
