/**
 * The wire contract of `GET /readyz`, the readiness probe: whether this process can do its job
 * now (its store commits, its dispatcher and scheduler loops turn, its attached components are
 * up), beside `GET /healthz`, which only says that the process runs. Part of
 * `@drover/http/wire` (re-exported by `wire.ts`); types and `as const` values only.
 *
 * @module
 */

/** How `GET /readyz` sums up: `ready` (200) or `not_ready` (503). */
export const ReadyStatus = { Ready: "ready", NotReady: "not_ready" } as const;
export type ReadyStatus = (typeof ReadyStatus)[keyof typeof ReadyStatus];

/** What a readiness check looks at. */
export const ReadinessCheckKind = {
  /** The store: a write that really commits (cached about a second). */
  Store: "store",
  /** A background loop (`dispatcher`, `scheduler`): it completes a round every poll interval or so. */
  Loop: "loop",
  /** An attached component (`nats`), by its own health. */
  Component: "component",
} as const;
export type ReadinessCheckKind = (typeof ReadinessCheckKind)[keyof typeof ReadinessCheckKind];

/** One check of `GET /readyz`. */
export interface ReadinessCheckBody {
  /** `store`, `dispatcher`, `scheduler`, or an attached component's name. */
  readonly name: string;
  readonly kind: ReadinessCheckKind;
  readonly ok: boolean;
  /** Why it is not ok (absent when it is), e.g. the store's error with what to do about it. */
  readonly reason?: string;
}

/**
 * `GET /readyz`: 200 with `status: "ready"`, or 503 with `status: "not_ready"`; both list every
 * check, a failing one with its `reason`.
 */
export interface ReadinessBody {
  readonly status: ReadyStatus;
  readonly checks: readonly ReadinessCheckBody[];
}
