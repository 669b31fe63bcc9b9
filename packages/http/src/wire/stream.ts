/**
 * The wire contract of `GET /v1/stream` (Server-Sent Events) and `GET /v1/stats`: the `event:`
 * names, the notices each carries, and the counters. Part of `@drover/http/wire` (re-exported
 * by `wire.ts`); types and `as const` smart enums only, so a browser bundle can import it.
 *
 * @module
 */
import type { AttemptOutcome, OutboxStatus, RunResultKind, TimerOutcome, TimerStatus } from "@drover/core";

/** `GET /v1/stats` and the stream's `event: stats`: this server's counters since it started. */
export interface StatsBody {
  readonly at: string;
  readonly startedAt: string;
  /** Results of the events run by this server, by machine and result kind. */
  readonly results: Readonly<Record<string, Readonly<Partial<Record<RunResultKind, number>>>>>;
  /** Dispatcher attempts by outcome (done, retry, dead). */
  readonly attempts: Readonly<Record<AttemptOutcome, number>>;
  /** Outbox rows by status, from the store (all processes). */
  readonly outbox: Readonly<Record<OutboxStatus, number>>;
  /** Timers by status (pending, fired, cancelled, dead), from the store (all processes). */
  readonly timers: Readonly<Record<TimerStatus, number>>;
  /** Timer firings of this server by outcome (fired, retry, dead). */
  readonly timerFirings: Readonly<Record<TimerOutcome, number>>;
}

/** The `event:` names of `GET /v1/stream` (Server-Sent Events). */
export const StreamEvent = {
  Step: "step",
  Attempt: "attempt",
  /** An intent was dead-lettered, as it happens (beside its `attempt` with outcome `dead`). */
  DeadLetter: "dead_letter",
  /** A timer ran out of attempts (or its event no longer fits its machine) and is dead. */
  TimerDead: "timer_dead",
  Stats: "stats",
} as const;
export type StreamEvent = (typeof StreamEvent)[keyof typeof StreamEvent];

/**
 * One event this server ran (`event: step`). `version`, `status` and `intents` are set when
 * it was processed, `reason` when it was rejected, invalid or unreadable (an
 * `UnreadableReason`: the entity's stored state could not be read by this code).
 */
export interface StepNotice {
  readonly machine: string;
  readonly id: string;
  readonly kind: RunResultKind;
  /** The event's `type`, if it had a string one. */
  readonly type: string | null;
  readonly eventId: string | null;
  readonly version?: number;
  /** The new state's name as its machine names it (`stateName`), or `null`. */
  readonly status?: string | null;
  /** The `type`s of the intents the step asked for. */
  readonly intents?: readonly string[];
  readonly reason?: string;
  /** When the server saw the result, ISO 8601. */
  readonly at: string;
}

/** One attempt of the dispatcher at an intent (`event: attempt`). */
export interface AttemptNotice {
  readonly machine: string;
  readonly entityId: string;
  readonly intentId: string;
  readonly intentType: string;
  readonly outcome: AttemptOutcome;
  /** Which attempt it was (1 on the first try). */
  readonly attempt: number;
  /** Why it failed (outcome `retry` or `dead`). */
  readonly error?: string;
  readonly at: string;
}

/**
 * An intent this server gave up on (`event: dead_letter`): out of attempts, failed
 * permanently, or without an effect handler. It waits in `GET /v1/outbox?status=dead` for
 * `POST /v1/outbox/{intentId}/retry`; a machine that hears failures got `IntentFailed` first.
 */
export interface DeadLetterNotice {
  readonly intentId: string;
  readonly machine: string;
  readonly entityId: string;
  readonly intentType: string;
  /** Attempts it was given. */
  readonly attempts: number;
  /** Why it was given up (the last attempt's error). */
  readonly error: string;
  /** When it happened, ISO 8601. */
  readonly at: string;
}

/**
 * A timer this server's scheduler gave up on (`event: timer_dead`): its firing failed
 * `--max-attempts` times, or its event no longer fits its machine. It waits in
 * `GET /v1/timers?status=dead` for `POST /v1/timers/{timerId}/retry`.
 */
export interface TimerDeadNotice {
  readonly timerId: string;
  readonly machine: string;
  readonly entityId: string;
  /** Firings it was given. */
  readonly attempts: number;
  readonly error: string;
  /** When it happened, ISO 8601. */
  readonly at: string;
}

/** One message of `GET /v1/stream`: its `event:` name and its `data:` (JSON). */
export type StreamMessage =
  | { readonly event: typeof StreamEvent.Step; readonly data: StepNotice }
  | { readonly event: typeof StreamEvent.Attempt; readonly data: AttemptNotice }
  | { readonly event: typeof StreamEvent.DeadLetter; readonly data: DeadLetterNotice }
  | { readonly event: typeof StreamEvent.TimerDead; readonly data: TimerDeadNotice }
  /** `data: null` when the store could not be read for the figures. */
  | { readonly event: typeof StreamEvent.Stats; readonly data: StatsBody | null };
