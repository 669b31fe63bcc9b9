import type { Json } from "./json.js";
import type { IntentRecord, Outcome } from "./result.js";

/**
 * The records of the {@link Store} port: what a store keeps and hands back (entities,
 * journal entries, inbox records, outbox rows, timers) and the rows a step inserts.
 */

/** Which entity: a machine name and an id valid for that machine. */
export interface EntityRef {
  readonly machine: string;
  readonly id: string;
}

/** An entity as stored: its state at `version` (1 after creation, +1 per accepted event). */
export interface StoredEntity {
  readonly machine: string;
  readonly id: string;
  readonly version: number;
  readonly state: Json;
  /** The state's name as its machine named it when it was written (`null`: none). */
  readonly stateName: string | null;
  /** The version of the state schema it was written at (`Machine.version`; 1 for rows older than versioning). */
  readonly stateVersion: number;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** One accepted event, as the journal keeps it: enough to replay the step. */
export interface JournalEntry {
  readonly machine: string;
  readonly id: string;
  readonly version: number;
  readonly eventId: string;
  readonly event: Json;
  /** The version of the event schema the event was recorded at (1 for rows older than versioning). */
  readonly eventVersion: number;
  /** The state the machine decided on. */
  readonly state: Json;
  /** The version of the state schema `state` was written at (1 for rows older than versioning). */
  readonly stateVersion: number;
  readonly intents: readonly IntentRecord[];
  /** The event's time (the `at` the machine saw), epoch milliseconds. */
  readonly at: number;
}

/** What the inbox remembers of an event id. */
export interface InboxRecord {
  readonly eventId: string;
  readonly machine: string;
  readonly id: string;
  /** Hash of (machine, id, event): the same id with another fingerprint is a reused key. */
  readonly fingerprint: string;
  readonly result: Outcome;
  readonly at: number;
}

/** Outbox row states, a smart enum. */
export const OutboxStatus = { Pending: "pending", Done: "done", Dead: "dead" } as const;
export type OutboxStatus = (typeof OutboxStatus)[keyof typeof OutboxStatus];

/** Outbox counts before any row is counted: every status at 0 (what `outboxStats` starts from). */
export function noOutboxRows(): Record<OutboxStatus, number> {
  return { [OutboxStatus.Pending]: 0, [OutboxStatus.Done]: 0, [OutboxStatus.Dead]: 0 };
}

/** An intent waiting to be (or already) executed. */
export interface OutboxRecord {
  readonly intentId: string;
  readonly machine: string;
  readonly entityId: string;
  readonly intent: Json;
  readonly status: OutboxStatus;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly leaseOwner: string | null;
  readonly leaseUntil: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  /** {@link AcceptedWrite.traceParent} of the step that decided it (`null`: none), for its attempts to join. */
  readonly traceParent: string | null;
}

/**
 * Timer states, a smart enum: `pending` until it fires (`fired`), is cancelled or replaced by
 * its entity's machine (`cancelled`), or runs out of attempts (`dead`, until an operator
 * retries it).
 */
export const TimerStatus = { Pending: "pending", Fired: "fired", Cancelled: "cancelled", Dead: "dead" } as const;
export type TimerStatus = (typeof TimerStatus)[keyof typeof TimerStatus];

/** Timer counts before any row is counted: every status at 0 (what `timerStats` starts from). */
export function noTimerRows(): Record<TimerStatus, number> {
  return { [TimerStatus.Pending]: 0, [TimerStatus.Fired]: 0, [TimerStatus.Cancelled]: 0, [TimerStatus.Dead]: 0 };
}

/** A durable timer: `event` goes to the entity at `dueAt`, with the timer id as event id. */
export interface TimerRecord {
  readonly timerId: string;
  readonly machine: string;
  readonly entityId: string;
  /**
   * The name its machine gave it (`schedule(at, event, { key })`), unique among the entity's
   * pending timers: a new timer with the same key replaces (cancels) the pending one, and
   * `cancelSchedule(key)` cancels it. `null`: no key.
   */
  readonly key: string | null;
  readonly event: Json;
  /** The version of the event schema the event was written at (1 for rows older than versioning). */
  readonly eventVersion: number;
  readonly dueAt: number;
  readonly status: TimerStatus;
  /** Times the scheduler claimed it. */
  readonly attempts: number;
  /** Not claimable before this (starts at `dueAt`; pushed back after a failed firing). */
  readonly nextAttemptAt: number;
  readonly leaseOwner: string | null;
  readonly leaseUntil: number | null;
  readonly lastError: string | null;
  /** {@link AcceptedWrite.traceParent} of the step that set it (`null`: none), for its firing to join. */
  readonly traceParent: string | null;
}

/** An outbox row to insert. */
export interface OutboxItem {
  readonly intentId: string;
  readonly intent: Json;
}

/** A timer to insert. */
export interface TimerItem {
  readonly timerId: string;
  /** See {@link TimerRecord.key}; absent or `null`: none. */
  readonly key?: string | null | undefined;
  readonly event: Json;
  /** The version of the event schema `event` is written at. */
  readonly eventVersion: number;
  readonly dueAt: number;
}
