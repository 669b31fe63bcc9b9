import pg from "pg";

/**
 * Helpers for test suites that need a real PostgreSQL (drover's own, and yours): where it is,
 * and whether tests may run. Import from `@drover/postgres/testing`.
 */

/** Where tests find PostgreSQL: `DROVER_TEST_PG_URL`, or the local server with trust auth. */
export const TEST_PG_URL = process.env.DROVER_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** `url` with its database replaced by `database` (for a scratch database of one test run). */
export function withDatabase(database: string, url: string = TEST_PG_URL): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * The `skip` option for a suite that needs PostgreSQL at `url`: `false` when it answers, else
 * one line saying why and what to do. With `DROVER_REQUIRE_SERVICES=1` (CI) an unreachable
 * server throws instead, so the suite fails rather than skips.
 *
 * @example
 * import { describe } from "node:test";
 *
 * const skip = await skipUnlessPostgres();
 * describe("on PostgreSQL", { skip }, () => {
 *   // the suite's tests
 * });
 */
export async function skipUnlessPostgres(url: string = TEST_PG_URL): Promise<false | string> {
  // A server that is not there refuses at once; a generous timeout and a second try only
  // matter on a machine busy with the rest of the suite, where a 2 s connect once timed out.
  let reason = await connectionProblem(url);
  if (reason !== undefined && /timeout/i.test(reason)) reason = await connectionProblem(url);
  if (reason === undefined) return false;
  const printable = new URL(url);
  printable.password = "";
  const where = `PostgreSQL not reachable at ${printable.toString()} (${reason})`;
  if (process.env.DROVER_REQUIRE_SERVICES === "1") {
    throw new Error(`${where}; DROVER_REQUIRE_SERVICES=1 makes that a failure`);
  }
  return `${where}; start it, or set DROVER_REQUIRE_SERVICES=1 to fail`;
}

async function connectionProblem(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Drop the scratch database `database` (ending its sessions first) on the server of `url`.
 *
 * @example
 * import { after } from "node:test";
 *
 * const database = `drover_test_${process.pid}`;
 * const url = withDatabase(database); // a store of the suite's own: PostgresStore.open({ url })
 * after(() => dropDatabase(database));
 */
export async function dropDatabase(database: string, url: string = TEST_PG_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
