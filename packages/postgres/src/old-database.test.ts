import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { checkStateNameUpgrade, checkVersionUpgrade, checkWritesAfterStateNameUpgrade } from "@drover/core/testing";
import { migrations } from "./migrations.js";
import { freshSchema, openStore, postgresAvailable, withAdmin } from "./test-support/fixtures.js";

// test-fixtures/schema-v<N>.sql.gz is a dump of a schema written by @drover/postgres at schema
// version N with stateNameFixtureSteps(): version 1 before entities kept their state's name,
// version 2 before rows kept their state and event versions; see test-fixtures/README.md.
const FIXTURES = {
  v1: new URL("../test-fixtures/schema-v1.sql.gz", import.meta.url),
  v2: new URL("../test-fixtures/schema-v2.sql.gz", import.meta.url),
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
}
