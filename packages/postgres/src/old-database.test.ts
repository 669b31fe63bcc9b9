import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { CommitOutcomeKind } from "@drover/core";
import {
  acceptedWrite,
  checkStateNameUpgrade,
  checkVersionUpgrade,
  checkWritesAfterStateNameUpgrade,
} from "@drover/core/testing";
import { migrations } from "./migrations.js";
import { freshSchema, openStore, postgresAvailable, withAdmin } from "./test-support/fixtures.js";

// test-fixtures/schema-v<N>.sql.gz is a dump of a schema written by @drover/postgres at schema
// version N with stateNameFixtureSteps(): version 1 before entities kept their state's name,
// version 2 before rows kept their state and event versions; see test-fixtures/README.md.
const FIXTURES = {
  v1: new URL("../test-fixtures/schema-v1.sql.gz", import.meta.url),
  v2: new URL("../test-fixtures/schema-v2.sql.gz", import.meta.url),
  v3: new URL("../test-fixtures/schema-v3.sql.gz", import.meta.url),
} as const;

/** A fresh schema holding what the code of an older schema version wrote. */
async function restoredFixture(fixture: URL): Promise<string> {
  const schema = freshSchema("drover_old");
  const dump = gunzipSync(readFileSync(fixture)).toString("utf8").replaceAll("__SCHEMA__", schema);
  await withAdmin((client) => client.query(dump));
  return schema;
}

/** Opening `schema` again applies nothing. */
async function reopensAsIs(schema: string): Promise<void> {
  const reopened = await openStore({ schema });
  try {
    assert.deepEqual(reopened.migration, { from: migrations.length, to: migrations.length, applied: [] });
  } finally {
    await reopened.close();
  }
}

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore: a schema written by schema version 1", () => {
    it("upgrades in place: every row kept, each entity named by the default convention, every row at version 1", async () => {
      const store = await openStore({ schema: await restoredFixture(FIXTURES.v1) });
      try {
        assert.deepEqual(store.migration, { from: 1, to: migrations.length, applied: [2, 3, 4] });
        await checkStateNameUpgrade(store);
        await checkVersionUpgrade(store);
      } finally {
        await store.close();
      }
    });

    it("keeps working after the upgrade: loads, and the next step writes the machine's name", async () => {
      const schema = await restoredFixture(FIXTURES.v1);
      const store = await openStore({ schema });
      try {
        await checkWritesAfterStateNameUpgrade(store);
      } finally {
        await store.close();
      }
      await reopensAsIs(schema);
    });
  });

  describe("PostgresStore: a schema written by schema version 2", () => {
    it("upgrades in place: every row kept and counted at state and event version 1, new versions written", async () => {
      const schema = await restoredFixture(FIXTURES.v2);
      const store = await openStore({ schema });
      try {
        assert.deepEqual(store.migration, { from: 2, to: migrations.length, applied: [3, 4] });
        await checkStateNameUpgrade(store);
        await checkVersionUpgrade(store);
      } finally {
        await store.close();
      }
      await reopensAsIs(schema);
    });
  });

  describe("PostgresStore: a schema written by schema version 3", () => {
    it("upgrades in place (drover_commit_one added), every row kept, and commits lone and batched steps after", async () => {
      const schema = await restoredFixture(FIXTURES.v3);
      const store = await openStore({ schema });
      try {
        assert.deepEqual(store.migration, { from: 3, to: migrations.length, applied: [4] });
        await checkStateNameUpgrade(store);
        await checkVersionUpgrade(store);
        // A lone step goes through drover_commit_one, a batch through drover_commit.
        const before = await store.getEntity({ machine: "tally", id: "c1" });
        const lone = { ...acceptedWrite("c1", "v4_lone", before?.version ?? 0, { n: 5 }, [{ type: "Noted", n: 5 }]) };
        assert.deepEqual(await store.commit([lone]), [{ kind: CommitOutcomeKind.Committed }]);
        assert.deepEqual(
          await store.commit([
            acceptedWrite("n1", "v4_batch_1", 0, { n: 1 }),
            acceptedWrite("n2", "v4_batch_2", 0, { n: 2 }),
          ]),
          [{ kind: CommitOutcomeKind.Committed }, { kind: CommitOutcomeKind.Committed }],
        );
        assert.equal((await store.getEntity({ machine: "tally", id: "c1" }))?.version, (before?.version ?? 0) + 1);
        assert.equal((await store.findInbox("v4_lone"))?.eventId, "v4_lone");
        // A repeated event id is still a duplicate, answered with the original result.
        const [again] = await store.commit([lone]);
        assert.equal(again?.kind, CommitOutcomeKind.Duplicate);
      } finally {
        await store.close();
      }
      await reopensAsIs(schema);
    });
  });
}
