import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { StoreUnavailableError } from "@drover/core";
import {
  assertClaimRaceSettled,
  commitAll,
  commitClaimRace,
  queueWrite,
  raceEntities,
  STEP_EPOCH,
} from "@drover/core/testing";
import Database from "better-sqlite3";
import { SqliteStore } from "./sqlite-store.js";
import type { ClaimWorkerData, ClaimWorkerResult } from "./test-support/claim-worker.js";

// The claims every store shares are in the conformance suite (sqlite-store.test.ts); here are
// the ones that need other threads or a raw connection holding the write lock.

const T0 = STEP_EPOCH;

const root = mkdtempSync(join(tmpdir(), "drover-sqlite-claims-"));
after(() => rmSync(root, { recursive: true, force: true }));

function freshPath(): string {
  return join(mkdtempSync(join(root, "t-")), "drover.db");
}

/** Run the workers to the end; if one fails, stop the others too, so a failure cannot hang the test. */
async function runWorkers(data: readonly ClaimWorkerData[]): Promise<ClaimWorkerResult[]> {
  const workers = data.map(
    (item) => new Worker(new URL("./test-support/claim-worker.js", import.meta.url), { workerData: item }),
  );
  try {
    return await Promise.all(workers.map((worker, i) => resultOf(worker, data[i]?.owner ?? "?")));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

function resultOf(worker: Worker, owner: string): Promise<ClaimWorkerResult> {
  return new Promise((resolve, reject) => {
    let result: ClaimWorkerResult | undefined;
    worker.once("message", (message: ClaimWorkerResult) => {
      result = message;
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`claim worker ${owner} exited with code ${code} without a result`));
    });
  });
}

describe("SqliteStore: claims across connections", () => {
  it("never hands one row to two stores claiming the same file at once", async (t) => {
    const path = freshPath();
    const setup = SqliteStore.open({ path });
    try {
      await commitClaimRace(setup, raceEntities(40));
    } finally {
      await setup.close();
    }

    const workers = 4;
    const sync = new SharedArrayBuffer(8);
    const results = await runWorkers(
      Array.from({ length: workers }, (_, w) => ({
        path,
        owner: `worker-${w}`,
        now: T0 + 3_600_000,
        workers,
        limit: 3,
        sync,
      })),
    );

    const store = SqliteStore.open({ path });
    try {
      for (const result of results) {
        t.diagnostic(`${result.owner}: ${result.claims.length} rows, ${result.idle} empty claims`);
      }
      await assertClaimRaceSettled(
        store,
        results.flatMap((result) => result.claims),
        { outbox: 480, timers: 120 },
      );
    } finally {
      await store.close();
    }
  });

  it("waits for another connection's write lock, then reports it as StoreUnavailableError, leasing nothing", async () => {
    const path = freshPath();
    const store = SqliteStore.open({ path, busyTimeout: 50 });
    const other = new Database(path);
    try {
      await commitAll(store, [queueWrite("c_01", 1, 0, 1, T0)]);
      const query = { owner: "w", now: T0 + 10, leaseMs: 100, limit: 10 };
      other.prepare("BEGIN IMMEDIATE").run();
      const busy = (action: string) => (error: unknown) =>
        error instanceof StoreUnavailableError &&
        (error.cause as { code?: unknown }).code === "SQLITE_BUSY" &&
        error.message.includes(`unavailable while ${action}`);
      await assert.rejects(store.claimOutbox(query), busy("claiming outbox rows"));
      await assert.rejects(store.claimTimers(query), busy("claiming timers"));
      other.prepare("ROLLBACK").run();
      assert.equal((await store.listOutbox())[0]?.leaseOwner, null);
      assert.equal((await store.claimOutbox(query)).length, 1);
      other.prepare("BEGIN IMMEDIATE").run();
      await assert.rejects(store.completeOutbox("tally/c_01/1/0", "w", T0 + 20), busy("completing an outbox row"));
      other.prepare("ROLLBACK").run();
      assert.equal(await store.completeOutbox("tally/c_01/1/0", "w", T0 + 20), true);
    } finally {
      other.close();
      await store.close();
    }
  });
});
