import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import { after, it } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { PostgresStoreOptions } from "../connection.js";
import { entityLockSeed, quoteIdent } from "../identifiers.js";
import { PostgresStore } from "../postgres-store.js";
import { TEST_PG_URL } from "../testing.js";

/** Where the tests find PostgreSQL. */
export const TEST_URL = TEST_PG_URL;

/** The URL without its password, for messages. */
export function printableUrl(url: string = TEST_URL): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Run `body` with a plain connection to the test database. */
export async function withAdmin<T>(body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_URL, connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether the tests of the test file `file` (its `import.meta.url`) can run. When PostgreSQL
 * cannot be reached, the file gets one test that explains why: skipped, or failed when `DROVER_REQUIRE_SERVICES=1` (CI).
 * Also registers the removal of every schema made by {@link freshSchema} once the file is done.
 */
export async function postgresAvailable(file: string): Promise<boolean> {
  let reason: string | undefined;
  try {
    await withAdmin((client) => client.query("SELECT 1"));
  } catch (error) {
    reason = error instanceof Error ? error.message || error.name : String(error);
  }
  if (reason === undefined) {
    after(dropSchemas);
    return true;
  }
  const where = `PostgreSQL not reachable at ${printableUrl()} (${reason})`;
  const name = basename(fileURLToPath(file));
  if (process.env.DROVER_REQUIRE_SERVICES === "1") {
    it(`${name}: PostgreSQL is reachable (DROVER_REQUIRE_SERVICES=1)`, () => {
      throw new Error(`${where}; start it, or point DROVER_TEST_PG_URL at one`);
    });
  } else {
    it(
      `${name}: PostgreSQL tests`,
      { skip: `${where}; start it or set DROVER_REQUIRE_SERVICES=1 to fail` },
      () => undefined,
    );
  }
  return false;
}

const made: string[] = [];

/** A new schema name for one test, dropped after the file's tests. */
export function freshSchema(prefix = "drover_test"): string {
  const name = `${prefix}_${process.pid}_${made.length}_${randomBytes(3).toString("hex")}`;
  made.push(name);
  return name;
}

async function dropSchemas(): Promise<void> {
  if (made.length === 0) return;
  await withAdmin(async (client) => {
    for (const schema of made.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  });
}

/** Open a store on the test server in `schema` (a fresh one by default). */
export function openStore(options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
  return PostgresStore.open({ url: TEST_URL, schema: options.schema ?? freshSchema(), poolSize: 4, ...options });
}

/** End every connection of the stores on `schema` (their application_name is `drover:<schema>`). */
export async function terminateConnections(schema: string): Promise<number> {
  return withAdmin(async (client) => {
    const result = await client.query<{ pid: number }>(
      "SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
      [`drover:${schema}`],
    );
    return result.rowCount ?? 0;
  });
}

/** Poll `check` until it returns true, or fail after `ms` with `what` in the message. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** How many connections of the stores on `schema` wait for a lock right now. */
export async function waitingOnLocks(schema: string): Promise<number> {
  return withAdmin(async (client) => {
    const result = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
      [`drover:${schema}`],
    );
    return result.rows[0]?.n ?? 0;
  });
}

/** The entity advisory lock key `drover_commit` takes for an entity of a store on `schema`. */
export function entityLockSql(schema: string, machine: string, id: string): { text: string; values: unknown[] } {
  return {
    text: "SELECT pg_advisory_lock(hashtextextended($1 || '/' || $2, $3))",
    values: [machine, id, entityLockSeed(schema)],
  };
}
