import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Json, StateRewrite } from "@drover/core";
import { StoreUnavailableError } from "@drover/core";
import { acceptedWrite } from "@drover/core/testing";
import Database from "better-sqlite3";
import { SqliteStore } from "./sqlite-store.js";

const root = mkdtempSync(join(tmpdir(), "drover-sqlite-rewrites-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A store at a fresh path holding entities c_01 and c_02 at entity and state version 1. */
async function withEntities(body: (store: SqliteStore, path: string) => Promise<void>): Promise<void> {
  const path = join(mkdtempSync(join(root, "t-")), "drover.db");
  const store = SqliteStore.open({ path });
  try {
    await store.commit([acceptedWrite("c_01", "evt_1", 0, { n: 1 }), acceptedWrite("c_02", "evt_2", 0, { n: 2 })]);
    await body(store, path);
  } finally {
    await store.close();
  }
}

function rewrite(id: string, state: Json, stateVersion = 2): StateRewrite {
  return { ref: { machine: "tally", id }, version: 1, state, stateName: "migrated", stateVersion };
}

async function storedStates(store: SqliteStore): Promise<unknown[]> {
  return (await store.listEntities("tally", { limit: 10 })).map((e) => [e.id, e.state, e.stateVersion]);
}

describe("SqliteStore: state rewrites", () => {
  const unchanged = [
    ["c_01", { n: 1 }, 1],
    ["c_02", { n: 2 }, 1],
  ];

  it("refuses a batch with a state JSON cannot hold before any row changes, naming the entity", () =>
    withEntities(async (store) => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      for (const bad of [cyclic, { big: 1n }, undefined]) {
        await assert.rejects(
          store.rewriteStates([rewrite("c_01", { n: 10 }), rewrite("c_02", bad as unknown as Json)]),
          (error: unknown) => error instanceof TypeError && /state rewritten for tally\/c_02/.test(error.message),
        );
        assert.deepEqual(await storedStates(store), unchanged);
      }
    }));

  it("refuses a state version that is no positive integer before any row changes", () =>
    withEntities(async (store) => {
      for (const stateVersion of [0, 2.5, Number.NaN]) {
        await assert.rejects(
          store.rewriteStates([rewrite("c_01", { n: 10 }), rewrite("c_02", { n: 20 }, stateVersion)]),
          /state version rewritten for tally\/c_02 must be a positive integer/,
        );
      }
      assert.deepEqual(await storedStates(store), unchanged);
    }));

  it("reports a write lock held past the busy timeout as StoreUnavailableError, changing nothing", () =>
    withEntities(async (_store, path) => {
      const store = SqliteStore.open({ path, busyTimeout: 50 });
      const other = new Database(path);
      try {
        other.prepare("BEGIN IMMEDIATE").run();
        await assert.rejects(
          store.rewriteStates([rewrite("c_01", { n: 10 })]),
          (error: unknown) =>
            error instanceof StoreUnavailableError && /unavailable while rewriting states: /.test(error.message),
        );
        other.prepare("ROLLBACK").run();
        assert.deepEqual(await storedStates(store), unchanged);
        assert.deepEqual(await store.rewriteStates([rewrite("c_01", { n: 10 })]), [true]);
      } finally {
        other.close();
        await store.close();
      }
    }));

  it("refuses work on a closed store with StoreUnavailableError", async () => {
    const store = SqliteStore.open({ path: join(mkdtempSync(join(root, "t-")), "drover.db") });
    await store.close();
    await assert.rejects(store.rewriteStates([]), StoreUnavailableError);
    await assert.rejects(store.countStateVersions("tally"), StoreUnavailableError);
  });
});
