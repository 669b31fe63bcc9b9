import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { STEP_EPOCH } from "@drover/core/testing";
import { SqliteStore } from "./sqlite-store.js";
import type { LimitWorkerData, LimitWorkerResult } from "./test-support/limit-worker.js";

// The slot and token rules every store shares are in the conformance suite; here, connections
// in other threads really contend for them at once.

const root = mkdtempSync(join(tmpdir(), "drover-sqlite-limits-"));
after(() => rmSync(root, { recursive: true, force: true }));

async function runWorkers(data: readonly LimitWorkerData[]): Promise<LimitWorkerResult[]> {
  const workers = data.map(
    (item) => new Worker(new URL("./test-support/limit-worker.js", import.meta.url), { workerData: item }),
  );
  try {
    return await Promise.all(
      workers.map(
        (worker) =>
          new Promise<LimitWorkerResult>((resolve, reject) => {
            let result: LimitWorkerResult | undefined;
            worker.once("message", (message: LimitWorkerResult) => {
              result = message;
            });
            worker.once("error", reject);
            worker.once("exit", (code) =>
              result === undefined ? reject(new Error(`limit worker exited with code ${code}`)) : resolve(result),
            );
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

describe("SqliteStore: effect limits across connections", () => {
  it("never lets more than the limit hold a slot, nor more than the burst take a token", async () => {
    const path = join(mkdtempSync(join(root, "t-")), "drover.db");
    await SqliteStore.open({ path }).close();
    const workers = 6;
    const sync = new SharedArrayBuffer(12);
    const base = { path, workers, rounds: 60, slotLimit: 2, now: STEP_EPOCH, burst: 25, sync };
    const results = await runWorkers(Array.from({ length: workers }, (_, w) => ({ ...base, holder: `w${w}` })));
    const shared = new Int32Array(sync);
    assert.equal(Atomics.load(shared, 0), 0);
    const most = Atomics.load(shared, 1);
    assert.ok(most >= 1 && most <= base.slotLimit, `at most ${base.slotLimit} at once, saw ${most}`);
    assert.ok(results.reduce((sum, r) => sum + r.slots, 0) > 0);
    assert.equal(
      results.reduce((sum, r) => sum + r.tokens, 0),
      base.burst,
    );
  });
});
