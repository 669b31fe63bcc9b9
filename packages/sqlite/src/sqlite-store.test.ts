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

function pathOf(store: Store): string {
  if (!(store instanceof SqliteStore)) throw new TypeError("expected a SqliteStore");
  return store.info().path;
}

runStoreConformance({
  name: "sqlite",
  transact: true,
  open: async () => SqliteStore.open({ path: freshPath() }),
  reopen: async (store: Store) => {
    const path = pathOf(store);
    await store.close();
    return SqliteStore.open({ path });
  },
  // A second connection to the same file.
  openPeer: async (store: Store) => SqliteStore.open({ path: pathOf(store) }),
  describe,
  it,
});
