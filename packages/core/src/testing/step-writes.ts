import type { Json } from "../json.js";
import { DecisionKind } from "../machine.js";
import type { AcceptedWrite, RejectionWrite } from "../ports.js";
import { RunResultKind } from "../result.js";
import { conventionalStateName } from "../state-name.js";

/** The time of the step writes built here: 2026-01-01T00:00:00Z plus the event id's digits in ms. */
export const STEP_EPOCH = Date.UTC(2026, 0, 1);
const T0 = STEP_EPOCH;

/**
 * A hand-built accepted step of the `tally` machine for store tests: the entity `id` moves
 * from `expectedVersion` to the next version with `state`, one outbox row per intent and
 * one timer per `timers` event (due a minute after the epoch).
 */
export function acceptedWrite(
  id: string,
  eventId: string,
  expectedVersion: number,
  state: Json,
  intents: readonly { readonly type: string; readonly [key: string]: Json }[] = [],
  timers: readonly Json[] = [],
): AcceptedWrite {
  const version = expectedVersion + 1;
  const at = T0 + Number(eventId.replace(/\D/g, "") || 0);
  const records = [
    ...intents.map((intent, i) => ({ id: `tally/${id}/${version}/${i}`, intent })),
    ...timers.map((event, i) => ({
      id: `tally/${id}/${version}/${intents.length + i}`,
      intent: { type: "Schedule", at: T0 + 60_000, event },
    })),
  ];
  return {
    kind: DecisionKind.Accepted,
    ref: { machine: "tally", id },
    eventId,
    fingerprint: `fp:${eventId}`,
    at,
    expectedVersion,
    event: { type: "Add", n: version },
    eventVersion: 1,
    state,
    stateName: conventionalStateName(state),
    stateVersion: 1,
    intents: records,
    outbox: intents.map((intent, i) => ({ intentId: `tally/${id}/${version}/${i}`, intent })),
    timers: timers.map((event, i) => ({
      timerId: `tally/${id}/${version}/${intents.length + i}`,
      event,
      eventVersion: 1,
      dueAt: T0 + 60_000,
    })),
    result: {
      kind: RunResultKind.Processed,
      machine: "tally",
      id,
      eventId,
      version,
      state,
      intents: records,
    },
  };
}

/** A hand-built rejected step of the `tally` machine for store tests. */
export function rejectionWrite(id: string, eventId: string, expectedVersion: number, reason: string): RejectionWrite {
  return {
    kind: DecisionKind.Rejected,
    ref: { machine: "tally", id },
    eventId,
    fingerprint: `fp:${eventId}`,
    at: T0 + 5,
    expectedVersion,
    result: {
      kind: RunResultKind.Rejected,
      machine: "tally",
      id,
      eventId,
      version: expectedVersion,
      reason,
      detail: "refused",
    },
  };
}

/**
 * A hand-built accepted step that queues work, for claim tests: entity `id` moves from
 * `expectedVersion` on event `evt_<eventNo>` with `intents` outbox rows and, if `dueAt` is
 * given, one timer (`tally/<id>/<version>/timer`) due then.
 */
export function queueWrite(
  id: string,
  eventNo: number,
  expectedVersion: number,
  intents: number,
  dueAt?: number,
): AcceptedWrite {
  const base = acceptedWrite(
    id,
    `evt_${eventNo}`,
    expectedVersion,
    { n: expectedVersion + 1 },
    Array.from({ length: intents }, (_, i) => ({ type: "Noted", i })),
  );
  if (dueAt === undefined) return base;
  return {
    ...base,
    timers: [{ timerId: `tally/${id}/${expectedVersion + 1}/timer`, event: { type: "Tick" }, eventVersion: 1, dueAt }],
  };
}

/** A timer of {@link timerWrite}: its id, when it is due and, if given, its key. */
export interface TimerSpec {
  readonly timerId: string;
  readonly dueAt: number;
  /** Absent: the timer item has no `key` field at all (as a step of an older runtime). */
  readonly key?: string | null;
}

/**
 * A hand-built accepted step that sets and cancels timers, for timer tests: entity `id` moves
 * from `expectedVersion` on event `evt_<eventNo>`, sets `timers` (each firing `{ type: "Tick" }`)
 * and, if `cancel` is given, cancels those of the entity's pending timers (keys or timer ids).
 */
export function timerWrite(
  id: string,
  eventNo: number,
  expectedVersion: number,
  timers: readonly TimerSpec[],
  cancel?: readonly string[],
): AcceptedWrite {
  const base = queueWrite(id, eventNo, expectedVersion, 0);
  return {
    ...base,
    timers: timers.map(({ timerId, dueAt, key }) => ({
      timerId,
      ...(key === undefined ? {} : { key }),
      event: { type: "Tick" },
      eventVersion: 1,
      dueAt,
    })),
    ...(cancel === undefined ? {} : { cancelTimers: cancel }),
  };
}
