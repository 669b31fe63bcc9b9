import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { checkStateNameUpgrade, checkWritesAfterStateNameUpgrade } from "@drover/core/testing";
import { migrations } from "./migrations.js";
import { SqliteStore } from "./sqlite-store.js";

// test-fixtures/schema-v2.db.gz is, gzipped, the file @drover/sqlite wrote at schema version 2
// (before entities kept their state's name) with stateNameFixtureSteps(); see test-fixtures/README.md.
const FIXTURE = gunzipSync(readFileSync(fileURLToPath(new URL("../test-fixtures/schema-v2.db.gz", import.meta.url))));
const dir = mkdtempSync(join(tmpdir(), "drover-sqlite-old-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function copyOfFixture(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, FIXTURE);
  return path;
}

describe("SqliteStore: a database written by schema version 2", () => {
  it("upgrades in place: every row kept, each entity named by the default convention", async () => {
    const store = SqliteStore.open({ path: copyOfFixture("upgrade.db") });
    try {
      assert.deepEqual(store.migration, { from: 2, to: migrations.length, applied: [3] });
      await checkStateNameUpgrade(store);
    } finally {
      await store.close();
    }
  });

  it("keeps working after the upgrade: loads, and the next step writes the machine's name", async () => {
    const path = copyOfFixture("next-step.db");
    const store = SqliteStore.open({ path });
    try {
      await checkWritesAfterStateNameUpgrade(store);
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
