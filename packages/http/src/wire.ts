/**
 * The wire contract of drover's HTTP API (DESIGN §6): the JSON bodies it answers with, its
 * RFC 9457 problems and the kinds and reasons the HTTP edge adds to core's, the notices of
 * `GET /v1/stream`, the token scopes, and the header patterns and page sizes of the routes.
 * The server, its OpenAPI document and the dashboard all take them from here. The stream's
 * messages (`wire/stream.ts`), the bodies of the timer, intent-type and schedule routes
 * (`wire/operations.ts`) and the readiness probe's (`wire/readiness.ts`) are declared in
 * modules of their own and re-exported here, so this is still the one module to import.
 *
 * Types and `as const` smart enums only, with no runtime import (core is imported for its
 * types alone), so that a browser bundle can import this module without pulling in Fastify,
 * zod or Node: `@drover/http/wire`.
 *
 * @example
 * import { type EntityBody, type ProblemBody, Scope } from "@drover/http/wire";
 *
 * const response = await fetch("/v1/payments/pay_1", { headers: { authorization: `Bearer ${token}` } });
 * if (!response.ok) throw new Error(((await response.json()) as ProblemBody).detail);
 * const payment = (await response.json()) as EntityBody;
 * const mayRetry = scopes.includes(Scope.Admin); // POST /v1/outbox/{intentId}/retry
 *
 * @module
 */
import type {
  InvalidReason,
  Issue,
  JournalEntry,
  Json,
  OutboxRecord,
  OutboxStatus,
  Processed,
  RunResultKind,
  UnreadableReason,
} from "@drover/core";
import type { MachineGraph } from "@drover/core/graph";

export type {
  AttemptOutcome,
  IntentRecord,
  Issue,
  Json,
  OutboxStatus,
  RunResultKind,
  TimerOutcome,
  TimerStatus,
  UnreadableReason,
  VersionedSubject,
} from "@drover/core";
export * from "./wire/operations.js";
export * from "./wire/readiness.js";
export * from "./wire/stream.js";

// ─── Scopes ────────────────────────────────────────────────────────────────────────────

/**
 * What a token may do. Scopes form a hierarchy: `admin` grants `write` and `read`, `write`
 * grants `read`.
 */
export const Scope = { Read: "read", Write: "write", Admin: "admin" } as const;
export type Scope = (typeof Scope)[keyof typeof Scope];

// ─── Problems ──────────────────────────────────────────────────────────────────────────

/** The problem `kind`s of the HTTP edge itself, beside the run result kinds. */
export const EdgeKind = {
  Unauthorized: "unauthorized",
  Forbidden: "forbidden",
  PayloadTooLarge: "payload_too_large",
  UnsupportedMediaType: "unsupported_media_type",
  Unavailable: "unavailable",
  Internal: "internal",
} as const;
export type EdgeKind = (typeof EdgeKind)[keyof typeof EdgeKind];

/**
 * The problem `kind`s of a run result `unreadable`, by what the running code could not read:
 * the entity's stored state, or a stored event (a timer's). Answered with 503: the server
 * cannot serve the entity until code that can read the value runs (a fixed migration, the
 * newer code back); it is not the client's fault, and retrying the same request then works.
 */
export const UnreadableKind = { State: "state_unreadable", Event: "event_unreadable" } as const;
export type UnreadableKind = (typeof UnreadableKind)[keyof typeof UnreadableKind];

/**
 * What a problem's `kind` says happened: a run result kind (`unreadable` is answered as an
 * {@link UnreadableKind}), or one of the HTTP edge.
 */
export type ProblemKind = Exclude<RunResultKind, typeof RunResultKind.Unreadable> | UnreadableKind | EdgeKind;

/** The `reason`s the HTTP edge gives, beside core's {@link InvalidReason}s and the machines' rejection reasons. */
export const EdgeReason = {
  /** The request could not be read: bad JSON, a URL that is not percent-encoded, broken HTTP. */
  MalformedRequest: "malformed_request",
  /** The event is one only drover sends (from effects and timers). */
  InternalEvent: "internal_event",
  InvalidIdempotencyKey: "invalid_idempotency_key",
  InvalidIfMatch: "invalid_if_match",
  /** `If-Match` named no current version (412, with `currentVersion`). */
  VersionMismatch: "version_mismatch",
  /** The entity kept changing while the event was retried (409). */
  RetriesExhausted: "retries_exhausted",
  InvalidQuery: "invalid_query",
  InvalidCursor: "invalid_cursor",
  /** No machine of this server declares the intent type (and it is not paused): 404. */
  UnknownIntentType: "unknown_intent_type",
  /** The request's headers or body did not arrive within the server's timeouts: 408, and closed. */
  RequestTimeout: "request_timeout",
} as const;
export type EdgeReason = (typeof EdgeReason)[keyof typeof EdgeReason];

/** A `reason` drover itself gives (a rejected event's reason is its machine's). */
export type ProblemReason = InvalidReason | UnreadableReason | EdgeReason;

/** An RFC 9457 problem details body, with drover's `kind`. Every error answer is one. */
export interface ProblemBody {
  /** A stable URI per kind, or per reason when there is one. */
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly kind: ProblemKind;
  /** The machine's rejection reason (422 `rejected`), or a {@link ProblemReason}. */
  readonly reason?: string;
  /** What the schema found wrong with the input (`invalid`). */
  readonly issues?: readonly Issue[];
  readonly instance?: string;
  /** The entity's version when its machine rejected the event (422 `rejected`). */
  readonly version?: number;
  /** The entity's version when `If-Match` named another (412 `version_mismatch`). */
  readonly currentVersion?: number;
  readonly [extension: string]: unknown;
}

/**
 * `503` to `POST /v1/{machine}/{id}/events` when the entity's stored state (`state_unreadable`)
 * or a stored event (`event_unreadable`) cannot be read by the running code; nothing was
 * written. `detail` names the entity, both versions and the first issue.
 *
 * @example
 * const problem = (await response.json()) as UnreadableProblemBody;
 * if (problem.kind === UnreadableKind.State && problem.reason === "newer_version") {
 *   console.warn(`${problem.id} was written by newer code (v${problem.storedVersion} > v${problem.expectedVersion})`);
 * }
 */
export interface UnreadableProblemBody extends ProblemBody {
  readonly status: 503;
  readonly kind: UnreadableKind;
  readonly machine: string;
  readonly id: string;
  readonly eventId: string;
  readonly reason: UnreadableReason;
  /** The schema version the value is stored at. */
  readonly storedVersion: number;
  /** The schema version the running code reads and writes. */
  readonly expectedVersion: number;
  /** What the current schema found wrong with the migrated value (`schema_refused`); empty otherwise (`detail` says why). */
  readonly issues: readonly Issue[];
}

// ─── Bodies ────────────────────────────────────────────────────────────────────────────

/** `T` with its epoch-millisecond members `K` written as ISO 8601 (UTC), as the API sends times. */
type WithIsoTimes<T, K extends keyof T> = Omit<T, K> & {
  readonly [P in K]: null extends T[P] ? string | null : string;
};

/** `200` to `POST /v1/{machine}/{id}/events`, for a new event and (replayed) for a duplicate. */
export type ProcessedBody = Processed;

/**
 * `GET /v1/{machine}/{id}` (with `ETag: "<version>"`). Declared field by field, not derived
 * from the store's record: a field the port gains does not reach the wire unless it is put here.
 */
export interface EntityBody {
  readonly id: string;
  readonly version: number;
  /** The state as stored: at `stateVersion`, which may be older (or newer) than the running code's. */
  readonly state: Json;
  /**
   * The version of its machine's state schema `state` is stored at (`MachineSummary.version`
   * is the running code's). An older one is migrated when the next event is processed.
   */
  readonly stateVersion: number;
  /** The state's name as its machine names it (what `?status=` filters, what counts count); `null`: none. */
  readonly status: string | null;
  /** ISO 8601, UTC. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** `GET /v1/{machine}`: entities in id order; pass `nextCursor` as `cursor` for the next page (`null`: last page). */
export interface EntityPageBody {
  readonly items: readonly EntityBody[];
  readonly nextCursor: string | null;
}

/**
 * One journal entry of `GET /v1/{machine}/{id}/history`: the event as recorded at
 * `eventVersion`, the state decided as written at `stateVersion` (each the version of its
 * schema when the step ran).
 */
export type JournalEntryBody = WithIsoTimes<JournalEntry, "at"> & {
  /**
   * The name the machine gives the state this event led to, by the running code's naming
   * (the entity's own `status` was named when it was written); `null`: none.
   */
  readonly status: string | null;
};

/** `GET /v1/{machine}/{id}/history`: the journal, oldest first. */
export interface HistoryBody {
  readonly entries: readonly JournalEntryBody[];
}

/** One outbox row of `GET /v1/outbox` and `GET /v1/{machine}/{id}/outbox`. */
export type OutboxRecordBody = WithIsoTimes<OutboxRecord, "nextAttemptAt" | "leaseUntil" | "createdAt">;

/** `GET /v1/outbox` and `GET /v1/{machine}/{id}/outbox`: rows in the order their intents were committed. */
export interface OutboxPageBody {
  readonly items: readonly OutboxRecordBody[];
}

/** `POST /v1/outbox/{intentId}/retry`: the revived row, or its id alone if it is gone already. */
export type RetriedBody =
  | OutboxRecordBody
  | { readonly intentId: string; readonly status: typeof OutboxStatus.Pending };

/** `GET /v1/token`: the token the request was made with. */
export interface TokenBody {
  readonly name: string | null;
  readonly scopes: readonly Scope[];
}

/** How many entities are in one state; `status` is the state's name as its machine names it. */
export interface StateCount {
  readonly status: string | null;
  readonly count: number;
}

/** How many entities of a machine are stored at one version of its state schema. */
export interface StateVersionCount {
  readonly stateVersion: number;
  readonly count: number;
}

/** One machine of `GET /v1/machines`, its entities counted by state and by stored state version. */
export interface MachineSummary {
  readonly name: string;
  /** The version of the state schema the running code reads and writes (`defineMachine({ version })`). */
  readonly version: number;
  /** The version of the event schema the running code records (`defineMachine({ eventVersion })`). */
  readonly eventVersion: number;
  readonly total: number;
  /** Sorted by name; `null` counts states without a name, last. */
  readonly states: readonly StateCount[];
  /**
   * Entities by the state version they are stored at, lowest first; versions without
   * entities are left out. Below `version`: migrated on their next event (or by
   * `drover upgrade --apply`); above it: written by newer code, answered `state_unreadable`.
   */
  readonly stateVersions: readonly StateVersionCount[];
  /** Event types only drover sends (effects, timers). */
  readonly internal: readonly string[];
}

/** `GET /v1/machines`. */
export interface MachinesBody {
  readonly machines: readonly MachineSummary[];
}

/** `GET /v1/machines/{machine}/diagram`: the explored graph and its Mermaid text. */
export interface DiagramBody extends MachineGraph {
  /** `null` when the machine could not be explored (`note` says why). */
  readonly mermaid: string | null;
  readonly note?: string;
}

/** How `GET /healthz` sums up: `degraded` when an attached component (NATS, say) is not ok. */
export const HealthStatus = { Ok: "ok", Degraded: "degraded" } as const;
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];

/** One attached component's health in `GET /healthz` (see core's `Component`). */
export interface ComponentHealthBody {
  readonly ok: boolean;
  readonly status: string;
  readonly detail?: string;
}

/**
 * `GET /healthz`: the process is alive (always 200). `components` is there when the app has
 * components attached (`nats` with `drover serve --nats`).
 */
export interface HealthBody {
  readonly status: HealthStatus;
  readonly components?: Readonly<Record<string, ComponentHealthBody>>;
}

// ─── Headers and query parameters ──────────────────────────────────────────────────────

/** First path segments under `/v1` that are drover's own routes, so no machine may be named so. */
export const RESERVED_SEGMENTS: readonly string[] = [
  "outbox",
  "machines",
  "stream",
  "stats",
  "token",
  "timers",
  "intent-types",
  "schedules",
];

/** The page size of the list routes (`GET /v1/{machine}`): the `limit` query parameter. */
export const ListLimit = { Min: 1, Max: 100, Default: 20 } as const;

/** How many rows `GET /v1/outbox` returns: the `limit` query parameter. */
export const OutboxLimit = { Min: 1, Max: 500, Default: 100 } as const;

/** `Idempotency-Key`: 1 to 255 printable ASCII characters without spaces, the event id of the step. */
export const IDEMPOTENCY_KEY_PATTERN = "^[!-~]{1,255}$";

/** An entity's version as the opaque part of its entity tag: `0`, or digits without a leading zero. */
export const VERSION_PATTERN = "0|[1-9][0-9]{0,15}";
/** `ETag` of an entity: its version in double quotes, e.g. `"3"` (`"0"`: it must not exist yet). */
export const ENTITY_TAG_PATTERN = `^"(${VERSION_PATTERN})"$`;
const VERSION_TAG = `(W/)?"(${VERSION_PATTERN})"`;
/** `If-Match`: `*`, or a comma-separated list of version tags (RFC 9110 §13.1.1). */
export const IF_MATCH_PATTERN = `^[ \\t]*(\\*|${VERSION_TAG}([ \\t]*,[ \\t]*${VERSION_TAG})*)[ \\t]*$`;
