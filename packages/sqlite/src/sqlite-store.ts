import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
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
  CommitOutcomeKind,
  ConfigurationError,
  DecisionKind,
  OutboxStatus,
  StoreUnavailableError,
  TimerStatus,
} from "@drover/core";
import Database from "better-sqlite3";
import type { MigrationReport } from "./migrations.js";
import { migrate } from "./migrations.js";
import type {
  ClaimedOutboxRow,
  ClaimedTimerRow,
  EntityRow,
  InboxRow,
  JournalRow,
  LoadRow,
  OutboxRow,
  TimerRow,
} from "./rows.js";
import { fromLoadRow, toEntity, toInbox, toJournalEntry, toOutbox, toTimer } from "./rows.js";
import { cannotOpen, isUnavailable, translate } from "./unavailable.js";

/** How durable a commit is: the value of SQLite's `synchronous` pragma in WAL mode. */
export const SqliteSynchronous = {
  /** fsync the WAL on every commit: a committed step survives a power cut. The default. */
  Full: "FULL",
  /** fsync only at checkpoints: survives a process crash, may lose the last commits on power loss. */
  Normal: "NORMAL",
} as const;
export type SqliteSynchronous = (typeof SqliteSynchronous)[keyof typeof SqliteSynchronous];

/** What {@link SqliteStore} is opened with. */
export interface SqliteStoreOptions {
  /** The database file. Its directory is created if missing. */
  readonly path: string;
  /** Durability of a commit (default `"FULL"`). */
  readonly synchronous?: SqliteSynchronous;
  /** Milliseconds a writer waits for another connection's write lock (default 5000). */
  readonly busyTimeout?: number;
}

/** What {@link SqliteStore.info} reports about the open connection. */
export interface SqliteStoreInfo {
  readonly path: string;
  /** `"wal"` for a file database. */
  readonly journalMode: string;
  readonly synchronous: SqliteSynchronous;
  /** The newest migration applied to the file. */
  readonly schemaVersion: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * WAL pages before SQLite checkpoints them into the database file (its default is 1000, ~4 MB).
 * A step dirties ~10 pages, so the default checkpoints every ~100 steps, rewriting the same hot
 * pages (entities, index leaves) into the file again and again, with an fsync each time. At
 * 10,000 pages (~40 MB of WAL) group-committed throughput rose by a third in bench/ (64 callers,
 * 9,200 → 12,200 steps/s), for rarer but longer checkpoints (p99 24 → 42 ms there).
 */
const WAL_AUTOCHECKPOINT_PAGES = 10_000;

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
        ? sql.createEntity.run(machine, id, state, step.at, step.at)
        : sql.updateEntity.run(state, step.at, machine, id, step.expectedVersion);
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
      const filtered = query.idPrefix !== undefined || query.status !== undefined;
      const rows = filtered
        ? this.#sql.entitiesFiltered.all({
            machine,
            after: query.after ?? null,
            prefix: query.idPrefix ?? null,
            status: query.status ?? null,
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
        .map(({ status, n }) => ({ status, count: n }))
        .sort((a, b) =>
          a.status === b.status ? 0 : a.status === null ? 1 : b.status === null ? -1 : a.status < b.status ? -1 : 1,
        );
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

/** A {@link ClaimQuery} as the claim statements bind it. */
/** Named parameters of the filtered entity listing; `null`: no such filter. */
interface EntityFilter {
  machine: string;
  after: string | null;
  prefix: string | null;
  status: string | null;
  limit: number;
}

interface ClaimParams {
  readonly owner: string;
  readonly now: number;
  readonly leaseUntil: number;
  readonly limit: number;
}

/** The claim's parameters, or undefined when it asks for no rows (LIMIT -1 would mean all). */
function claimParams(query: ClaimQuery): ClaimParams | undefined {
  const limit = Math.floor(query.limit);
  if (!(limit > 0)) return undefined;
  return { owner: query.owner, now: query.now, leaseUntil: query.now + query.leaseMs, limit };
}

/** Open the file in WAL mode and migrate it; every failure becomes one clear error. */
function connect({ path, synchronous, busyTimeout }: Required<SqliteStoreOptions>): {
  db: Database.Database;
  migration: MigrationReport;
} {
  let db: Database.Database | undefined;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { timeout: busyTimeout });
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal" && path !== ":memory:") {
      throw new Error(`SQLite refused WAL mode (journal_mode is ${String(mode)}); put the file on a local disk`);
    }
    db.pragma(`synchronous = ${synchronous}`);
    // Savepoints (one per step of a batch that has to be retried step by step) keep their undo
    // pages in memory instead of spilling them to temporary files.
    db.pragma("temp_store = MEMORY");
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    return { db, migration: migrate(db, path) };
  } catch (error) {
    db?.close();
    if (error instanceof ConfigurationError) throw error;
    throw cannotOpen(error, path);
  }
}

/** Every statement the store runs, compiled once per connection. */
interface Statements {
  readonly schemaVersion: Database.Statement<[], number | null>;
  readonly journalMode: Database.Statement<[], string>;
  /** 1 for NORMAL, 2 for FULL. */
  readonly synchronous: Database.Statement<[], number>;
  readonly load: Database.Statement<[machine: string, id: string, eventId: string], LoadRow>;
  readonly entity: Database.Statement<[machine: string, id: string], EntityRow>;
  readonly version: Database.Statement<[machine: string, id: string], number>;
  readonly inbox: Database.Statement<[eventId: string], InboxRow>;
  readonly createEntity: Database.Statement<
    [machine: string, id: string, state: string, createdAt: number, updatedAt: number]
  >;
  readonly updateEntity: Database.Statement<
    [state: string, updatedAt: number, machine: string, id: string, expectedVersion: number]
  >;
  readonly insertJournal: Database.Statement<
    [
      machine: string,
      id: string,
      version: number,
      eventId: string,
      event: string,
      decision: string,
      intents: string,
      at: number,
    ]
  >;
  readonly insertInbox: Database.Statement<
    [eventId: string, machine: string, id: string, fingerprint: string, result: string, at: number]
  >;
  readonly insertOutbox: Database.Statement<
    [
      intentId: string,
      machine: string,
      entityId: string,
      intent: string,
      status: string,
      nextAttemptAt: number,
      createdAt: number,
    ]
  >;
  readonly insertTimer: Database.Statement<
    [timerId: string, machine: string, entityId: string, event: string, dueAt: number, nextAttemptAt: number]
  >;
  readonly entities: Database.Statement<[machine: string, limit: number], EntityRow>;
  readonly entitiesAfter: Database.Statement<[machine: string, after: string, limit: number], EntityRow>;
  readonly entitiesFiltered: Database.Statement<[EntityFilter], EntityRow>;
  readonly entityCounts: Database.Statement<[machine: string], { status: string | null; n: number }>;
  readonly journal: Database.Statement<[machine: string, id: string], JournalRow>;
  readonly outbox: Database.Statement<[limit: number], OutboxRow>;
  readonly outboxByStatus: Database.Statement<[status: string, limit: number], OutboxRow>;
  readonly outboxRow: Database.Statement<[intentId: string], OutboxRow>;
  readonly outboxStats: Database.Statement<[], { status: string; n: number }>;
  readonly timers: Database.Statement<[], TimerRow>;
  readonly claimOutbox: Database.Statement<[ClaimParams], ClaimedOutboxRow>;
  readonly completeOutbox: Database.Statement<[intentId: string, owner: string]>;
  readonly retryOutbox: Database.Statement<[retryAt: number, error: string, intentId: string, owner: string]>;
  readonly buryOutbox: Database.Statement<[error: string, intentId: string, owner: string]>;
  readonly reviveOutbox: Database.Statement<[now: number, intentId: string]>;
  readonly claimTimers: Database.Statement<[ClaimParams], ClaimedTimerRow>;
  readonly completeTimer: Database.Statement<[timerId: string, owner: string]>;
  readonly retryTimer: Database.Statement<[retryAt: number, error: string, timerId: string, owner: string]>;
}

function prepare(db: Database.Database): Statements {
  const entityColumns = "machine, id, version, state, created_at, updated_at";
  const outboxColumns =
    "intent_id, machine, entity_id, intent, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at";
  const timerColumns =
    "timer_id, machine, entity_id, event, due_at, status, attempts, next_attempt_at, lease_owner, lease_until, last_error";
  // Statuses are literals in the SQL: the partial index outbox_pending_by_entity only serves
  // a query whose WHERE names its status literally.
  const pending = `'${OutboxStatus.Pending}'`;
  const done = `'${OutboxStatus.Done}'`;
  const dead = `'${OutboxStatus.Dead}'`;
  const timerPending = `'${TimerStatus.Pending}'`;
  const fired = `'${TimerStatus.Fired}'`;
  return Object.freeze({
    schemaVersion: db.prepare<[], number | null>("SELECT max(version) FROM drover_migrations").pluck(),
    journalMode: db.prepare<[], string>("PRAGMA journal_mode").pluck(),
    synchronous: db.prepare<[], number>("PRAGMA synchronous").pluck(),
    // Always one row: the LEFT JOINs leave the columns of what is missing NULL.
    load: db.prepare<[string, string, string], LoadRow>(
      `SELECT e.version, e.state, e.created_at, e.updated_at,
              i.machine AS inbox_machine, i.id AS inbox_id, i.fingerprint, i.result, i.at
         FROM (SELECT 1) AS one
         LEFT JOIN entities AS e ON e.machine = ? AND e.id = ?
         LEFT JOIN inbox AS i ON i.event_id = ?`,
    ),
    entity: db.prepare<[string, string], EntityRow>(
      `SELECT ${entityColumns} FROM entities WHERE machine = ? AND id = ?`,
    ),
    version: db.prepare<[string, string], number>("SELECT version FROM entities WHERE machine = ? AND id = ?").pluck(),
    inbox: db.prepare<[string], InboxRow>(
      "SELECT event_id, machine, id, fingerprint, result, at FROM inbox WHERE event_id = ?",
    ),
    createEntity: db.prepare<[string, string, string, number, number]>(
      `INSERT INTO entities (${entityColumns}) VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    updateEntity: db.prepare<[string, number, string, string, number]>(
      "UPDATE entities SET version = version + 1, state = ?, updated_at = ? WHERE machine = ? AND id = ? AND version = ?",
    ),
    insertJournal: db.prepare<[string, string, number, string, string, string, string, number]>(
      "INSERT INTO journal (machine, id, version, event_id, event, decision, intents, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    insertInbox: db.prepare<[string, string, string, string, string, number]>(
      "INSERT INTO inbox (event_id, machine, id, fingerprint, result, at) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    insertOutbox: db.prepare<[string, string, string, string, string, number, number]>(
      `INSERT INTO outbox (${outboxColumns}) VALUES (?, ?, ?, ?, ?, 0, ?, NULL, NULL, NULL, ?)`,
    ),
    // A timer is first claimable when it is due.
    insertTimer: db.prepare<[string, string, string, string, number, number]>(
      `INSERT INTO timers (${timerColumns}) VALUES (?, ?, ?, ?, ?, ${timerPending}, 0, ?, NULL, NULL, NULL)`,
    ),
    entities: db.prepare<[string, number], EntityRow>(
      `SELECT ${entityColumns} FROM entities WHERE machine = ? ORDER BY id LIMIT ?`,
    ),
    entitiesAfter: db.prepare<[string, string, number], EntityRow>(
      `SELECT ${entityColumns} FROM entities WHERE machine = ? AND id > ? ORDER BY id LIMIT ?`,
    ),
    // Range bounds on id keep the primary key usable; substr() does the exact prefix test.
    entitiesFiltered: db.prepare<[EntityFilter], EntityRow>(
      `SELECT ${entityColumns} FROM entities
        WHERE machine = @machine AND id > coalesce(@after, '') AND id >= coalesce(@prefix, '')
          AND (@prefix IS NULL OR substr(id, 1, length(@prefix)) = @prefix)
          AND (@status IS NULL OR (json_type(state, '$.status') = 'text' AND json_extract(state, '$.status') = @status))
        ORDER BY id LIMIT @limit`,
    ),
    entityCounts: db.prepare<[string], { status: string | null; n: number }>(
      `SELECT CASE WHEN json_type(state, '$.status') = 'text' THEN json_extract(state, '$.status') END AS status,
              count(*) AS n
         FROM entities WHERE machine = ? GROUP BY 1`,
    ),
    journal: db.prepare<[string, string], JournalRow>(
      "SELECT machine, id, version, event_id, event, decision, intents, at FROM journal WHERE machine = ? AND id = ? ORDER BY version",
    ),
    outbox: db.prepare<[number], OutboxRow>(`SELECT ${outboxColumns} FROM outbox ORDER BY seq LIMIT ?`),
    outboxByStatus: db.prepare<[string, number], OutboxRow>(
      `SELECT ${outboxColumns} FROM outbox WHERE status = ? ORDER BY seq LIMIT ?`,
    ),
    outboxRow: db.prepare<[string], OutboxRow>(`SELECT ${outboxColumns} FROM outbox WHERE intent_id = ?`),
    outboxStats: db.prepare<[], { status: string; n: number }>(
      "SELECT status, count(*) AS n FROM outbox GROUP BY status",
    ),
    // Equal due times keep commit order, as the reference store does.
    timers: db.prepare<[], TimerRow>(`SELECT ${timerColumns} FROM timers ORDER BY due_at, rowid`),
    // Due, unleased (or lease expired), and no older pending row of the same entity, whether
    // that one is due, leased or backing off: an entity's intents run in commit order. The IN
    // list is computed before any row changes.
    claimOutbox: db.prepare<[ClaimParams], ClaimedOutboxRow>(
      `UPDATE outbox SET attempts = attempts + 1, lease_owner = @owner, lease_until = @leaseUntil
        WHERE seq IN (
          SELECT o.seq FROM outbox AS o
           WHERE o.status = ${pending} AND o.next_attempt_at <= @now
             AND (o.lease_until IS NULL OR o.lease_until <= @now)
             AND NOT EXISTS (
               SELECT 1 FROM outbox AS older
                WHERE older.status = ${pending} AND older.machine = o.machine
                  AND older.entity_id = o.entity_id AND older.seq < o.seq)
           ORDER BY o.seq LIMIT @limit)
        RETURNING seq, ${outboxColumns}`,
    ),
    completeOutbox: db.prepare<[string, string]>(
      `UPDATE outbox SET status = ${done}, lease_owner = NULL, lease_until = NULL
        WHERE intent_id = ? AND lease_owner = ? AND status = ${pending}`,
    ),
    retryOutbox: db.prepare<[number, string, string, string]>(
      `UPDATE outbox SET next_attempt_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
        WHERE intent_id = ? AND lease_owner = ? AND status = ${pending}`,
    ),
    buryOutbox: db.prepare<[string, string, string]>(
      `UPDATE outbox SET status = ${dead}, last_error = ?, lease_owner = NULL, lease_until = NULL
        WHERE intent_id = ? AND lease_owner = ? AND status = ${pending}`,
    ),
    // The last error stays, to show what killed the row before.
    reviveOutbox: db.prepare<[number, string]>(
      `UPDATE outbox SET status = ${pending}, attempts = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
        WHERE intent_id = ? AND status = ${dead}`,
    ),
    claimTimers: db.prepare<[ClaimParams], ClaimedTimerRow>(
      `UPDATE timers SET attempts = attempts + 1, lease_owner = @owner, lease_until = @leaseUntil
        WHERE rowid IN (
          SELECT rowid FROM timers
           WHERE status = ${timerPending} AND next_attempt_at <= @now
             AND (lease_until IS NULL OR lease_until <= @now)
           ORDER BY due_at, rowid LIMIT @limit)
        RETURNING rowid AS seq, ${timerColumns}`,
    ),
    completeTimer: db.prepare<[string, string]>(
      `UPDATE timers SET status = ${fired}, lease_owner = NULL, lease_until = NULL
        WHERE timer_id = ? AND lease_owner = ? AND status = ${timerPending}`,
    ),
    retryTimer: db.prepare<[number, string, string, string]>(
      `UPDATE timers SET next_attempt_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
        WHERE timer_id = ? AND lease_owner = ? AND status = ${timerPending}`,
    ),
  });
}
