import type { PausedIntentType, SlotRequest, TokenRequest } from "@drover/core";
import type { ConnectionPool } from "./connection-pool.js";
import type { Statements } from "./statements.js";

/**
 * The intent controls (`IntentControls` of `@drover/core`) of the `PostgresStore`, kept in the schema so that
 * every process on it shares them: paused intent types, concurrency slots and token buckets.
 */
export class PostgresIntentControls {
  readonly #db: ConnectionPool;
  readonly #sql: Statements;

  constructor(db: ConnectionPool, statements: Statements) {
    this.#db = db;
    this.#sql = statements;
  }

  /** Paused in the schema's `paused_intent_types`: every process's next claim skips the type. */
  async pause(intentType: string, now: number): Promise<boolean> {
    const result = await this.#db.write("pausing an intent type", this.#sql.pauseIntentType, [intentType, now]);
    return (result.rowCount ?? 0) > 0;
  }

  /** Resumed for every process; the other processes' dispatchers are woken (see `PostgresStore.watch`). */
  async resume(intentType: string): Promise<boolean> {
    const result = await this.#db.write<{ n: number }>("resuming an intent type", this.#sql.resumeIntentType, [
      intentType,
    ]);
    return (result.rows[0]?.n ?? 0) > 0;
  }

  async paused(): Promise<PausedIntentType[]> {
    const found = await this.#db.read<{ intent_type: string; paused_at: number }>(
      "listing paused intent types",
      this.#sql.pausedIntentTypes,
      [],
    );
    return found.rows.map((row) => ({ intentType: row.intent_type, pausedAt: row.paused_at }));
  }

  /** One call of the schema's `drover_acquire_slot`, which queues the key's acquirers of every process on one lock. */
  async acquire(request: SlotRequest): Promise<boolean> {
    const { key, limit, holder, owner, now, leaseMs } = request;
    const result = await this.#db.write<{ held: boolean }>("acquiring a concurrency slot", this.#sql.acquireSlot, [
      key,
      Math.min(2_147_483_647, Math.max(0, Math.floor(limit))),
      holder,
      owner,
      now,
      now + leaseMs,
    ]);
    return result.rows[0]?.held === true;
  }

  async release(key: string, holder: string): Promise<void> {
    await this.#db.write("releasing a concurrency slot", this.#sql.releaseSlot, [key, holder]);
  }

  /** One call of the schema's `drover_take_token`, which locks the bucket's row. */
  async take(request: TokenRequest): Promise<number> {
    const burst = Math.max(1, request.burst ?? request.perSecond);
    const result = await this.#db.write<{ wait: number }>("taking a rate-limit token", this.#sql.takeToken, [
      request.key,
      request.perSecond,
      burst,
      request.now,
    ]);
    return result.rows[0]?.wait ?? 0;
  }
}
