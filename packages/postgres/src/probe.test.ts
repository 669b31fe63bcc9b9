// The write probe behind GET /readyz on PostgreSQL: it commits while the server takes
// connections, fails (StoreUnavailableError, with what to do) once every connection of its
// database is ended and new ones are refused, and passes again, on the same open store, as soon
// as connections are allowed again. A database of its own: other test files share the default one.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { StoreUnavailableError } from "@drover/core";
import { quoteIdent } from "./identifiers.js";
import { PostgresStore } from "./postgres-store.js";
import { postgresAvailable, TEST_URL, withAdmin } from "./test-support/fixtures.js";

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore.probe", () => {
    it("fails while the server refuses connections and passes once it takes them again, without reopening", async () => {
      const database = `drover_probe_${process.pid}_${randomBytes(3).toString("hex")}`;
      const url = new URL(TEST_URL);
      url.pathname = `/${database}`;
      const store = await PostgresStore.open({ url: url.toString(), createDatabase: true, poolSize: 2 });
      const allow = (on: boolean) =>
        withAdmin((admin) => admin.query(`ALTER DATABASE ${quoteIdent(database)} ALLOW_CONNECTIONS ${on}`));
      try {
        await store.probe();
        await allow(false);
        await withAdmin((admin) =>
          admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [database]),
        );
        const failed = await store.probe().then(
          () => undefined,
          (error: unknown) => error,
        );
        assert.ok(failed instanceof StoreUnavailableError, String(failed));
        assert.match(failed.message, /unavailable while probing with a write: .*; .*retry/);

        await allow(true);
        await store.probe();
      } finally {
        await allow(true);
        await store.close();
        await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`));
      }
    });
  });
}
