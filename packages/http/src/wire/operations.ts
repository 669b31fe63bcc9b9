/**
 * The wire contract of the operator routes for time and intent types: timers
 * (`/v1/timers`), paused intent types (`/v1/intent-types`) and recurring schedules
 * (`/v1/schedules`). Part of `@drover/http/wire` (re-exported by `wire.ts`); types and
 * `as const` values only, so a browser bundle can import it.
 *
 * @module
 */
import type { Json, TimerStatus } from "@drover/core";

/**
 * One timer of `GET /v1/timers` and `GET /v1/timers/{timerId}`: `event` goes to the entity
 * at `dueAt`, with `timerId` as its event id. Declared field by field: a field the store's
 * record gains does not reach the wire unless it is put here.
 */
export interface TimerBody {
  readonly timerId: string;
  readonly machine: string;
  readonly entityId: string;
  /** The name its machine gave it (`schedule(at, event, { key })`); `null`: none. */
  readonly key: string | null;
  /** The event it sends, as stored (at `eventVersion` of its machine's event schema). */
  readonly event: Json;
  readonly eventVersion: number;
  /** `pending` until fired, `cancelled` by its machine, `dead` out of attempts (retry it). */
  readonly status: TimerStatus;
  /** Firings tried so far. */
  readonly attempts: number;
  readonly lastError: string | null;
  /** When it is due, ISO 8601 (UTC). */
  readonly dueAt: string;
  /** Not fired before this (its due time, pushed back after a failed firing). */
  readonly nextAttemptAt: string;
  /** The scheduler firing it now, if any. */
  readonly leaseOwner: string | null;
  readonly leaseUntil: string | null;
}

/** `GET /v1/timers`: timers, soonest due first. */
export interface TimerPageBody {
  readonly items: readonly TimerBody[];
}

/** How many rows `GET /v1/timers` returns: the `limit` query parameter. */
export const TimerLimit = { Min: 1, Max: 500, Default: 100 } as const;

/**
 * One intent type of `GET /v1/intent-types`, and the answer to pausing or resuming one
 * (`PUT`/`DELETE /v1/intent-types/{type}/pause`). A paused type's intents stay pending,
 * keeping their attempts, in every process on the store, until it is resumed.
 */
export interface IntentTypeBody {
  readonly intentType: string;
  /** The machines whose intent schema declares it (empty: none does any more, but it is paused). */
  readonly machines: readonly string[];
  readonly paused: boolean;
  /** Since when, ISO 8601; `null` when not paused. */
  readonly pausedAt: string | null;
}

/** `PUT` and `DELETE /v1/intent-types/{type}/pause`: the type now, and whether this call changed it. */
export interface IntentTypeChangeBody extends IntentTypeBody {
  /** `false` when it already was as asked (paused twice, resumed when running): nothing changed. */
  readonly changed: boolean;
}

/** `GET /v1/intent-types` (every declared or paused type) and `GET /v1/intent-types/paused`. */
export interface IntentTypesBody {
  readonly items: readonly IntentTypeBody[];
}

/** One recurring schedule of the config (`GET /v1/schedules`). */
export interface ScheduleBody {
  /** Its name, given or derived (`<machine>/<id>/<cron>`): in each occurrence's event id `cron/<name>/<instant>`. */
  readonly name: string;
  readonly cron: string;
  /** The IANA time zone the expression is read in. */
  readonly tz: string;
  readonly machine: string;
  readonly id: string;
  /** The `type` of the event it sends, if it has a string one. */
  readonly eventType: string | null;
  readonly event: Json;
  /** Its next occurrence, ISO 8601; `null`: none (a one-off date passed). */
  readonly nextAt: string | null;
}

/** `GET /v1/schedules`: the server's recurring schedules, in config order. */
export interface SchedulesBody {
  readonly items: readonly ScheduleBody[];
}
