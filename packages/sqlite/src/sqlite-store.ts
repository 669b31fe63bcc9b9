import type {
  AcceptedWrite,
  AttemptFailure,
  ClaimQuery,
  CommitOutcome,
  EntityCount,
  EntityRef,
  InboxRecord,
  JournalEntry,
  ListQuery,
  LoadResult,
  OutboxQuery,
  OutboxRecord,
  StepWrite,
  Store,
  StoredEntity,
  TimerRecord,
} from "@drover/core";
import {
  byStateName,
  CommitOutcomeKind,
  ConfigurationError,
  DecisionKind,
  OutboxStatus,
  StoreUnavailableError,
} from "@drover/core";
import type Database from "better-sqlite3";
import type { SqliteStoreInfo, SqliteStoreOptions } from "./connection.js";
import { connect, DEFAULT_BUSY_TIMEOUT_MS, SqliteSynchronous } from "./connection.js";
import type { MigrationReport } from "./migrations.js";
import type { ClaimedOutboxRow, ClaimedTimerRow } from "./rows.js";
import { fromLoadRow, toEntity, toInbox, toJournalEntry, toOutbox, toTimer } from "./rows.js";
import type { ClaimParams, Statements } from "./statements.js";
import { claimParams, prepare } from "./statements.js";
import { isUnavailable, translate } from "./unavailable.js";

const COMMITTED: CommitOutcome = Object.freeze({ kind: CommitOutcomeKind.Committed });

/**
 * The embedded {@link Store}: one SQLite file through better-sqlite3, in WAL mode, with
 * `synchronous=FULL` unless told otherwise. Opening applies pending migrations. Every SQL
 * statement is prepared once, here; a {@link SqliteStore.commit} of many steps is one
 * `BEGIN IMMEDIATE` transaction with one savepoint per step.
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
export class SqliteStore implements Store {
  readonly #options: Readonly<Required<SqliteStoreOptions>>;
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #transaction: (step: StepWrite) => CommitOutcome;
  readonly #batch: (steps: readonly StepWrite[]) => CommitOutcome[];
  readonly #batchWithoutSavepoints: (steps: readonly StepWrite[]) => CommitOutcome[];
  readonly #claimOutbox: (claim: ClaimParams) => ClaimedOutboxRow[];
  readonly #claimTimers: (claim: ClaimParams) => ClaimedTimerRow[];
  readonly #migration: MigrationReport;
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
    // Called inside #batch, the same function runs in a savepoint: a failing step rolls back alone.
    const transaction = this.#db.transaction((step: StepWrite) => this.#apply(step));
    this.#transaction = transaction.immediate;
    this.#batch = this.#db.transaction((steps: readonly StepWrite[]) =>
      steps.map((step) => {
        try {
          return transaction(step);
        } catch (error) {
          if (isUnavailable(error)) throw error;
          return { kind: CommitOutcomeKind.Failed, error };
        }
      }),
    ).immediate;
    this.#batchWithoutSavepoints = this.#db.transaction((steps: readonly StepWrite[]) =>
      steps.map((step) => this.#apply(step)),
    ).immediate;
    // One statement each, but in BEGIN IMMEDIATE: the write lock is taken (or waited for)
    // before anything is read, so two connections never lease the same row.
    const sql = this.#sql;
    this.#claimOutbox = this.#db.transaction((claim: ClaimParams) => sql.claimOutbox.all(claim)).immediate;
    this.#claimTimers = this.#db.transaction((claim: ClaimParams) => sql.claimTimers.all(claim)).immediate;
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

  /** The file, journal mode, durability and schema version of the open connection. */
  /** What opening did to the schema: the version before and after, and the migrations applied. */
  get migration(): MigrationReport {
    return this.#migration;
  }

  info(): SqliteStoreInfo {
    this.#live();
    return {
      path: this.#options.path,
      journalMode: this.#sql.journalMode.get() ?? "unknown",
      synchronous: this.#sql.synchronous.get() === 1 ? SqliteSynchronous.Normal : SqliteSynchronous.Full,
      schemaVersion: this.#sql.schemaVersion.get() ?? 0,
    };
  }

  async load(ref: EntityRef, eventId: string): Promise<LoadResult> {
    return this.#guard("loading an entity", () => {
      // One statement, so one read snapshot (and one round of WAL read locks) for both rows.
      const row = this.#sql.load.get(ref.machine, ref.id, eventId);
      return row === undefined ? { entity: undefined, inbox: undefined } : fromLoadRow(row, ref, eventId);
    });
  }

  async commit(steps: readonly StepWrite[]): Promise<CommitOutcome[]> {
    this.#live();
    const [first] = steps;
    if (first === undefined) return [];
    return this.#guard("committing", () => {
      // One step needs no savepoint: the transaction itself is its all-or-nothing boundary.
      if (steps.length === 1) return [this.#commitOne(first)];
      // Steps that conflict or are duplicates write nothing, so a batch needs savepoints only when
      // a step throws halfway: try without (a savepoint per step costs ~10% here), and when one
      // throws, the whole transaction is rolled back and made again with a savepoint per step.
      try {
        return this.#batchWithoutSavepoints(steps);
      } catch (error) {
        if (isUnavailable(error)) throw error;
      }
      return this.#batch(steps);
    });
  }

  #commitOne(step: StepWrite): CommitOutcome {
    try {
      return this.#transaction(step);
    } catch (error) {
      if (isUnavailable(error)) throw error;
      return { kind: CommitOutcomeKind.Failed, error };
    }
  }

  /** One step, inside a transaction or savepoint: throwing undoes it. */
  #apply(step: StepWrite): CommitOutcome {
    const sql = this.#sql;
    const seen = sql.inbox.get(step.eventId);
    if (seen !== undefined) return { kind: CommitOutcomeKind.Duplicate, record: toInbox(seen) };
    const { machine, id } = step.ref;

    if (step.kind === DecisionKind.Rejected) {
      const current = sql.version.get(machine, id) ?? 0;
      if (current !== step.expectedVersion) return { kind: CommitOutcomeKind.Conflict, currentVersion: current };
      sql.insertInbox.run(step.eventId, machine, id, step.fingerprint, JSON.stringify(step.result), step.at);
      return COMMITTED;
    }

    const state = JSON.stringify(step.state);
    const moved =
      step.expectedVersion === 0
        ? sql.createEntity.run(machine, id, state, step.stateName, step.at, step.at)
        : sql.updateEntity.run(state, step.stateName, step.at, machine, id, step.expectedVersion);
    if (moved.changes === 0) {
      return { kind: CommitOutcomeKind.Conflict, currentVersion: sql.version.get(machine, id) ?? 0 };
    }
    this.#writeAccepted(step, state);
    return COMMITTED;
  }

  #writeAccepted(step: AcceptedWrite, state: string): void {
    const sql = this.#sql;
    const { machine, id } = step.ref;
    const version = step.expectedVersion + 1;
    const { at } = step;
    sql.insertJournal.run(
      machine,
      id,
      version,
      step.eventId,
      JSON.stringify(step.event),
      state,
      JSON.stringify(step.intents),
      at,
    );
    sql.insertInbox.run(step.eventId, machine, id, step.fingerprint, JSON.stringify(step.result), at);
    for (const item of step.outbox) {
      sql.insertOutbox.run(item.intentId, machine, id, JSON.stringify(item.intent), OutboxStatus.Pending, at, at);
    }
    for (const item of step.timers) {
      sql.insertTimer.run(item.timerId, machine, id, JSON.stringify(item.event), item.dueAt, item.dueAt);
    }
  }

  async getEntity(ref: EntityRef): Promise<StoredEntity | undefined> {
    return this.#guard("reading an entity", () => {
      const row = this.#sql.entity.get(ref.machine, ref.id);
      return row === undefined ? undefined : toEntity(row);
    });
  }

  async listEntities(machine: string, query: ListQuery): Promise<StoredEntity[]> {
    return this.#guard("listing entities", () => {
      const filtered = query.idPrefix !== undefined || query.stateName !== undefined;
      const rows = filtered
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
      return rows.map(toEntity);
    });
  }

  async countEntities(machine: string): Promise<EntityCount[]> {
    return this.#guard("counting entities", () => {
      return this.#sql.entityCounts
        .all(machine)
        .map(({ state_name, n }) => ({ stateName: state_name, count: n }))
        .sort(byStateName);
    });
  }

  async history(ref: EntityRef): Promise<JournalEntry[]> {
    return this.#guard("reading a journal", () => {
      return this.#sql.journal.all(ref.machine, ref.id).map(toJournalEntry);
    });
  }

  async findInbox(eventId: string): Promise<InboxRecord | undefined> {
    return this.#guard("reading the inbox", () => {
      const row = this.#sql.inbox.get(eventId);
      return row === undefined ? undefined : toInbox(row);
    });
  }

  async findOutbox(intentId: string): Promise<OutboxRecord | undefined> {
    return this.#guard("reading the outbox", () => {
      const row = this.#sql.outboxRow.get(intentId);
      return row === undefined ? undefined : toOutbox(row);
    });
  }

  async outboxStats(): Promise<Record<OutboxStatus, number>> {
    return this.#guard("counting the outbox", () => {
      const stats: Record<OutboxStatus, number> = { pending: 0, done: 0, dead: 0 };
      for (const { status, n } of this.#sql.outboxStats.all()) {
        if (status in stats) stats[status as OutboxStatus] = n;
      }
      return stats;
    });
  }

  async listOutbox(query: OutboxQuery = {}): Promise<OutboxRecord[]> {
    // LIMIT -1 is SQLite for "no limit".
    const limit = query.limit ?? -1;
    return this.#guard("listing the outbox", () => {
      const rows =
        query.status === undefined ? this.#sql.outbox.all(limit) : this.#sql.outboxByStatus.all(query.status, limit);
      return rows.map(toOutbox);
    });
  }

  async listTimers(): Promise<TimerRecord[]> {
    return this.#guard("listing timers", () => {
      return this.#sql.timers.all().map(toTimer);
    });
  }

  async claimOutbox(query: ClaimQuery): Promise<OutboxRecord[]> {
    this.#live();
    const claim = claimParams(query);
    if (claim === undefined) return [];
    return this.#guard("claiming outbox rows", () => {
      // RETURNING yields rows in no particular order: put them back in commit order.
      return this.#claimOutbox(claim)
        .sort((a, b) => a.seq - b.seq)
        .map(toOutbox);
    });
  }

  async completeOutbox(intentId: string, owner: string, _now: number): Promise<boolean> {
    return this.#guard("completing an outbox row", () => {
      return this.#sql.completeOutbox.run(intentId, owner).changes > 0;
    });
  }

  async failOutbox(intentId: string, owner: string, failure: AttemptFailure): Promise<boolean> {
    return this.#guard("recording a failed outbox attempt", () => {
      const changed =
        failure.retryAt === null
          ? this.#sql.buryOutbox.run(failure.error, intentId, owner)
          : this.#sql.retryOutbox.run(failure.retryAt, failure.error, intentId, owner);
      return changed.changes > 0;
    });
  }

  async retryDead(intentId: string, now: number): Promise<boolean> {
    return this.#guard("retrying a dead outbox row", () => {
      return this.#sql.reviveOutbox.run(now, intentId).changes > 0;
    });
  }

  async claimTimers(query: ClaimQuery): Promise<TimerRecord[]> {
    this.#live();
    const claim = claimParams(query);
    if (claim === undefined) return [];
    return this.#guard("claiming timers", () => {
      // RETURNING yields rows in no particular order: soonest first, commit order among equals.
      return this.#claimTimers(claim)
        .sort((a, b) => a.due_at - b.due_at || a.seq - b.seq)
        .map(toTimer);
    });
  }

  async completeTimer(timerId: string, owner: string, _now: number): Promise<boolean> {
    return this.#guard("completing a timer", () => {
      return this.#sql.completeTimer.run(timerId, owner).changes > 0;
    });
  }

  async failTimer(timerId: string, owner: string, failure: AttemptFailure): Promise<boolean> {
    return this.#guard("recording a failed timer firing", () => {
      // The port never passes null here; should it, the timer is due again at once, as in MemoryStore.
      const retryAt = failure.retryAt ?? failure.now;
      return this.#sql.retryTimer.run(retryAt, failure.error, timerId, owner).changes > 0;
    });
  }

  /** Close the connection (checkpointing the WAL). Calling it again does nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
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
