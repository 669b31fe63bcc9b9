import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { acceptedWrite } from "@drover/core/testing";
import { migrations } from "./migrations.js";
import { freshSchema, openStore, postgresAvailable, withAdmin } from "./test-support/fixtures.js";

// test-fixtures/schema-v1.sql is a dump of a schema written by @drover/postgres at schema
// version 1 (before entities kept their state's name), through the store's own commit; see
// test-fixtures/README.md.
const FIXTURE = fileURLToPath(new URL("../test-fixtures/schema-v1.sql", import.meta.url));

/** A fresh schema holding what the version 1 code wrote. */
async function restoredFixture(): Promise<string> {
  const schema = freshSchema("drover_old");
  const dump = readFileSync(FIXTURE, "utf8").replaceAll("__SCHEMA__", schema);
  await withAdmin((client) => client.query(dump));
  return schema;
}

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore: a schema written by schema version 1", () => {
    it("upgrades in place: every row kept, each entity named by the default convention", async () => {
      const store = await openStore({ schema: await restoredFixture() });
      try {
        assert.deepEqual(store.migration, { from: 1, to: migrations.length, applied: [2] });
        const names = await Promise.all(
          ["a1", "b1", "c1", "d1", "e1"].map(async (id) => {
            const entity = await store.getEntity({ machine: "tally", id });
            return [id, entity?.version, entity?.stateName];
          }),
        );
        assert.deepEqual(names, [
          ["a1", 2, "closed"],
          ["b1", 1, "idle"],
          ["c1", 1, null],
          ["d1", 1, null],
          // `status` is not a string here, so the `state` member names it.
          ["e1", 1, "open"],
        ]);
        assert.deepEqual(await store.countEntities("tally"), [
          { stateName: "closed", count: 1 },
          { stateName: "idle", count: 1 },
          { stateName: "open", count: 1 },
          { stateName: null, count: 2 },
        ]);
        assert.deepEqual(
          (await store.listEntities("tally", { limit: 10, stateName: "idle" })).map((e) => e.id),
          ["b1"],
        );
        assert.deepEqual(
          (await store.history({ machine: "tally", id: "a1" })).map((e) => [e.version, e.eventId, e.state]),
          [
            [1, "e1", { status: "open", n: 1 }],
            [2, "e2", { status: "closed", n: 2 }],
          ],
        );
        assert.equal((await store.findInbox("e7"))?.result.kind, "rejected");
        assert.deepEqual(
          (await store.listOutbox()).map((row) => [row.intentId, row.status]),
          [["tally/a1/1/0", "pending"]],
        );
        assert.deepEqual(
          (await store.listTimers()).map((row) => [row.timerId, row.status]),
          [["tally/b1/1/0", "pending"]],
        );
      } finally {
        await store.close();
      }
    });

    it("keeps working after the upgrade: loads, and the next step writes the machine's name", async () => {
      const schema = await restoredFixture();
      const store = await openStore({ schema });
      try {
        const loaded = await store.load({ machine: "tally", id: "b1" }, "e3");
        assert.equal(loaded.entity?.stateName, "idle");
        assert.equal(loaded.inbox?.eventId, "e3");
        const step = { ...acceptedWrite("c1", "e8", 1, { n: 5 }), stateName: "counted" };
        assert.deepEqual(await store.commit([step]), [{ kind: "committed" }]);
        assert.equal((await store.getEntity({ machine: "tally", id: "c1" }))?.stateName, "counted");
        const claimed = await store.claimOutbox({ owner: "o", now: Date.UTC(2027, 0, 1), leaseMs: 1000, limit: 10 });
        assert.deepEqual(
          claimed.map((row) => row.intentId),
          ["tally/a1/1/0"],
        );
      } finally {
        await store.close();
      }
      const reopened = await openStore({ schema });
      try {
        assert.deepEqual(reopened.migration, { from: migrations.length, to: migrations.length, applied: [] });
      } finally {
        await reopened.close();
      }
    });
  });
}
