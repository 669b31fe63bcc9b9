import type * as port from "@drover/core";
import { CommitOutcomeKind, DecisionKind, type Json } from "@drover/core";
import type * as sql from "@drover/core/sql";
import type pg from "pg";
import { codeOf, constraintOf, UNIQUE_VIOLATION } from "./connection.js";
import type { ConnectionPool } from "./connection-pool.js";
import type { LoadRequest } from "./group-loader.js";
import { GroupLoader } from "./group-loader.js";
import type { StepRow } from "./rows.js";
import { rows } from "./rows.js";
import { commitOneValues } from "./single-step.js";
import type { Statement, Statements } from "./statements.js";
import type { Prepared } from "./step-batch.js";
import { COMMITTED, commitValues, distinctEvents, outcomesOf, prepare, RETRYABLE } from "./step-batch.js";
import { isUnavailable } from "./unavailable.js";

/** The most loads read in one query. */
const MAX_LOAD_BATCH = 256;

/**
 * The hot path of the `PostgresStore`: loads and commits of steps. The loads asked for in one
 * turn of the event loop are read in one query, and a commit of many steps (group commit) is
 * one call of the schema's `drover_commit` function, so one transaction. Should that call
 * fail, the steps are applied one by one, each in its own savepoint, so a failing step fails alone.
 */
export class StepWriter {
  readonly #db: ConnectionPool;
  readonly #sql: Statements;
  readonly #commitOne: Statement;
  readonly #loader = new GroupLoader((batch) => this.#loadMany(batch), MAX_LOAD_BATCH);

  constructor(db: ConnectionPool, statements: Statements, commitOne: Statement) {
    this.#db = db;
    this.#sql = statements;
    this.#commitOne = commitOne;
  }

  /** Loads asked for in the same turn of the event loop are read together, in one query. */
  async load(ref: port.EntityRef, eventId: string): Promise<port.LoadResult> {
    this.#db.live();
    return this.#loader.load(ref, eventId);
  }

  async #loadMany(batch: readonly LoadRequest[]): Promise<port.LoadResult[]> {
    const [only] = batch;
    if (batch.length === 1 && only !== undefined) {
      const [row] = await this.#read<sql.LoadRow<Json>>("loading an entity", this.#sql.load, [
        only.ref.machine,
        only.ref.id,
        only.eventId,
      ]);
      return [
        row === undefined ? { entity: undefined, inbox: undefined } : rows.fromLoadRow(row, only.ref, only.eventId),
      ];
    }
    const found = await this.#read<sql.LoadRow<Json>>("loading entities", this.#sql.loadMany, [
      batch.map((item) => item.ref.machine),
      batch.map((item) => item.ref.id),
      batch.map((item) => item.eventId),
    ]);
    return batch.map((item, i) => {
      const row = found[i];
      if (row === undefined) throw new Error("drover_load returned fewer rows than asked");
      return rows.fromLoadRow(row, item.ref, item.eventId);
    });
  }

  async commit(steps: readonly port.StepWrite[]): Promise<port.CommitOutcome[]> {
    this.#db.live();
    if (steps.length === 0) return [];
    const outcomes: (port.CommitOutcome | undefined)[] = [];
    const batch: Prepared[] = [];
    steps.forEach((step, index) => {
      try {
        batch.push(prepare(step, index));
      } catch (error) {
        // A value JSON refuses fails its step alone, before anything is sent.
        outcomes[index] = { kind: CommitOutcomeKind.Failed, error };
      }
    });
    if (batch.length > 0) {
      const done = await this.#db.withClient("committing", (client) => this.#commitBatch(client, batch));
      batch.forEach((item, i) => {
        outcomes[item.index] = done[i];
      });
    }
    return steps.map(
      (_, index) => outcomes[index] ?? { kind: CommitOutcomeKind.Failed, error: new Error("no outcome") },
    );
  }

  /** The whole batch in one call; step by step, in savepoints, if that fails or event ids repeat. */
  async #commitBatch(client: pg.PoolClient, batch: readonly Prepared[]): Promise<port.CommitOutcome[]> {
    const [only] = batch;
    if (batch.length === 1 && only !== undefined && (await this.#commitAlone(client, only))) return [COMMITTED];
    if (distinctEvents(batch)) {
      try {
        return outcomesOf(batch, await this.#call(client, batch));
      } catch (error) {
        if (isUnavailable(error)) throw error;
        // The call was its own transaction: nothing of it was written.
        const [only] = batch;
        if (batch.length === 1 && only !== undefined) return [await this.#failure(client, only, error)];
      }
    }
    return this.#commitEach(client, batch);
  }

  /**
   * A lone accepted step in one call of `drover_commit_one` (single-step.ts): `true` when it was written.
   * `false` sends it on to `drover_commit`, which tells a conflict from a duplicate: the step
   * was not written (another version, an existing entity) or the statement failed (another
   * writer's inbox row for the event id, say) and so wrote nothing.
   */
  async #commitAlone(client: pg.PoolClient, item: Prepared): Promise<boolean> {
    const { step } = item;
    if (step.kind !== DecisionKind.Accepted) return false;
    try {
      const result = await client.query<{ written: boolean }>({
        ...this.#commitOne,
        values: commitOneValues(item, step),
      });
      return result.rows[0]?.written === true;
    } catch (error) {
      if (isUnavailable(error)) throw error;
      return false;
    }
  }

  /** One transaction, one savepoint per step: a failing step is rolled back alone. */
  async #commitEach(client: pg.PoolClient, batch: readonly Prepared[]): Promise<port.CommitOutcome[]> {
    await client.query("BEGIN");
    try {
      const outcomes: port.CommitOutcome[] = [];
      for (const item of batch) {
        await client.query("SAVEPOINT step");
        try {
          outcomes.push(...outcomesOf([item], await this.#call(client, [item])));
          await client.query("RELEASE SAVEPOINT step");
        } catch (error) {
          if (isUnavailable(error)) throw error;
          await client.query("ROLLBACK TO SAVEPOINT step");
          outcomes.push(await this.#failure(client, item, error));
        }
      }
      await client.query("COMMIT");
      return outcomes;
    } catch (error) {
      // If even ROLLBACK fails the connection is gone, and with it the transaction.
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  }

  async #call(client: pg.PoolClient, batch: readonly Prepared[]): Promise<StepRow[]> {
    const result = await client.query<StepRow>({ ...this.#sql.commit, values: commitValues(batch) });
    return result.rows;
  }

  /** What a step's error means: another writer's inbox row is a duplicate, a lock trouble a conflict. */
  async #failure(client: pg.PoolClient, item: Prepared, error: unknown): Promise<port.CommitOutcome> {
    const code = codeOf(error);
    if (code === UNIQUE_VIOLATION && constraintOf(error) === "inbox_pkey") {
      const found = await client.query<sql.InboxRow<Json>>({ ...this.#sql.inbox, values: [item.step.eventId] });
      const row = found.rows[0];
      if (row !== undefined) return { kind: CommitOutcomeKind.Duplicate, record: rows.toInbox(row) };
    }
    if (code !== undefined && RETRYABLE.has(code)) {
      const { machine, id } = item.step.ref;
      const found = await client.query<{ version: number }>({ ...this.#sql.version, values: [machine, id] });
      return { kind: CommitOutcomeKind.Conflict, currentVersion: found.rows[0]?.version ?? 0 };
    }
    return { kind: CommitOutcomeKind.Failed, error };
  }

  /** The rows of a read (the pool refuses on a closed store and translates failures). */
  async #read<R extends pg.QueryResultRow>(action: string, statement: Statement, values: unknown[]): Promise<R[]> {
    return (await this.#db.read<R>(action, statement, values)).rows;
  }
}
