import type { UnreadableReason, VersionedSubject } from "./evolution.js";
import type { Issue } from "./issues.js";
import type { Json } from "./json.js";

/** The kinds of {@link RunResult}, a smart enum. **contract** */
export const RunResultKind = {
  Processed: "processed",
  NotFound: "not_found",
  Rejected: "rejected",
  Duplicate: "duplicate",
  Conflict: "conflict",
  Invalid: "invalid",
  Unreadable: "unreadable",
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

export type { Issue } from "./issues.js";

/**
 * An intent with its stable id `machine/entityId/version/index`. `Intent` is JSON to untyped
 * callers, the machine's intent type to a typed client's ({@link TypedRunResult}).
 */
export interface IntentRecord<Intent = Json> {
  readonly id: string;
  readonly intent: Intent;
}

/**
 * The event was applied: the entity is now at `version` in `state`. `State` and `Intent` are
 * JSON to untyped callers, the machine's types to a typed client's.
 */
export interface Processed<State = Json, Intent = Json> {
  readonly kind: typeof RunResultKind.Processed;
  readonly machine: string;
  readonly id: string;
  readonly eventId: string;
  readonly version: number;
  readonly state: State;
  readonly intents: readonly IntentRecord<Intent>[];
}

/** The entity does not exist and the event is not one that creates it. Nothing written. */
export interface NotFound {
  readonly kind: typeof RunResultKind.NotFound;
  readonly machine: string;
  readonly id: string;
  readonly eventId: string;
}

/**
 * The machine refused the event. Only the inbox remembers it (so a retry replays this).
 * `Reason` is the machine's rejection type to a typed client.
 */
export interface RejectedResult<Reason extends string = string> {
  readonly kind: typeof RunResultKind.Rejected;
  readonly machine: string;
  readonly id: string;
  readonly eventId: string;
  /** The entity's version when it refused (0: no entity). */
  readonly version: number;
  readonly reason: Reason;
  readonly detail?: string;
}

/** The outcomes the inbox keeps, and a duplicate replays. */
export type Outcome<State = Json, Intent = Json, Reason extends string = string> =
  | Processed<State, Intent>
  | RejectedResult<Reason>;

/**
 * The event id was seen before with the same request: here is what happened then, as it was
 * recorded then (a state written before a change of the state's version keeps its old shape).
 */
export interface Duplicate<State = Json, Intent = Json, Reason extends string = string> {
  readonly kind: typeof RunResultKind.Duplicate;
  readonly eventId: string;
  readonly original: Outcome<State, Intent, Reason>;
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
 * The entity's stored state (or a timer's stored event) cannot be read by the running code: it
 * is at a version newer than the code, a migration threw, or the migrated value does not fit
 * the current schema. Nothing written; the same event succeeds once code that can read the
 * value runs (a fixed migration, the newer code back). Over HTTP: a problem `state_unreadable`.
 */
export interface UnreadableResult {
  readonly kind: typeof RunResultKind.Unreadable;
  readonly machine: string;
  readonly id: string;
  readonly eventId: string;
  /** What could not be read: the entity's state, or the event (a timer's, recorded by older or newer code). */
  readonly subject: VersionedSubject;
  readonly reason: UnreadableReason;
  /** The schema version the value is stored at. */
  readonly storedVersion: number;
  /** The schema version the running code expects. */
  readonly expectedVersion: number;
  readonly message: string;
  readonly issues: readonly Issue[];
}

/**
 * What {@link Runtime.run} hands back. Switch on `kind`. **contract**
 *
 * The parameters type what a typed client knows (see {@link TypedRunResult}); untyped callers
 * see JSON states and intents and string reasons.
 *
 * @example
 * const result = await runtime.run({ machine: "doors", id }, { type: "Open" });
 * switch (result.kind) {
 *   case RunResultKind.Processed: return result.state;
 *   case RunResultKind.Rejected: return result.reason;
 *   // …
 * }
 */
export type RunResult<State = Json, Intent = Json, Reason extends string = string> =
  | Processed<State, Intent>
  | NotFound
  | RejectedResult<Reason>
  | Duplicate<State, Intent, Reason>
  | Conflict
  | Invalid
  | UnreadableResult;
