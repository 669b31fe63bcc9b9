import type { Context } from "@opentelemetry/api";
import type { RunResult } from "./result.js";

/** Per-call options of {@link Runtime.run} (and of the typed clients of `Runtime.for` and `App.for`). */
export interface RunOptions {
  /** The event's id (idempotency key). A fresh one is generated when absent. */
  readonly eventId?: string;
  /** The event's time, epoch ms. Defaults to the clock's now. */
  readonly at?: number;
  /**
   * Apply the event only if the entity is at this version, or at one of these versions (0:
   * does not exist yet; an empty list matches nothing); otherwise answer `conflict` with
   * `expectedVersion` and `currentVersion` (HTTP's `If-Match`). Checked after the inbox on
   * every attempt, so a retried event is still answered as a duplicate.
   */
  readonly expectedVersion?: number | readonly number[];
  /**
   * The version of the machine's event schema `event` is written at (default: the current
   * `Machine.eventVersion`). An older event is migrated through `eventMigrations` before it is
   * parsed (the scheduler passes a timer's); a newer one is answered `unreadable`.
   */
  readonly eventVersion?: number;
  /**
   * The trace context the step's `drover.run` span is a child of (default: the active one,
   * e.g. an HTTP request's). The dispatcher passes an intent attempt's, the scheduler a timer's.
   */
  readonly trace?: Context;
}

/** How follow-up events are applied: `Runtime.run`, or an App's `run` (which also wakes it). */
export type RunFunction = (
  ref: { readonly machine: string; readonly id: string },
  event: unknown,
  options?: RunOptions,
) => Promise<RunResult>;
