import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Store } from "@drover/core";
import { runStoreConformance } from "@drover/core/testing";
import { SqliteStore } from "./sqlite-store.js";

const root = mkdtempSync(join(tmpdir(), "drover-sqlite-conformance-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Each test gets its own directory and file, removed with the root when the file is done. */
function freshPath(): string {
  return join(mkdtempSync(join(root, "t-")), "drover.db");
}

runStoreConformance({
  name: "sqlite",
  open: async () => SqliteStore.open({ path: freshPath() }),
  reopen: async (store: Store) => {
    if (!(store instanceof SqliteStore)) throw new TypeError("reopen expects a SqliteStore");
    const { path } = store.info();
    await store.close();
    return SqliteStore.open({ path });
  },
  describe,
  it,
});
