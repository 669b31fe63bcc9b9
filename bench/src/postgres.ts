import { randomBytes } from "node:crypto";
import { PostgresStore } from "@drover/postgres";
import pg from "pg";
import type { Consistency, EntityJournal, RowCounts } from "./database.js";
import { compareCounts } from "./database.js";

/** Where the PostgreSQL rows run: `DROVER_BENCH_PG_URL`, or the local default. */
export function benchPostgresUrl(): string {
  return process.env.DROVER_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

/** The URL without its password, for messages. */
export function printableUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

/** The same server, another database. */
export function urlOfDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** `bigint` columns as numbers, as `@drover/postgres` reads them (every value here stays below 2^53). */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 && format !== "binary"
      ? Number
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/** What the server says about itself: version and the settings that decide durability. */
export interface PostgresInfo {
  readonly version: string;
  readonly fsync: string;
  readonly synchronousCommit: string;
  readonly fullPageWrites: string;
  readonly walSyncMethod: string;
  readonly commitDelay: string;
  readonly sharedBuffers: string;
}

/** The durability column of the PostgreSQL rows. */
export function durabilityOf(info: PostgresInfo): string {
  return `fsync=${info.fsync}, synchronous_commit=${info.synchronousCommit}`;
}

/** Is PostgreSQL at `url` usable? Its settings, or why not (never throws). */
export async function probePostgres(
  url: string,
): Promise<{ readonly ok: true; readonly info: PostgresInfo } | { readonly ok: false; readonly reason: string }> {
  try {
    return await withClient(url, async (client) => {
      const result = await client.query<Record<string, string>>(
        `SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync,
                current_setting('synchronous_commit') AS synchronous_commit,
                current_setting('full_page_writes') AS full_page_writes,
                current_setting('wal_sync_method') AS wal_sync_method,
                current_setting('commit_delay') AS commit_delay,
                current_setting('shared_buffers') AS shared_buffers`,
      );
      const row = result.rows[0] ?? {};
      return {
        ok: true as const,
        info: {
          version: row.version ?? "?",
          fsync: row.fsync ?? "?",
          synchronousCommit: row.synchronous_commit ?? "?",
          fullPageWrites: row.full_page_writes ?? "?",
          walSyncMethod: row.wal_sync_method ?? "?",
          commitDelay: row.commit_delay ?? "?",
          sharedBuffers: row.shared_buffers ?? "?",
        },
      };
    });
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message || error.name : String(error) };
  }
}

async function withClient<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, types: PG_TYPES });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const scratchDatabases = new Set<PgScratch>();

/** Drop every scratch database still there (for a benchmark stopped by a signal). */
export async function removeScratchDatabases(): Promise<void> {
  await Promise.all([...scratchDatabases].map((scratch) => scratch.remove()));
}

/**
 * Fresh databases for the PostgreSQL contestants, `drover_bench_<pid>_<n>_<label>` on the
 * server of `url` (which must allow CREATE DATABASE), each dropped once it has been checked.
 */
export class PgScratch {
  readonly #url: string;
  readonly #prefix: string;
  readonly #live = new Set<string>();
  #n = 0;

  constructor(url: string) {
    this.#url = url;
    this.#prefix = `drover_bench_${process.pid}_${randomBytes(2).toString("hex")}`;
    scratchDatabases.add(this);
  }

  /** Create a database; resolves to its URL. */
  async create(label: string): Promise<string> {
    this.#n += 1;
    const name = `${this.#prefix}_${String(this.#n).padStart(3, "0")}_${label.replaceAll(/[^a-z0-9]/g, "_")}`.slice(
      0,
      63,
    );
    await withClient(this.#url, (client) => client.query(`CREATE DATABASE "${name}"`));
    this.#live.add(name);
    return urlOfDatabase(this.#url, name);
  }

  /** Drop a database made by {@link create}, closing whatever still connects to it. */
  async drop(databaseUrl: string): Promise<void> {
    const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
    if (!this.#live.has(name)) return;
    await withClient(this.#url, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    this.#live.delete(name);
  }

  /** Drop every database still there. */
  async remove(): Promise<void> {
    scratchDatabases.delete(this);
    for (const name of [...this.#live]) {
      await this.drop(urlOfDatabase(this.#url, name)).catch(() => undefined);
    }
  }
}

/**
 * Create drover's schema (`@drover/postgres`' migrations: tables, indexes, functions) in a
 * fresh database, so the contestants that do not run drover write to exactly its tables.
 */
export async function createDroverSchemaPg(url: string): Promise<void> {
  const store = await PostgresStore.open({ url, poolSize: 1 });
  await store.close();
}

/** Row counts of drover's tables in a PostgreSQL database. */
export async function countRowsPg(url: string): Promise<RowCounts> {
  return withClient(url, async (client) => {
    const result = await client.query<RowCounts>(
      `SELECT (SELECT count(*) FROM entities)::int AS entities,
              (SELECT coalesce(sum(version), 0) FROM entities)::int AS versions,
              (SELECT count(*) FROM journal)::int AS journal,
              (SELECT count(*) FROM inbox)::int AS inbox,
              (SELECT count(*) FROM outbox)::int AS outbox`,
    );
    const row = result.rows[0];
    if (row === undefined) throw new Error("counting rows returned nothing");
    return row;
  });
}

/** Check that `events` events over `entities` entities were all applied, by counting rows. */
export async function checkAppliedPg(url: string, events: number, entities: number): Promise<Consistency> {
  return compareCounts(await countRowsPg(url), events, entities, false);
}

/** Journal rows per entity of `machine`. */
export async function journalPerEntityPg(url: string, machine: string): Promise<EntityJournal[]> {
  return withClient(url, async (client) => {
    const result = await client.query<EntityJournal>(
      `SELECT id, count(*)::int AS rows, max(version)::int AS "lastVersion" FROM journal WHERE machine = $1 GROUP BY id`,
      [machine],
    );
    return result.rows;
  });
}

/** Every row of drover's tables, in key order, as text (for comparing two databases). */
export async function dumpPg(url: string): Promise<Record<string, unknown[]>> {
  return withClient(url, async (client) => {
    const all = async (sql: string) => (await client.query(sql)).rows;
    return {
      entities: await all(
        "SELECT machine, id, version, state::text, created_at, updated_at FROM entities ORDER BY 1, 2",
      ),
      journal: await all(
        "SELECT machine, id, version, event_id, event::text, decision::text, intents::text, at FROM journal ORDER BY 1, 2, 3",
      ),
      inbox: await all("SELECT event_id, machine, id, fingerprint, result::text, at FROM inbox ORDER BY event_id"),
      outbox: await all(
        `SELECT seq, intent_id, machine, entity_id, intent::text, status, attempts, next_attempt_at, lease_owner,
                lease_until, last_error, created_at FROM outbox ORDER BY seq`,
      ),
      timers: await all("SELECT * FROM timers ORDER BY seq"),
    };
  });
}
