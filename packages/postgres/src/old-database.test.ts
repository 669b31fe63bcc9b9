import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { checkStateNameUpgrade, checkWritesAfterStateNameUpgrade } from "@drover/core/testing";
import { migrations } from "./migrations.js";
import { freshSchema, openStore, postgresAvailable, withAdmin } from "./test-support/fixtures.js";

// test-fixtures/schema-v1.sql.gz is a dump of a schema written by @drover/postgres at schema
// version 1 (before entities kept their state's name) with stateNameFixtureSteps(); see
// test-fixtures/README.md.
const FIXTURE = new URL("../test-fixtures/schema-v1.sql.gz", import.meta.url);

/** A fresh schema holding what the version 1 code wrote. */
async function restoredFixture(): Promise<string> {
  const schema = freshSchema("drover_old");
  const dump = gunzipSync(readFileSync(FIXTURE)).toString("utf8").replaceAll("__SCHEMA__", schema);
  await withAdmin((client) => client.query(dump));
  return schema;
}

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore: a schema written by schema version 1", () => {
    it("upgrades in place: every row kept, each entity named by the default convention", async () => {
      const store = await openStore({ schema: await restoredFixture() });
      try {
        assert.deepEqual(store.migration, { from: 1, to: migrations.length, applied: [2] });
        await checkStateNameUpgrade(store);
      } finally {
        await store.close();
      }
    });

    it("keeps working after the upgrade: loads, and the next step writes the machine's name", async () => {
      const schema = await restoredFixture();
      const store = await openStore({ schema });
      try {
        await checkWritesAfterStateNameUpgrade(store);
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
