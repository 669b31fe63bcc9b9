import type * as port from "@drover/core";
import type { OutboxStatus, TimerStatus } from "@drover/core";
import { ConfigurationError, StoreUnavailableError } from "@drover/core";
import * as sql from "@drover/core/sql";
import type Database from "better-sqlite3";
import type { ClaimParams } from "./claim-params.js";
import { claimParams } from "./claim-params.js";
import type { SqliteStoreInfo, SqliteStoreOptions } from "./connection.js";
import { connect, DEFAULT_BUSY_TIMEOUT_MS, IDLE_CHECKPOINT_MS, SqliteSynchronous } from "./connection.js";
import { IdleCheckpoint } from "./idle-checkpoint.js";
import { SqliteIntentControls } from "./intent-controls.js";
import { SqliteLeases } from "./leases.js";
import type { MigrationReport } from "./migrations.js";
import { writeProbe } from "./probe.js";
import type { RewriteParams } from "./rows.js";
import { rewriteParams, rows } from "./rows.js";
import { SettleBatch } from "./settle-batch.js";
import type { Statements } from "./statements.js";
import { outboxListing, prepare } from "./statements.js";
import { StepWriter } from "./step-writer.js";
import { timerListing } from "./timer-statements.js";
import { translate } from "./unavailable.js";
import { workQueueSync } from "./work-queue-sync.js";

/**
 * The embedded {@link port.Store | Store}: one SQLite file through better-sqlite3, in WAL mode, with
 * `synchronous=FULL` unless told otherwise. Opening applies pending migrations. Every SQL
 * statement is prepared once, here; a {@link SqliteStore.commit} or {@link SqliteStore.transact}
 * of many steps is one `BEGIN IMMEDIATE` transaction (step-writer.ts).
 *
 * better-sqlite3 is synchronous, so each method does its work before returning an already
 * settled promise; one store per process and file is the intended shape.
 *
 * @example
 * const store = SqliteStore.open({ path: "./data/drover.db" });
 * const runtime = new Runtime({ store, machines: [doors] });
 * await runtime.run({ machine: "doors", id: "door_1" }, { type: "Install" });
 * await store.close();
 */
export class SqliteStore implements port.Store {
  readonly #options: Readonly<Required<SqliteStoreOptions>>;
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #steps: StepWriter;
  readonly #leases: SqliteLeases;
  readonly #rewrite: (rewrites: readonly RewriteParams[]) => boolean[];
  readonly #migration: MigrationReport;
  readonly #settles: SettleBatch;
  readonly #controls: SqliteIntentControls;
  /** Empties the WAL after a quiet second (a file database only). */
  readonly #idle: IdleCheckpoint | undefined;
  readonly #probe: () => void;
  #closed = false;

  /**
   * Open (or create) the database at `options.path` and migrate it.
   *
   * @throws {StoreUnavailableError} the file cannot be opened or written.
   * @throws {ConfigurationError} bad options, or a database written by a newer @drover/sqlite.
   */
  constructor(options: SqliteStoreOptions) {
    this.#options = Object.freeze({
      path: options.path,
      synchronous: options.synchronous ?? SqliteSynchronous.Full,
      busyTimeout: options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT_MS,
    });
    const { path, synchronous, busyTimeout } = this.#options;
    if (typeof path !== "string" || path.length === 0) {
      throw new ConfigurationError(`SqliteStore needs a file path, got ${JSON.stringify(path)}`);
    }
    if (synchronous !== SqliteSynchronous.Full && synchronous !== SqliteSynchronous.Normal) {
      throw new ConfigurationError(
        `SqliteStore synchronous must be "FULL" or "NORMAL", got ${JSON.stringify(synchronous)}`,
      );
    }
    if (!Number.isSafeInteger(busyTimeout) || busyTimeout < 0) {
      throw new ConfigurationError(
        `SqliteStore busyTimeout must be a non-negative integer of milliseconds, got ${busyTimeout}`,
      );
    }
    const connected = connect(this.#options);
    this.#db = connected.db;
    this.#migration = connected.migration;
    this.#sql = prepare(this.#db);
    this.#settles = new SettleBatch(
      this.#db,
      (error, doing) => translate(error, this.#options.path, doing),
      workQueueSync(this.#db, synchronous === SqliteSynchronous.Full),
    );
    this.#steps = new StepWriter(this.#db, this.#sql);
    const sql = this.#sql;
    // Runs a work-queue write without an fsync of its own (see workQueueSync).
    const relaxed = workQueueSync(this.#db, synchronous === SqliteSynchronous.Full);
    this.#leases = new SqliteLeases(this.#db, sql, relaxed);
    this.#rewrite = this.#db.transaction((rewrites: readonly RewriteParams[]) =>
      rewrites.map((params) => sql.rewriteState.run(...params).changes > 0),
    ).immediate;
    this.#controls = new SqliteIntentControls(this.#db, relaxed);
    if (path !== ":memory:") {
      this.#idle = new IdleCheckpoint(this.#db, IDLE_CHECKPOINT_MS, busyTimeout);
      this.#idle.start();
    }
    this.#probe = writeProbe(this.#db);
  }

  /**
   * Open (or create) and migrate a database: the same as `new SqliteStore(options)`.
   *
   * @example
   * const store = SqliteStore.open({ path: "./data/drover.db", synchronous: "NORMAL" });
   */
  static open(options: SqliteStoreOptions): SqliteStore {
    return new SqliteStore(options);
  }

  /** What opening did to the schema: the version before and after, and the migrations applied. */
  get migration(): MigrationReport {
    return this.#migration;
  }

  /** The file, journal mode, durability and schema version of the open connection. */
  info(): SqliteStoreInfo {
    this.#live();
    return {
      path: this.#options.path,
      journalMode: this.#sql.journalMode.get() ?? "unknown",
      synchronous: this.#sql.synchronous.get() === 1 ? SqliteSynchronous.Normal : SqliteSynchronous.Full,
      schemaVersion: this.#sql.schemaVersion.get() ?? 0,
    };
  }

  async load(ref: port.EntityRef, eventId: string): Promise<port.LoadResult> {
    return this.#guard("loading an entity", () => this.#steps.load(ref, eventId));
  }

  async commit(steps: readonly port.StepWrite[]): Promise<port.CommitOutcome[]> {
    return this.#guard("committing", () => this.#steps.commit(steps));
  }

  /**
   * Load, decide and write each step inside one `BEGIN IMMEDIATE` transaction (see
   * {@link port.UnitOfWork.transact}): the runtime's path on SQLite.
   */
  async transact(requests: readonly port.StepRequest[]): Promise<port.CommitOutcome[]> {
    return this.#guard("committing", () => this.#steps.transact(requests));
  }

  /**
   * Rewrite stored states at a newer state version, all in one transaction; `true` for each
   * row changed. A state JSON cannot hold fails the whole call before any row changes.
   *
   * @example
   * const [applied] = await store.rewriteStates([
   *   { ref: { machine: "payments", id: "p_1" }, version: 3, state, stateName: "authorized", stateVersion: 2 },
   * ]);
   */
  async rewriteStates(rewrites: readonly port.StateRewrite[]): Promise<boolean[]> {
    return this.#guard("rewriting states", () => {
      const params = rewrites.map(rewriteParams);
      return params.length === 0 ? [] : this.#rewrite(params);
    });
  }

  async getEntity(ref: port.EntityRef): Promise<port.StoredEntity | undefined> {
    return this.#guard("reading an entity", () => {
      const row = this.#sql.entity.get(ref.machine, ref.id);
      return row === undefined ? undefined : rows.toEntity(row);
    });
  }

  async listEntities(machine: string, query: port.ListQuery): Promise<port.StoredEntity[]> {
    return this.#guard("listing entities", () => {
      const filtered = query.idPrefix !== undefined || query.stateName !== undefined;
      const found = filtered
        ? this.#sql.entitiesFiltered.all({
            machine,
            after: query.after ?? null,
            prefix: query.idPrefix ?? null,
            stateName: query.stateName ?? null,
            limit: query.limit,
          })
        : query.after === undefined
          ? this.#sql.entities.all(machine, query.limit)
          : this.#sql.entitiesAfter.all(machine, query.after, query.limit);
      return found.map(rows.toEntity);
    });
  }

  async countEntities(machine: string): Promise<port.EntityCount[]> {
    return this.#guard("counting entities", () => {
      return rows.toEntityCounts(this.#sql.entityCounts.all(machine));
    });
  }

  async countStateVersions(machine: string): Promise<port.StateVersionCount[]> {
    return this.#guard("counting entities by state version", () => {
      return rows.toStateVersionCounts(this.#sql.stateVersionCounts.all(machine));
    });
  }

  async history(ref: port.EntityRef): Promise<port.JournalEntry[]> {
    return this.#guard("reading a journal", () => {
      return this.#sql.journal.all(ref.machine, ref.id).map(rows.toJournalEntry);
    });
  }

  async findInbox(eventId: string): Promise<port.InboxRecord | undefined> {
    return this.#guard("reading the inbox", () => {
      const row = this.#sql.inbox.get(eventId, eventId);
      return row === undefined ? undefined : rows.toInbox(row);
    });
  }

  async findOutbox(intentId: string): Promise<port.OutboxRecord | undefined> {
    return this.#guard("reading the outbox", () => {
      const row = this.#sql.outboxRow.get(intentId);
      return row === undefined ? undefined : rows.toOutbox(row);
    });
  }

  async outboxStats(): Promise<Record<OutboxStatus, number>> {
    return this.#guard("counting the outbox", () => {
      return rows.toOutboxStats(this.#sql.outboxStats.all());
    });
  }

  async listOutbox(query: port.OutboxQuery = {}): Promise<port.OutboxRecord[]> {
    // LIMIT -1 is SQLite for "no limit".
    const limit = query.limit ?? -1;
    return this.#guard("listing the outbox", () => {
      return (outboxListing(this.#sql, query.status)?.all(limit) ?? []).map(rows.toOutbox);
    });
  }

  async listTimers(query: port.TimerQuery = {}): Promise<port.TimerRecord[]> {
    return this.#guard("listing timers", () => {
      return timerListing(this.#sql, query).map(rows.toTimer);
    });
  }

  async findTimer(timerId: string): Promise<port.TimerRecord | undefined> {
    return this.#guard("reading a timer", () => {
      const row = this.#sql.timer.get(timerId);
      return row === undefined ? undefined : rows.toTimer(row);
    });
  }

  async timerStats(): Promise<Record<TimerStatus, number>> {
    return this.#guard("counting timers", () => {
      return rows.toTimerStats(this.#sql.timerStats.all());
    });
  }

  async claimOutbox(query: port.ClaimQuery): Promise<port.OutboxRecord[]> {
    return this.#claim("claiming outbox rows", query, (claim) =>
      rows.fromClaimedOutbox(this.#leases.claimOutbox(claim)),
    );
  }

  async completeOutbox(intentId: string, owner: string, _now: number): Promise<boolean> {
    return this.#changed("completing an outbox row", () => this.#sql.completeOutbox.run(intentId, owner));
  }

  async failOutbox(intentId: string, owner: string, failure: port.AttemptFailure): Promise<boolean> {
    return this.#changed("recording a failed outbox attempt", () =>
      failure.retryAt === null
        ? this.#sql.buryOutbox.run(failure.error, intentId, owner)
        : this.#sql.retryOutbox.run(failure.retryAt, failure.error, sql.refundOf(failure), intentId, owner),
    );
  }

  async retryDead(intentId: string, now: number): Promise<boolean> {
    return this.#changed("retrying a dead outbox row", () => this.#sql.reviveOutbox.run(now, intentId));
  }

  async renewOutboxLeases(owner: string, intentIds: readonly string[], until: number): Promise<string[]> {
    if (intentIds.length === 0) return [];
    return this.#guard("renewing outbox leases", () => this.#leases.renewOutboxLeases(owner, intentIds, until));
  }

  async renewTimerLeases(owner: string, timerIds: readonly string[], until: number): Promise<string[]> {
    if (timerIds.length === 0) return [];
    return this.#guard("renewing timer leases", () => this.#leases.renewTimerLeases(owner, timerIds, until));
  }

  /** Both tables in one transaction, at start: see {@link port.WorkQueue.releaseLeases}. */
  async releaseLeases(release: port.LeaseRelease): Promise<port.ReleasedLeases> {
    return this.#guard("releasing the leases of an earlier incarnation", () => this.#leases.release(release));
  }

  async claimTimers(query: port.ClaimQuery): Promise<port.TimerRecord[]> {
    return this.#claim("claiming timers", query, (claim) => rows.fromClaimedTimers(this.#leases.claimTimers(claim)));
  }

  async completeTimer(timerId: string, owner: string, _now: number): Promise<boolean> {
    return this.#changed("completing a timer", () => this.#sql.completeTimer.run(timerId, owner));
  }

  async failTimer(timerId: string, owner: string, failure: port.AttemptFailure): Promise<boolean> {
    return this.#changed("recording a failed timer firing", () =>
      failure.retryAt === null
        ? this.#sql.buryTimer.run(failure.error, sql.refundOf(failure), timerId, owner)
        : this.#sql.retryTimer.run(failure.retryAt, failure.error, sql.refundOf(failure), timerId, owner),
    );
  }

  async retryDeadTimer(timerId: string, now: number): Promise<boolean> {
    return this.#changed("retrying a dead timer", () => this.#sql.reviveTimer.run(now, timerId));
  }

  /**
   * Pause an intent type for every process on the file: their next claim skips its rows.
   *
   * @example
   * await store.pauseIntentType("SendEmail", Date.now()); // e.g. from `drover outbox pause`
   */
  async pauseIntentType(intentType: string, now: number): Promise<boolean> {
    return this.#guard("pausing an intent type", () => this.#controls.pause(intentType, now));
  }

  async resumeIntentType(intentType: string): Promise<boolean> {
    return this.#guard("resuming an intent type", () => this.#controls.resume(intentType));
  }

  async listPausedIntentTypes(): Promise<port.PausedIntentType[]> {
    return this.#guard("listing paused intent types", () => this.#controls.paused());
  }

  async acquireSlot(request: port.SlotRequest): Promise<boolean> {
    return this.#guard("acquiring a concurrency slot", () => this.#controls.acquire(request));
  }

  async releaseSlot(key: string, holder: string): Promise<void> {
    this.#guard("releasing a concurrency slot", () => this.#controls.release(key, holder));
  }

  async takeToken(request: port.TokenRequest): Promise<number> {
    return this.#guard("taking a rate-limit token", () => this.#controls.take(request));
  }

  /**
   * Commit one write that changes nothing (probe.ts): throws a `StoreUnavailableError` while
   * the database cannot commit (disk full, read-only, locked past the busy timeout).
   */
  async probe(): Promise<void> {
    this.#guard("probing with a write", this.#probe);
  }

  /** Close the connection (checkpointing the WAL). Calling it again does nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#idle?.stop();
    this.#settles.flush();
    this.#db.close();
  }

  /** Claim up to the query's limit in one transaction; a limit below one claims nothing and touches no row. */
  #claim<R>(doing: string, query: port.ClaimQuery, claimRows: (claim: ClaimParams) => R[]): R[] {
    this.#live();
    const claim = claimParams(query);
    if (claim === undefined) return [];
    return this.#guard(doing, () => claimRows(claim));
  }

  /**
   * Run a settling statement with the others of this turn, in one transaction (see
   * {@link SettleBatch}); true when it changed a row (the caller held the lease).
   */
  #changed(doing: string, run: () => Database.RunResult): Promise<boolean> {
    this.#live();
    return this.#settles.add(doing, run);
  }

  /**
   * Run one piece of synchronous database work on an open store, translating the driver's
   * errors: the one place every method's failure becomes a drover error.
   */
  #guard<T>(doing: string, work: () => T): T {
    this.#live();
    try {
      return work();
    } catch (error) {
      throw translate(error, this.#options.path, doing);
    }
  }

  #live(): void {
    if (this.#closed) {
      throw new StoreUnavailableError(`the SqliteStore for ${this.#options.path} is closed; open a new one`);
    }
  }
}
