import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { checkStateNameUpgrade, checkVersionUpgrade, checkWritesAfterStateNameUpgrade } from "@drover/core/testing";
import { migrations } from "./migrations.js";
import { SqliteStore } from "./sqlite-store.js";

// Each fixture is, gzipped, the file @drover/sqlite wrote at one schema version with
// stateNameFixtureSteps(); see test-fixtures/README.md.
function fixture(name: string): Buffer {
  return gunzipSync(readFileSync(fileURLToPath(new URL(`../test-fixtures/${name}`, import.meta.url))));
}
/** Schema version 2: before entities kept their state's name. */
const V2 = fixture("schema-v2.db.gz");
/** Schema version 3: before rows kept their state and event versions. */
const V3 = fixture("schema-v3.db.gz");
const dir = mkdtempSync(join(tmpdir(), "drover-sqlite-old-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function copyOf(database: Buffer, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, database);
  return path;
}

async function assertReopensUnchanged(path: string): Promise<void> {
  const reopened = SqliteStore.open({ path });
  try {
    assert.deepEqual(reopened.migration, { from: migrations.length, to: migrations.length, applied: [] });
  } finally {
    await reopened.close();
  }
}

describe("SqliteStore: a database written by schema version 2", () => {
  it("upgrades in place: every row kept, each entity named by the default convention", async () => {
    const store = SqliteStore.open({ path: copyOf(V2, "v2-upgrade.db") });
    try {
      assert.deepEqual(store.migration, { from: 2, to: migrations.length, applied: [3, 4, 5] });
      await checkStateNameUpgrade(store);
    } finally {
      await store.close();
    }
  });

  it("keeps working after the upgrade: loads, and the next step writes the machine's name", async () => {
    const path = copyOf(V2, "v2-next-step.db");
    const store = SqliteStore.open({ path });
    try {
      await checkWritesAfterStateNameUpgrade(store);
    } finally {
      await store.close();
    }
    await assertReopensUnchanged(path);
  });

  it("counts every row as state and event version 1, and the next writes keep their versions", async () => {
    const store = SqliteStore.open({ path: copyOf(V2, "v2-versions.db") });
    try {
      await checkVersionUpgrade(store);
    } finally {
      await store.close();
    }
  });
});

describe("SqliteStore: a database written by schema version 3", () => {
  it("upgrades in place: every row kept and named, each at state and event version 1", async () => {
    const path = copyOf(V3, "v3-upgrade.db");
    const store = SqliteStore.open({ path });
    try {
      assert.deepEqual(store.migration, { from: 3, to: migrations.length, applied: [4, 5] });
      // Read-only checks first: the names version 3 wrote survive the migration.
      await checkStateNameUpgrade(store);
      await checkVersionUpgrade(store);
    } finally {
      await store.close();
    }
    await assertReopensUnchanged(path);
  });
});
