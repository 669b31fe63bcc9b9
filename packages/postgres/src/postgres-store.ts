import { randomUUID } from "node:crypto";
import type * as port from "@drover/core";
import { ConfigurationError, type Json, type OutboxStatus, type TimerStatus } from "@drover/core";
import type * as sql from "@drover/core/sql";
import { refundOf } from "@drover/core/sql";
import type pg from "pg";
import type { PostgresStoreInfo, PostgresStoreOptions, Settings } from "./connection.js";
import { clientConfig, codeOf, createDatabase, describeServer, settingsOf, watchClient } from "./connection.js";
import { ConnectionPool } from "./connection-pool.js";
import { channelFor, quoteIdent } from "./identifiers.js";
import { PostgresIntentControls } from "./intent-controls.js";
import type { MigrationReport } from "./migrations.js";
import { migrate } from "./migrations.js";
import { NotificationListener } from "./notifications.js";
import { WRITE_PROBE } from "./probe.js";
import { rows } from "./rows.js";
import { commitOneStatement } from "./single-step.js";
import { rewriteStates } from "./state-rewrites.js";
import type { Statement, Statements } from "./statements.js";
import { buildStatements, claimValues } from "./statements.js";
import { StepWriter } from "./step-writer.js";
import { PostgresTokenVault } from "./token-vault.js";
import { cannotOpen } from "./unavailable.js";

/**
 * The scale-out {@link port.Store | Store}: PostgreSQL through node-postgres (`pg`), shared by any number of
 * drover processes. Per-entity correctness comes from version checks, claims from `FOR UPDATE
 * SKIP LOCKED`, and `watch` wakes dispatchers of other processes through LISTEN/NOTIFY.
 *
 * The hot path is two round trips per batch of steps: the loads asked for in one turn of the
 * event loop are read in one query, and a {@link PostgresStore.commit} of many steps (group
 * commit) is one call of the schema's `drover_commit` function, so one transaction. Should
 * that call fail, the steps are applied one by one, each in its own savepoint, so a failing
 * step fails alone. Opening creates the schema if needed and applies pending migrations under
 * an advisory lock.
 *
 * @example
 * const store = await PostgresStore.open({ url: "postgres://postgres@127.0.0.1:5432/drover" });
 * const runtime = new Runtime({ store, machines: [doors] });
 * await runtime.run({ machine: "doors", id: "door_1" }, { type: "Install" });
 * await store.close();
 */
export class PostgresStore implements port.Store {
  readonly #settings: Settings;
  readonly #where: string;
  readonly #db: ConnectionPool;
  readonly #sql: Statements;
  readonly #steps: StepWriter;
  readonly #controls: PostgresIntentControls;
  readonly #channel: string;
  readonly #listener: NotificationListener;
  /**
   * Two batches in flight: one commits on one pooled connection while the runtime decides the
   * next (see {@link port.UnitOfWork.commitConcurrency}). One with a pool of fewer than three
   * connections, to leave one for loads and reads.
   */
  readonly commitConcurrency: number;
  /** The HTTP API's tokens, in the schema's `api_tokens`: shared by every process on the schema. */
  readonly tokenVault: PostgresTokenVault;
  #migration: MigrationReport = { from: 0, to: 0, applied: [] };

  private constructor(settings: Settings) {
    this.#settings = settings;
    this.#where = describeServer(settings);
    this.#channel = channelFor(settings.schema);
    this.commitConcurrency = settings.poolSize >= 3 ? 2 : 1;
    // Our own notifications carry our name, so our own listener can ignore them.
    const self = randomUUID();
    this.#sql = buildStatements(settings.schema, { channel: this.#channel, payload: self });
    this.#db = new ConnectionPool(settings, this.#where);
    this.#steps = new StepWriter(
      this.#db,
      this.#sql,
      commitOneStatement(settings.schema, quoteIdent(settings.schema), {
        channel: this.#channel,
        payload: self,
      }),
    );
    this.#controls = new PostgresIntentControls(this.#db, this.#sql);
    this.tokenVault = new PostgresTokenVault(this.#db, settings.schema, this.#where);
    this.#listener = new NotificationListener(clientConfig(settings), this.#channel, self);
  }

  /**
   * Connect, create the schema if missing and migrate it.
   *
   * @throws {StoreUnavailableError} the server cannot be reached or refuses us; the message says what to do.
   * @throws {ConfigurationError} bad options, or a schema written by a newer @drover/postgres.
   *
   * @example
   * const store = await PostgresStore.open({
   *   connection: { host: "127.0.0.1", user: "postgres", database: "drover" },
   *   schema: "payments",
   *   poolSize: 20,
   * });
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(settingsOf(options));
    try {
      await store.#prepare();
      return store;
    } catch (error) {
      await store.close();
      if (error instanceof ConfigurationError) throw error;
      throw cannotOpen(error, store.#where);
    }
  }

  async #prepare(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.#db.pool.connect();
    } catch (error) {
      if (!this.#settings.createDatabase || codeOf(error) !== "3D000") throw error;
      await createDatabase(this.#settings, this.#where, error);
      client = await this.#db.pool.connect();
    }
    const failure = watchClient(client);
    try {
      this.#migration = await migrate(client, this.#settings.schema);
    } finally {
      client.release(failure.error);
    }
  }

  /** What opening did to the schema: the version before and after, and the migrations applied. */
  get migration(): MigrationReport {
    return this.#migration;
  }

  /** Server, schema, schema version and channel of the store, for health checks and diagnostics. */
  async info(): Promise<PostgresStoreInfo> {
    const [[version], [server]] = await Promise.all([
      this.#read<{ v: number | null }>("reading the schema version", this.#sql.schemaVersion, []),
      this.#read<{ server_version: string; plan_cache_mode: string }>("reading the settings", this.#sql.settings, []),
    ]);
    return {
      server: this.#where,
      serverVersion: server?.server_version ?? "unknown",
      planCacheMode: server?.plan_cache_mode ?? "unknown",
      schema: this.#settings.schema,
      schemaVersion: version?.v ?? 0,
      channel: this.#channel,
      poolSize: this.#settings.poolSize,
    };
  }

  /**
   * Commit one transaction that writes only its commit record (probe.ts): throws a
   * `StoreUnavailableError` while PostgreSQL cannot commit. A dead pooled connection is
   * replaced and the probe tried once more, so a restarted server is seen as up at once.
   */
  async probe(): Promise<void> {
    await this.#db.read("probing with a write", WRITE_PROBE, []);
  }

  /** Loads asked for in the same turn of the event loop are read together, in one query. */
  async load(ref: port.EntityRef, eventId: string): Promise<port.LoadResult> {
    return this.#steps.load(ref, eventId);
  }

  async commit(steps: readonly port.StepWrite[]): Promise<port.CommitOutcome[]> {
    return this.#steps.commit(steps);
  }

  /** Stored states rewritten at a newer state version, in one transaction (see state-rewrites.ts). */
  async rewriteStates(rewrites: readonly port.StateRewrite[]): Promise<boolean[]> {
    return rewriteStates(this.#db, this.#sql, rewrites);
  }

  async getEntity(ref: port.EntityRef): Promise<port.StoredEntity | undefined> {
    const [row] = await this.#read<sql.EntityRow<Json>>("reading an entity", this.#sql.entity, [ref.machine, ref.id]);
    return row === undefined ? undefined : rows.toEntity(row);
  }

  async listEntities(machine: string, query: port.ListQuery): Promise<port.StoredEntity[]> {
    const limit = Math.max(0, Math.floor(query.limit));
    const filtered = query.idPrefix !== undefined || query.stateName !== undefined;
    const [statement, values] = filtered
      ? [
          this.#sql.entitiesFiltered,
          [machine, query.after ?? null, query.idPrefix ?? null, query.stateName ?? null, limit],
        ]
      : query.after === undefined
        ? [this.#sql.entities, [machine, limit]]
        : [this.#sql.entitiesAfter, [machine, query.after, limit]];
    return (await this.#read<sql.EntityRow<Json>>("listing entities", statement, values)).map(rows.toEntity);
  }

  async countEntities(machine: string): Promise<port.EntityCount[]> {
    return rows.toEntityCounts(
      await this.#read<sql.StateNameCountRow>("counting entities", this.#sql.entityCounts, [machine]),
    );
  }

  async countStateVersions(machine: string): Promise<port.StateVersionCount[]> {
    return rows.toStateVersionCounts(
      await this.#read<sql.StateVersionCountRow>("counting state versions", this.#sql.stateVersionCounts, [machine]),
    );
  }

  async history(ref: port.EntityRef): Promise<port.JournalEntry[]> {
    const found = await this.#read<sql.JournalRow<Json>>("reading a journal", this.#sql.journal, [ref.machine, ref.id]);
    return found.map(rows.toJournalEntry);
  }

  async findInbox(eventId: string): Promise<port.InboxRecord | undefined> {
    const [row] = await this.#read<sql.InboxRow<Json>>("reading the inbox", this.#sql.inbox, [eventId]);
    return row === undefined ? undefined : rows.toInbox(row);
  }

  async listOutbox(query: port.OutboxQuery = {}): Promise<port.OutboxRecord[]> {
    const limit = query.limit === undefined ? null : Math.max(0, Math.floor(query.limit));
    const [statement, values] =
      query.status === undefined ? [this.#sql.outbox, [limit]] : [this.#sql.outboxByStatus, [query.status, limit]];
    return (await this.#read<sql.OutboxRow<Json>>("listing the outbox", statement, values)).map(rows.toOutbox);
  }

  async findOutbox(intentId: string): Promise<port.OutboxRecord | undefined> {
    const [row] = await this.#read<sql.OutboxRow<Json>>("reading the outbox", this.#sql.outboxRow, [intentId]);
    return row === undefined ? undefined : rows.toOutbox(row);
  }

  async outboxStats(): Promise<Record<OutboxStatus, number>> {
    return rows.toOutboxStats(await this.#read<sql.StatusCountRow>("counting the outbox", this.#sql.outboxStats, []));
  }

  async listTimers(query: port.TimerQuery = {}): Promise<port.TimerRecord[]> {
    const limit = query.limit === undefined ? null : Math.max(0, Math.floor(query.limit));
    const { status = null, entity } = query;
    const values = [status, entity?.machine ?? null, entity?.id ?? null, limit];
    return (await this.#read<sql.TimerRow<Json>>("listing timers", this.#sql.timers, values)).map(rows.toTimer);
  }

  async findTimer(timerId: string): Promise<port.TimerRecord | undefined> {
    const [row] = await this.#read<sql.TimerRow<Json>>("reading a timer", this.#sql.timerRow, [timerId]);
    return row === undefined ? undefined : rows.toTimer(row);
  }

  async timerStats(): Promise<Record<TimerStatus, number>> {
    return rows.toTimerStats(await this.#read<sql.StatusCountRow>("counting timers", this.#sql.timerStats, []));
  }

  async claimOutbox(query: port.ClaimQuery): Promise<port.OutboxRecord[]> {
    const claimed = await this.#claim<sql.OutboxRow<Json>>("claiming outbox rows", this.#sql.claimOutbox, query);
    return rows.fromClaimedOutbox(claimed);
  }

  async completeOutbox(intentId: string, owner: string, _now: number): Promise<boolean> {
    return this.#changed("completing an outbox row", this.#sql.completeOutbox, [intentId, owner]);
  }

  async failOutbox(intentId: string, owner: string, failure: port.AttemptFailure): Promise<boolean> {
    const [statement, values] =
      failure.retryAt === null
        ? [this.#sql.buryOutbox, [failure.error, intentId, owner]]
        : [this.#sql.retryOutbox, [failure.retryAt, failure.error, refundOf(failure), intentId, owner]];
    return this.#changed("recording a failed outbox attempt", statement, values);
  }

  async retryDead(intentId: string, now: number): Promise<boolean> {
    return this.#changed("retrying a dead outbox row", this.#sql.reviveOutbox, [now, intentId]);
  }

  async renewOutboxLeases(owner: string, intentIds: readonly string[], until: number): Promise<string[]> {
    if (intentIds.length === 0) return [];
    const held = await this.#db.write<{ id: string }>("renewing outbox leases", this.#sql.renewOutboxLeases, [
      until,
      owner,
      intentIds,
    ]);
    return held.rows.map((row) => row.id);
  }

  async renewTimerLeases(owner: string, timerIds: readonly string[], until: number): Promise<string[]> {
    if (timerIds.length === 0) return [];
    const held = await this.#db.write<{ id: string }>("renewing timer leases", this.#sql.renewTimerLeases, [
      until,
      owner,
      timerIds,
    ]);
    return held.rows.map((row) => row.id);
  }

  /** Both tables in one statement, at start; other processes are woken (see {@link port.WorkQueue.releaseLeases}). */
  async releaseLeases(release: port.LeaseRelease): Promise<port.ReleasedLeases> {
    const result = await this.#db.write<{ outbox: number; timers: number }>(
      "releasing the leases of an earlier incarnation",
      this.#sql.releaseLeases,
      [release.ownerPrefix, release.keepPrefix],
    );
    const [row] = result.rows;
    return { outbox: row?.outbox ?? 0, timers: row?.timers ?? 0 };
  }

  async claimTimers(query: port.ClaimQuery): Promise<port.TimerRecord[]> {
    return rows.fromClaimedTimers(
      await this.#claim<sql.TimerRow<Json>>("claiming timers", this.#sql.claimTimers, query),
    );
  }

  async completeTimer(timerId: string, owner: string, _now: number): Promise<boolean> {
    return this.#changed("completing a timer", this.#sql.completeTimer, [timerId, owner]);
  }

  async failTimer(timerId: string, owner: string, failure: port.AttemptFailure): Promise<boolean> {
    const [statement, values] =
      failure.retryAt === null
        ? [this.#sql.buryTimer, [failure.error, refundOf(failure), timerId, owner]]
        : [this.#sql.retryTimer, [failure.retryAt, failure.error, refundOf(failure), timerId, owner]];
    return this.#changed("recording a failed timer firing", statement, values);
  }

  async retryDeadTimer(timerId: string, now: number): Promise<boolean> {
    return this.#changed("retrying a dead timer", this.#sql.reviveTimer, [now, timerId]);
  }

  /** Paused in the schema's `paused_intent_types`: every process's next claim skips the type. */
  async pauseIntentType(intentType: string, now: number): Promise<boolean> {
    return this.#controls.pause(intentType, now);
  }

  /** Resumed for every process; the other processes' dispatchers are woken (see {@link watch}). */
  async resumeIntentType(intentType: string): Promise<boolean> {
    return this.#controls.resume(intentType);
  }

  async listPausedIntentTypes(): Promise<port.PausedIntentType[]> {
    return this.#controls.paused();
  }

  /** One call of the schema's `drover_acquire_slot`, which queues the key's acquirers of every process on one lock. */
  async acquireSlot(request: port.SlotRequest): Promise<boolean> {
    return this.#controls.acquire(request);
  }

  async releaseSlot(key: string, holder: string): Promise<void> {
    await this.#controls.release(key, holder);
  }

  /** One call of the schema's `drover_take_token`, which locks the bucket's row. */
  async takeToken(request: port.TokenRequest): Promise<number> {
    return this.#controls.take(request);
  }

  /**
   * Call `listener` when another process (or another store) commits outbox rows or timers to
   * this schema: commits send `pg_notify` on the schema's channel, and a dedicated connection
   * LISTENs to it, reconnecting by itself. After a reconnection the listener is called once,
   * since notices sent meanwhile are lost. Returns the function that stops listening.
   */
  watch(listener: () => void): () => void {
    this.#db.live();
    return this.#listener.add(listener);
  }

  /** Close the pool and the LISTEN connection, after the calls in flight. Calling it again does nothing. */
  async close(): Promise<void> {
    if (this.#db.closed) return;
    await Promise.all([this.#listener.close(), this.#db.end()]);
  }

  /** The rows of a read (the pool refuses on a closed store and translates failures). */
  async #read<R extends pg.QueryResultRow>(action: string, statement: Statement, values: unknown[]): Promise<R[]> {
    return (await this.#db.read<R>(action, statement, values)).rows;
  }

  /** Claim up to the query's limit in one statement; a limit below one claims nothing and touches no row. */
  async #claim<R extends pg.QueryResultRow>(
    action: string,
    statement: Statement,
    query: port.ClaimQuery,
  ): Promise<sql.Claimed<R>[]> {
    this.#db.live();
    const values = claimValues(query);
    if (values === undefined) return [];
    return (await this.#db.write<sql.Claimed<R>>(action, statement, values)).rows;
  }

  /** Whether a write other than commit changed a row. */
  async #changed(action: string, statement: Statement, values: unknown[]): Promise<boolean> {
    const result = await this.#db.write(action, statement, values);
    return (result.rowCount ?? 0) > 0;
  }
}
