import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { acceptedWrite } from "@drover/core/testing";
import { migrations } from "./migrations.js";
import { SqliteStore } from "./sqlite-store.js";

// test-fixtures/schema-v2.db was written by @drover/sqlite at schema version 2 (before entities
// kept their state's name), through the store's own commit; see test-fixtures/README.md.
const FIXTURE = fileURLToPath(new URL("../test-fixtures/schema-v2.db", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "drover-sqlite-old-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function copyOfFixture(name: string): string {
  const path = join(dir, name);
  copyFileSync(FIXTURE, path);
  return path;
}

describe("SqliteStore: a database written by schema version 2", () => {
  it("upgrades in place: every row kept, each entity named by the default convention", async () => {
    const store = SqliteStore.open({ path: copyOfFixture("upgrade.db") });
    try {
      assert.deepEqual(store.migration, { from: 2, to: migrations.length, applied: [3] });
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

  it("keeps working after the upgrade: the next step writes the machine's name", async () => {
    const path = copyOfFixture("next-step.db");
    const store = SqliteStore.open({ path });
    try {
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
    const reopened = SqliteStore.open({ path });
    try {
      assert.deepEqual(reopened.migration, { from: migrations.length, to: migrations.length, applied: [] });
    } finally {
      await reopened.close();
    }
  });
});
