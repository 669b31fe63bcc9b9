import { StoreUnavailableError } from "@drover/core";
import pg from "pg";
import type { Settings } from "./connection.js";
import { clientConfig, watchClient } from "./connection.js";
import type { Statement } from "./statements.js";
import { isUnavailable, neverSent, translate } from "./unavailable.js";

/**
 * The store's connections: node-postgres's pool with drover's retry rules around it — a read
 * is tried again once on a dead connection, a write only if it never reached the server — and
 * the one guard of every statement the store runs: a closed store refuses, and every failure
 * is translated into a drover error that names the server and what was being done.
 */
export class ConnectionPool {
  readonly pool: pg.Pool;
  readonly #where: string;
  readonly #schema: string;
  #closed = false;

  constructor(settings: Settings, where: string) {
    this.#where = where;
    this.#schema = settings.schema;
    this.pool = new pg.Pool({
      ...clientConfig(settings),
      max: settings.poolSize,
      allowExitOnIdle: true,
    });
    // An idle connection that dies (server restart, pg_terminate_backend) is dropped from the
    // pool, which opens a new one when needed. Without a listener the error would crash the process.
    this.pool.on("error", () => undefined);
    // A checked-out connection can be told FATAL (57P01) between two statements, when no query
    // is active to receive it: node-postgres then emits 'error' on the client, and pg-pool only
    // listens on idle clients (and `pool.query` listens `once`). Unheard, that error kills the
    // process — seen when backends were terminated mid-storm. The statement that next uses the
    // client fails as "not queryable" and is handled (retried or reported) like any lost connection.
    this.pool.on("connect", (client) => client.on("error", () => undefined));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Close the pool after the calls in flight; the store answers "closed" from now on. */
  async end(): Promise<void> {
    this.#closed = true;
    await this.pool.end();
  }

  /** Throw when the store is closed. */
  live(): void {
    if (this.#closed) throw this.#closedError();
  }

  #closedError(): StoreUnavailableError {
    return new StoreUnavailableError(
      `the PostgresStore for ${this.#where} (schema ${this.#schema}) is closed; open a new one`,
    );
  }

  /** The error to throw for `error`: a closed store says so rather than blame the server. */
  failed(error: unknown, action: string): unknown {
    return this.#closed ? this.#closedError() : translate(error, this.#where, action);
  }

  /** A read: tried again once on a connection that turns out dead (the pool opens a new one). */
  read<R extends pg.QueryResultRow>(
    action: string,
    statement: Statement,
    values: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.#once<R>(action, statement, values, isUnavailable);
  }

  /** A write other than commit: tried again only if it surely never reached the server. */
  write<R extends pg.QueryResultRow>(
    action: string,
    statement: Statement,
    values: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.#once<R>(action, statement, values, neverSent);
  }

  /** Run a statement on an open store, and once more if `retryable` says a retry is safe for its failure. */
  async #once<R extends pg.QueryResultRow>(
    action: string,
    statement: Statement,
    values: readonly unknown[],
    retryable: (error: unknown) => boolean,
  ): Promise<pg.QueryResult<R>> {
    this.live();
    try {
      return await this.#query<R>(statement, values);
    } catch (error) {
      if (!retryable(error) || this.#closed) throw this.failed(error, action);
      try {
        return await this.#query<R>(statement, values);
      } catch (again) {
        throw this.failed(again, action);
      }
    }
  }

  #query<R extends pg.QueryResultRow>(statement: Statement, values: readonly unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({ ...statement, values: [...values] });
  }

  /** Borrow a connection for `body`; one that broke on the way is closed instead of returned. */
  async withClient<T>(action: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.live();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      // No statement ran: whatever refused the connection, it is the database being unavailable.
      const failed = this.failed(error, action);
      throw failed instanceof StoreUnavailableError
        ? failed
        : new StoreUnavailableError(
            `PostgreSQL at ${this.#where} refused a connection while ${action}: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
    }
    const failure = watchClient(client);
    try {
      return await body(client);
    } catch (error) {
      if (isUnavailable(error)) failure.error ??= error instanceof Error ? error : new Error(String(error));
      throw this.failed(error, action);
    } finally {
      client.release(failure.error);
    }
  }
}
