import type { StoredToken, TokenSnapshot, TokenVault } from "@drover/core";
import type pg from "pg";
import type { ConnectionPool } from "./connection-pool.js";
import { quoteIdent } from "./identifiers.js";
import type { Statement } from "./statements.js";

interface TokenRow {
  readonly version: string;
  readonly id: string | null;
  readonly name: string | null;
  readonly scopes: string[] | null;
  readonly digest: string | null;
  readonly created_at: string | null;
}

/**
 * The {@link TokenVault} of a {@link PostgresStore}: the schema's `api_tokens` table
 * (migration 7), on the store's connections. Every change runs in one transaction that first
 * moves `api_token_changes.version` on: the row lock puts concurrent changes in one order, so
 * the version a process polls never moves past a change it could not yet see.
 */
export class PostgresTokenVault implements TokenVault {
  readonly where: string;
  readonly #db: ConnectionPool;
  readonly #version: Statement;
  readonly #load: Statement;
  readonly #bump: string;
  readonly #add: string;
  readonly #addIfNone: string;
  readonly #import: string;
  readonly #revoke: string;

  constructor(db: ConnectionPool, schema: string, where: string) {
    const s = quoteIdent(schema);
    this.#db = db;
    this.where = `table ${s}.api_tokens on ${where}`;
    this.#version = { name: `drover_token_version_${schema}`, text: `SELECT version FROM ${s}.api_token_changes` };
    // One statement, so one snapshot: the version and the tokens it counts.
    this.#load = {
      name: `drover_token_load_${schema}`,
      text: `SELECT c.version, t.id, t.name, t.scopes, t.digest, t.created_at
               FROM ${s}.api_token_changes c LEFT JOIN ${s}.api_tokens t ON t.revoked_at IS NULL
              ORDER BY t.created_at, t.id`,
    };
    this.#bump = `UPDATE ${s}.api_token_changes SET version = version + 1`;
    const columns = `${s}.api_tokens (id, name, scopes, digest, created_at)`;
    this.#add = `INSERT INTO ${columns} VALUES ($1, $2, $3, $4, $5)`;
    this.#addIfNone = `INSERT INTO ${columns} SELECT $1, $2, $3, $4, $5
      WHERE NOT EXISTS (SELECT 1 FROM ${s}.api_tokens WHERE revoked_at IS NULL)`;
    this.#import = `INSERT INTO ${columns}
      SELECT t.id, t.name, ARRAY(SELECT json_array_elements_text(t.scopes)), t.digest, t.created_at
        FROM json_to_recordset($1::json) AS t(id text, name text, scopes json, digest text, created_at bigint)
       WHERE NOT EXISTS (SELECT 1 FROM ${s}.api_tokens a WHERE a.id = t.id OR a.digest = t.digest)
      ON CONFLICT DO NOTHING`;
    this.#revoke = `UPDATE ${s}.api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`;
  }

  async addToken(token: StoredToken, options: { readonly ifNone?: boolean } = {}): Promise<boolean> {
    const values = [token.id, token.name, [...token.scopes], token.digest, token.createdAt];
    return this.#change("adding an API token", (client) =>
      client.query(options.ifNone === true ? this.#addIfNone : this.#add, values),
    ).then((n) => n > 0);
  }

  async importTokens(tokens: readonly StoredToken[]): Promise<number> {
    if (tokens.length === 0) return 0;
    const json = JSON.stringify(
      tokens.map((t) => ({ id: t.id, name: t.name, scopes: t.scopes, digest: t.digest, created_at: t.createdAt })),
    );
    return this.#change("importing API tokens", (client) => client.query(this.#import, [json]));
  }

  async revokeToken(id: string, now: number): Promise<boolean> {
    return this.#change("revoking an API token", (client) => client.query(this.#revoke, [id, now])).then((n) => n > 0);
  }

  async tokensVersion(): Promise<number> {
    const result = await this.#db.read<{ version: string }>("reading the API tokens' version", this.#version, []);
    return Number(result.rows[0]?.version ?? 0);
  }

  async loadTokens(): Promise<TokenSnapshot> {
    const result = await this.#db.read<TokenRow>("loading the API tokens", this.#load, []);
    const tokens: StoredToken[] = [];
    for (const row of result.rows) {
      if (row.id === null || row.digest === null || row.scopes === null || row.created_at === null) continue;
      tokens.push({
        id: row.id,
        name: row.name,
        scopes: row.scopes,
        digest: row.digest,
        createdAt: Number(row.created_at),
      });
    }
    return { version: Number(result.rows[0]?.version ?? 0), tokens };
  }

  /**
   * Run `write` in a transaction that first moves the version on (taking the row lock): kept if
   * it changed rows, rolled back (the version too) if it changed none. How many it changed.
   */
  #change(action: string, write: (client: pg.PoolClient) => Promise<pg.QueryResult>): Promise<number> {
    return this.#db.withClient(action, async (client) => {
      await client.query("BEGIN");
      try {
        await client.query(this.#bump);
        const changed = (await write(client)).rowCount ?? 0;
        await client.query(changed > 0 ? "COMMIT" : "ROLLBACK");
        return changed;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    });
  }
}
