import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { commitAll, queueWrite, STEP_EPOCH } from "@drover/core/testing";
import { quoteIdent } from "./identifiers.js";
import { freshSchema, openStore, postgresAvailable, withAdmin } from "./test-support/fixtures.js";

// The claims every store shares, several stores claiming at once among them, are in the
// conformance suite (postgres-store.test.ts); here is the one that needs a raw connection
// holding a row lock.

const T0 = STEP_EPOCH;

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore: claims across connections", () => {
    it("skips a row another claimer holds locked instead of waiting for it", async () => {
      const schema = freshSchema();
      const store = await openStore({ schema });
      try {
        await commitAll(store, [queueWrite("c_a", 1, 0, 1), queueWrite("c_b", 2, 0, 1), queueWrite("c_c", 3, 0, 1)]);
        const now = T0 + 10_000;
        const claimed = await withAdmin(async (client) => {
          // Another process is in the middle of claiming c_a: its row is locked until that commits.
          await client.query("BEGIN");
          await client.query(`SELECT 1 FROM ${quoteIdent(schema)}.outbox WHERE intent_id = 'tally/c_a/1/0' FOR UPDATE`);
          try {
            return await store.claimOutbox({ owner: "w", now, leaseMs: 1000, limit: 10 });
          } finally {
            await client.query("ROLLBACK");
          }
        });
        assert.deepEqual(
          claimed.map((row) => row.intentId),
          ["tally/c_b/1/0", "tally/c_c/1/0"],
        );
        assert.deepEqual(
          (await store.claimOutbox({ owner: "w", now, leaseMs: 1000, limit: 10 })).map((row) => row.intentId),
          ["tally/c_a/1/0"],
        );
      } finally {
        await store.close();
      }
    });
  });
}
