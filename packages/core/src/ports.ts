import type { Json } from "./json.js";
import type { DecisionKind } from "./machine.js";
import type {
  EntityRef,
  InboxRecord,
  JournalEntry,
  OutboxItem,
  OutboxRecord,
  OutboxStatus,
  StoredEntity,
  TimerItem,
  TimerRecord,
  TimerStatus,
} from "./records.js";
import type { IntentRecord, Processed, RejectedResult } from "./result.js";
import type { TokenVault } from "./token-vault.js";

// The records live in records.ts; they are part of the port, so they are exported from here.
export * from "./records.js";

/** Fields every step write has. */
interface StepWriteBase {
  readonly ref: EntityRef;
  readonly eventId: string;
  readonly fingerprint: string;
  readonly at: number;
  /** The version the step was decided on; 0 means "the entity must not exist". */
  readonly expectedVersion: number;
}

/**
 * An accepted event: the entity moves to `expectedVersion + 1`, and journal, inbox, outbox
 * and timer rows are written with it, all or nothing.
 */
export interface AcceptedWrite extends StepWriteBase {
  readonly kind: typeof DecisionKind.Accepted;
  readonly event: Json;
  /** The machine's event version (`Machine.eventVersion`), kept with the journal row. */
  readonly eventVersion: number;
  readonly state: Json;
  /** The state's name by its machine ({@link Machine.stateName}), kept for lists and counts. */
  readonly stateName: string | null;
  /** The machine's state version (`Machine.version`), kept with the entity and the journal row. */
  readonly stateVersion: number;
  readonly intents: readonly IntentRecord[];
  readonly outbox: readonly OutboxItem[];
  readonly timers: readonly TimerItem[];
  /**
   * Pending timers of this entity to cancel, each named by its key or its timer id (status
   * `cancelled`; fired, dead or unknown ones are left alone). Applied before `timers` are
   * inserted; a timer in `timers` with a key also cancels the entity's pending timer with that
   * key (it replaces it). Absent: none.
   */
  readonly cancelTimers?: readonly string[] | undefined;
  readonly result: Processed;
  /**
   * The step's W3C `traceparent` (`00-<trace id>-<span id>-<flags>`), absent if untraced. Kept
   * as is (opaque, at most 55 characters) with each outbox row and timer of the step, so that
   * a dispatcher's attempt or a timer's firing, later or in another process, continues the trace.
   */
  readonly traceParent?: string | undefined;
}

/** A rejected event: only the inbox row is written, and only if the version still holds. */
export interface RejectionWrite extends StepWriteBase {
  readonly kind: typeof DecisionKind.Rejected;
  readonly result: RejectedResult;
}

/** One step for {@link Store.commit}. */
export type StepWrite = AcceptedWrite | RejectionWrite;

/** Kinds of {@link CommitOutcome}, a smart enum. */
export const CommitOutcomeKind = {
  Committed: "committed",
  Conflict: "conflict",
  Duplicate: "duplicate",
  Failed: "failed",
} as const;
export type CommitOutcomeKind = (typeof CommitOutcomeKind)[keyof typeof CommitOutcomeKind];

/** What became of one step of a commit. */
export type CommitOutcome =
  | { readonly kind: typeof CommitOutcomeKind.Committed }
  /** The entity's version was not `expectedVersion`: decide again from a fresh load. */
  | { readonly kind: typeof CommitOutcomeKind.Conflict; readonly currentVersion: number }
  /** The event id is already in the inbox (another writer got there first). */
  | { readonly kind: typeof CommitOutcomeKind.Duplicate; readonly record: InboxRecord }
  /** The step's writes failed (a broken constraint…) and were rolled back; its neighbours were not. */
  | { readonly kind: typeof CommitOutcomeKind.Failed; readonly error: unknown };

/** What a step needs to know before deciding: the entity and whether the event was seen. */
export interface LoadResult {
  readonly entity: StoredEntity | undefined;
  readonly inbox: InboxRecord | undefined;
}

/**
 * One step for {@link UnitOfWork.transact}: the store loads the entity and the event id's inbox
 * record inside its write transaction and asks `decide` what to write.
 */
export interface StepRequest {
  readonly ref: EntityRef;
  readonly eventId: string;
  /** The step's W3C traceparent, when it is traced (the commit's span is its child). */
  readonly traceParent?: string | undefined;
  /**
   * Called synchronously inside the transaction, with what the store just read there: the
   * write to make, or `undefined` to write nothing (the step's answer needs no write: a
   * duplicate, a version mismatch, no such entity). Pure, and it may be called again if the
   * store redoes the transaction. If it throws, the step writes nothing and is answered
   * `failed` with the error; its neighbours go on.
   */
  decide(loaded: LoadResult): StepWrite | undefined;
}

/** A page of entities, in id order. */
export interface ListQuery {
  readonly limit: number;
  /** Return ids strictly after this one (the cursor). */
  readonly after?: string;
  /** Only ids that start with this string (byte-wise, like the order). */
  readonly idPrefix?: string;
  /** Only entities whose state has this name ({@link StoredEntity.stateName}). */
  readonly stateName?: string;
}

/**
 * How many entities of a machine are in one state, by the name its machine gives the state
 * ({@link StoredEntity.stateName}); `null` counts states without a name.
 */
export interface EntityCount {
  readonly stateName: string | null;
  readonly count: number;
}

/** How many entities of a machine are stored at one state version. */
export interface StateVersionCount {
  readonly stateVersion: number;
  readonly count: number;
}

/**
 * A stored state rewritten at a newer state version (`drover upgrade --apply`): applied only
 * while the entity is still at `version` (the entity version, as a step checks it) and at a
 * lower state version; the entity version, journal and timestamps stay as they are.
 */
export interface StateRewrite {
  readonly ref: EntityRef;
  readonly version: number;
  readonly state: Json;
  readonly stateName: string | null;
  readonly stateVersion: number;
}

/** Which due rows to lease, to whom, for how long. */
export interface ClaimQuery {
  /** Who claims: a dispatcher's or scheduler's unique name. */
  readonly owner: string;
  /** The claimer's clock, epoch ms: rows due at or before it are claimable. */
  readonly now: number;
  /** The lease lasts until `now + leaseMs`; after that another claimer may take the row. */
  readonly leaseMs: number;
  readonly limit: number;
}

/**
 * The leases to free when an instance starts again ({@link WorkQueue.releaseLeases}): those of
 * its earlier incarnations. Lease owners are named `<instance>#<incarnation>:<role>`, and an
 * instance name holds no `#`, so a prefix names one instance exactly.
 */
export interface LeaseRelease {
  /** Leases whose owner starts with this (`<instance>#`) are the instance's… */
  readonly ownerPrefix: string;
  /** …except those whose owner starts with this (`<instance>#<incarnation>:`), the running one's. */
  readonly keepPrefix: string;
}

/** How many leases {@link WorkQueue.releaseLeases} freed. */
export interface ReleasedLeases {
  readonly outbox: number;
  readonly timers: number;
}

/** A failed attempt: try again at `retryAt`, or give up (`retryAt: null`, the row is dead). */
export interface AttemptFailure {
  readonly error: string;
  readonly now: number;
  readonly retryAt: number | null;
  /**
   * `false`: the attempt waited rather than failed (its entity's state cannot be read by the
   * running code) and is given back: the row's `attempts` goes down by one. Default `true`.
   */
  readonly counts?: boolean;
}

/** Which outbox rows to list. */
export interface OutboxQuery {
  readonly status?: OutboxStatus;
  readonly limit?: number;
}

/** Which timers to list. */
export interface TimerQuery {
  readonly status?: TimerStatus;
  /** Only the timers of this entity. */
  readonly entity?: EntityRef;
  readonly limit?: number;
}

/** An intent type an operator paused: its intents are not claimed until it is resumed. */
export interface PausedIntentType {
  readonly intentType: string;
  /** Epoch ms. */
  readonly pausedAt: number;
}

/**
 * One of `limit` concurrency slots under `key` (e.g. "provider calls of merchant m_1"), asked
 * for by `holder` (an intent id) on behalf of `owner` (a dispatcher) until `now + leaseMs`.
 */
export interface SlotRequest {
  readonly key: string;
  readonly limit: number;
  readonly holder: string;
  readonly owner: string;
  readonly now: number;
  readonly leaseMs: number;
}

/** A token of a rate limit: at most `perSecond` per second under `key`, bursts up to `burst`. */
export interface TokenRequest {
  readonly key: string;
  readonly perSecond: number;
  /** Tokens the bucket holds when full (default: `perSecond`, at least 1). */
  readonly burst?: number;
  readonly now: number;
}

/**
 * The unit of work: what the runtime needs to take one step. A store is the transaction
 * boundary: `commit` takes one or more steps and applies them in one transaction, each step
 * all or nothing on its own (a failing step does not take its neighbours down).
 */
export interface UnitOfWork {
  /** Read an entity and the inbox record of an event id, in one go. */
  load(ref: EntityRef, eventId: string): Promise<LoadResult>;
  /** Apply steps in one transaction; one outcome per step, in order. */
  commit(steps: readonly StepWrite[]): Promise<CommitOutcome[]>;
  /**
   * How many `commit`s the runtime may have in flight at once (default 1). A store on a
   * connection pool can take two: one batch commits while the next one's steps are decided.
   * Batches in flight together never hold two steps of one entity (the runtime runs an
   * entity's steps one at a time), so they cannot conflict with each other.
   */
  readonly commitConcurrency?: number;
  /**
   * Optional, for stores whose transactions are synchronous (SQLite): load, decide and apply
   * each step inside one write transaction — one transaction instead of a read and a write
   * per step, and no conflict is possible, since nothing else writes while it runs. One
   * outcome per request, in order; a request that wrote nothing is answered `committed`. The
   * runtime uses it when present and {@link load} then {@link commit} otherwise.
   */
  transact?(requests: readonly StepRequest[]): Promise<CommitOutcome[]>;
  /**
   * Rewrite stored states at a newer state version, in one transaction: `true` for each
   * rewrite applied, `false` for one whose entity moved on (another version, a state version
   * not below the rewrite's) or no longer exists.
   */
  rewriteStates(rewrites: readonly StateRewrite[]): Promise<boolean[]>;
}

/** The outbox as a work queue: what the dispatcher leases, settles and retries. */
export interface OutboxQueue {
  /**
   * Lease due outbox rows to `owner`: pending, `nextAttemptAt <= now`, lease free or expired
   * (`leaseUntil <= now`), and the oldest pending row of its entity — an entity's intents run
   * in commit order, so a row leased or waiting for its retry holds back the later rows of its
   * entity; done and dead rows hold back nothing (a revived dead row may thus run after later
   * ones). At most `limit` rows (a limit below 1 claims nothing), in commit order. Each claim
   * counts as an attempt: the rows come back with `attempts` already increased.
   *
   * A lease is held by name: its owner may still settle the row after `leaseUntil` as long
   * as nobody else has claimed it since.
   */
  claimOutbox(query: ClaimQuery): Promise<OutboxRecord[]>;
  /** Mark a claimed row done. `false` (and no change) if `owner` no longer holds its lease. */
  completeOutbox(intentId: string, owner: string, now: number): Promise<boolean>;
  /** Record a failed attempt of a claimed row. `false` (and no change) if the lease was lost. */
  failOutbox(intentId: string, owner: string, failure: AttemptFailure): Promise<boolean>;
  /** Make a dead row pending again with a fresh count of attempts. `false` if it is not dead. */
  retryDead(intentId: string, now: number): Promise<boolean>;
  /**
   * The heartbeat of running attempts: move the lease of each of `intentIds` that `owner`
   * still holds (pending, leased to `owner`, expired or not) to `until`, in one call. Answers
   * the ids it still holds; the others were taken over or settled, and their attempts stop.
   */
  renewOutboxLeases(owner: string, intentIds: readonly string[], until: number): Promise<string[]>;
}

/**
 * What operators and effect limits need from the outbox, shared by every process on the
 * store: paused intent types, concurrency slots and rate-limit buckets.
 */
export interface IntentControls {
  /**
   * Pause an intent type (of any machine): {@link OutboxQueue.claimOutbox} skips its pending
   * rows — which keep their attempts — until it is resumed; a skipped row still holds back the
   * later rows of its entity. `false` if it was already paused.
   */
  pauseIntentType(intentType: string, now: number): Promise<boolean>;
  /** Resume a paused intent type. `false` if it was not paused. */
  resumeIntentType(intentType: string): Promise<boolean>;
  /** The paused intent types, by name. */
  listPausedIntentTypes(): Promise<PausedIntentType[]>;
  /**
   * Take (or renew, if `holder` holds it already) one of the `limit` slots of `key`: `true` if
   * `holder` holds one until `now + leaseMs`. Slots whose lease ran out are free. Atomic across
   * every process on the store: never more than `limit` unexpired holders of a key.
   */
  acquireSlot(request: SlotRequest): Promise<boolean>;
  /** Give back `holder`'s slot of `key` (nothing if it holds none). */
  releaseSlot(key: string, holder: string): Promise<void>;
  /**
   * Take one token of the bucket `key` (full when first seen, refilled at `perSecond`): 0 if
   * one was taken, else the milliseconds until one will be there (nothing is taken). Atomic
   * across every process on the store.
   */
  takeToken(request: TokenRequest): Promise<number>;
}

/** Durable timers as a work queue: what the scheduler leases and settles. */
export interface TimerQueue {
  /** Lease due timers (`nextAttemptAt <= now`, pending, lease free or expired), soonest first. */
  claimTimers(query: ClaimQuery): Promise<TimerRecord[]>;
  /** Mark a claimed timer fired. `false` (and no change) if `owner` no longer holds its lease. */
  completeTimer(timerId: string, owner: string, now: number): Promise<boolean>;
  /**
   * Record a failed firing: the timer stays pending until `failure.retryAt`, or is dead
   * (`retryAt: null`). `false` (and no change) if the lease was lost.
   */
  failTimer(timerId: string, owner: string, failure: AttemptFailure): Promise<boolean>;
  /** Make a dead timer pending again, due now, with a fresh count of attempts. `false` if it is not dead. */
  retryDeadTimer(timerId: string, now: number): Promise<boolean>;
  /** As {@link OutboxQueue.renewOutboxLeases}, for the timers being fired. */
  renewTimerLeases(owner: string, timerIds: readonly string[], until: number): Promise<string[]>;
}

/**
 * The work queue: outbox and timer claims, and the optional wake-up notice that tells the
 * dispatcher and the scheduler to look now.
 */
export interface WorkQueue extends OutboxQueue, TimerQueue, IntentControls {
  /**
   * Optional: call `listener` when another process commits work for the dispatcher or the
   * scheduler (PostgreSQL's LISTEN/NOTIFY), so they look now instead of at the next poll.
   * Returns a function that stops listening. In-process commits need no notice.
   */
  watch?(listener: () => void): () => void;
  /**
   * Free at once the leases of pending outbox rows and timers held by the earlier
   * incarnations of an instance (a process that restarted after kill -9): they are claimable
   * now instead of when their leases run out. Their attempts stay counted (the attempt did
   * start) and nothing else changes; leases of other instances, and of the running
   * incarnation, are left alone.
   */
  releaseLeases(release: LeaseRelease): Promise<ReleasedLeases>;
}

/** The read model: what the HTTP API, the CLI and the dashboard show. Reads only. */
export interface ReadModel {
  getEntity(ref: EntityRef): Promise<StoredEntity | undefined>;
  listEntities(machine: string, query: ListQuery): Promise<StoredEntity[]>;
  /** How many entities of `machine` there are per state name, sorted by name (`null` last). */
  countEntities(machine: string): Promise<EntityCount[]>;
  /** How many entities of `machine` are stored at each state version, lowest version first. */
  countStateVersions(machine: string): Promise<StateVersionCount[]>;
  /** An entity's journal, oldest first. */
  history(ref: EntityRef): Promise<JournalEntry[]>;
  findInbox(eventId: string): Promise<InboxRecord | undefined>;
  /** Outbox rows in the order their intents were committed. */
  listOutbox(query?: OutboxQuery): Promise<OutboxRecord[]>;
  findOutbox(intentId: string): Promise<OutboxRecord | undefined>;
  /** How many outbox rows are in each status (for gauges). */
  outboxStats(): Promise<Record<OutboxStatus, number>>;
  /** Timers, soonest due first (ties by timer id). */
  listTimers(query?: TimerQuery): Promise<TimerRecord[]>;
  findTimer(timerId: string): Promise<TimerRecord | undefined>;
  /** How many timers are in each status (for gauges). */
  timerStats(): Promise<Record<TimerStatus, number>>;
}

/**
 * The port every backend implements: the intersection of its roles — {@link UnitOfWork}
 * (the runtime), {@link WorkQueue} (dispatcher and scheduler) and {@link ReadModel} (the
 * read side) — plus `close`. A caller that needs one role takes that role, so a reader sees
 * what it uses.
 *
 * Implementations must pass `runStoreConformance` from `@drover/core/testing`.
 *
 * @example
 * const store: Store = new MemoryStore(); // or SqliteStore, PostgresStore, a class of your own
 * const runtime = new Runtime({ store, machines: [doors] }); // the runtime only uses its UnitOfWork
 */
export interface Store extends UnitOfWork, WorkQueue, ReadModel {
  /**
   * Optional: the HTTP API's tokens, kept in the store for every process that shares it
   * (PostgreSQL). Absent: a single-host store, whose server keeps its tokens in a file.
   */
  readonly tokenVault?: TokenVault;
  /** Release connections and files; the store is unusable afterwards. */
  close(): Promise<void>;
  /**
   * Prove the store can commit right now: a cheap write that really commits (and changes
   * nothing durable), or a throw — a `StoreUnavailableError` saying why — when it cannot
   * (disk full, server down, read-only). Readiness probes call it; a store without it counts
   * as ready.
   *
   * @example
   * await store.probe?.(); // throws while the disk is full
   */
  probe?(): Promise<void>;
}

/** Where time comes from; inject a fake one in tests. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** Where fresh ids come from (event ids when the caller gives none). */
export interface IdGenerator {
  next(): string;
}
