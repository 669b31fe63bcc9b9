import type { Json } from "./json.js";

/** The kinds of {@link RunResult}, a smart enum. **contract** */
export const RunResultKind = {
  Processed: "processed",
  NotFound: "not_found",
  Rejected: "rejected",
  Duplicate: "duplicate",
  Conflict: "conflict",
  Invalid: "invalid",
} as const;
export type RunResultKind = (typeof RunResultKind)[keyof typeof RunResultKind];

/** Why input was refused before it reached a machine. */
export const InvalidReason = {
  UnknownMachine: "unknown_machine",
  InvalidId: "invalid_id",
  InvalidEvent: "invalid_event",
  InvalidEventId: "invalid_event_id",
  InvalidTime: "invalid_time",
  InvalidVersion: "invalid_version",
  IdempotencyKeyReused: "idempotency_key_reused",
} as const;
export type InvalidReason = (typeof InvalidReason)[keyof typeof InvalidReason];

/** One problem found by a schema: where, and what. */
export interface Issue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly code: string;
}

/** An intent with its stable id `machine/entityId/version/index`. */
export interface IntentRecord {
  readonly id: string;
  readonly intent: Json;
}

/** The event was applied: the entity is now at `version` in `state`. */
export interface Processed {
  readonly kind: typeof RunResultKind.Processed;
  readonly machine: string;
  readonly id: string;
  readonly eventId: string;
  readonly version: number;
  readonly state: Json;
  readonly intents: readonly IntentRecord[];
}

/** The entity does not exist and the event is not one that creates it. Nothing written. */
export interface NotFound {
  readonly kind: typeof RunResultKind.NotFound;
  readonly machine: string;
  readonly id: string;
  readonly eventId: string;
}

/** The machine refused the event. Only the inbox remembers it (so a retry replays this). */
export interface RejectedResult {
  readonly kind: typeof RunResultKind.Rejected;
  readonly machine: string;
  readonly id: string;
  readonly eventId: string;
  /** The entity's version when it refused (0: no entity). */
  readonly version: number;
  readonly reason: string;
  readonly detail?: string;
}

/** The outcomes the inbox keeps, and a duplicate replays. */
export type Outcome = Processed | RejectedResult;

/** The event id was seen before with the same request: here is what happened then. */
export interface Duplicate {
  readonly kind: typeof RunResultKind.Duplicate;
  readonly eventId: string;
  readonly original: Outcome;
}

/**
 * The entity kept changing under us until retries ran out — or, when the caller named the
 * version it expected (`RunOptions.expectedVersion`), it is at another version
 * (`expectedVersion` and `currentVersion` are then set). Nothing written; safe to retry.
 */
export interface Conflict {
  readonly kind: typeof RunResultKind.Conflict;
  readonly machine: string;
  readonly id: string;
  readonly eventId: string;
  readonly attempts: number;
  /** What `RunOptions.expectedVersion` asked for: a version, or a list of acceptable ones. */
  readonly expectedVersion?: number | readonly number[];
  readonly currentVersion?: number;
}

/** The input was refused at the edge. Nothing written. */
export interface Invalid {
  readonly kind: typeof RunResultKind.Invalid;
  readonly reason: InvalidReason;
  readonly message: string;
  readonly issues: readonly Issue[];
}

/**
 * What {@link Runtime.run} hands back. Switch on `kind`. **contract**
 *
 * @example
 * const result = await runtime.run({ machine: "doors", id }, { type: "Open" });
 * switch (result.kind) {
 *   case RunResultKind.Processed: return result.state;
 *   case RunResultKind.Rejected: return result.reason;
 *   …
 * }
 */
export type RunResult = Processed | NotFound | RejectedResult | Duplicate | Conflict | Invalid;
