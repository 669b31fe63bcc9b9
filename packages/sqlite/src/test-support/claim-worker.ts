/**
 * A dispatcher and scheduler in a worker thread, for claims-across-connections.test.ts: opens its own SqliteStore
 * (its own connection, as another process would) on a shared file, waits for its siblings,
 * then claims outbox rows and timers in small batches and completes each, until nothing is
 * pending. Posts back what it claimed, with ticks of a counter shared by all workers.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parentPort, workerData } from "node:worker_threads";
import { OutboxStatus, TimerStatus } from "@drover/core";
import type { ClaimSeen } from "@drover/core/testing";
import { SqliteStore } from "../sqlite-store.js";

/** What the test hands each worker. */
export interface ClaimWorkerData {
  readonly path: string;
  readonly owner: string;
  /** Every claim's clock: all rows are due, and no lease expires. */
  readonly now: number;
  readonly workers: number;
  readonly limit: number;
  /** Int32Array view: [0] the tick counter, [1] how many workers are ready. */
  readonly sync: SharedArrayBuffer;
}

/** What a worker posts back when it is done. */
export interface ClaimWorkerResult {
  readonly owner: string;
  readonly claims: readonly ClaimSeen[];
  /** Claims that came back empty while rows were still pending (held by siblings). */
  readonly idle: number;
}

const LEASE_MS = 3_600_000;
/** Empty claims in a row (about a millisecond each) before a worker decides rows are stuck. */
const MAX_WAITING = 5000;

async function run(data: ClaimWorkerData): Promise<ClaimWorkerResult> {
  const ticks = new Int32Array(data.sync);
  const store = SqliteStore.open({ path: data.path });
  const claims: ClaimSeen[] = [];
  let idle = 0;
  let waiting = 0;
  try {
    // A barrier, so the workers really claim at the same time.
    Atomics.add(ticks, 1, 1);
    Atomics.notify(ticks, 1);
    for (let ready = Atomics.load(ticks, 1); ready < data.workers; ready = Atomics.load(ticks, 1)) {
      Atomics.wait(ticks, 1, ready, 1000);
    }
    const query = { owner: data.owner, now: data.now, leaseMs: LEASE_MS, limit: data.limit };
    for (;;) {
      const rows = await store.claimOutbox(query);
      const timers = await store.claimTimers(query);
      const claimedAt = Atomics.add(ticks, 0, 1);
      if (rows.length === 0 && timers.length === 0) {
        const pendingRows = await store.listOutbox({ status: OutboxStatus.Pending, limit: 1 });
        const pendingTimers = (await store.listTimers()).filter((t) => t.status === TimerStatus.Pending);
        if (pendingRows.length === 0 && pendingTimers.length === 0) break;
        idle++;
        if (++waiting > MAX_WAITING) throw new Error(`${data.owner}: rows stayed pending and unclaimable`);
        await sleep(1);
        continue;
      }
      waiting = 0;
      for (const row of rows) {
        const settlingAt = Atomics.add(ticks, 0, 1);
        if (!(await store.completeOutbox(row.intentId, data.owner, data.now))) {
          throw new Error(`${data.owner} lost the lease of ${row.intentId} it had just claimed`);
        }
        claims.push({
          kind: "outbox",
          id: row.intentId,
          owner: data.owner,
          attempts: row.attempts,
          claimedAt,
          settlingAt,
        });
      }
      for (const timer of timers) {
        const settlingAt = Atomics.add(ticks, 0, 1);
        if (!(await store.completeTimer(timer.timerId, data.owner, data.now))) {
          throw new Error(`${data.owner} lost the lease of timer ${timer.timerId} it had just claimed`);
        }
        claims.push({
          kind: "timer",
          id: timer.timerId,
          owner: data.owner,
          attempts: timer.attempts,
          claimedAt,
          settlingAt,
        });
      }
      // Stands for executing the effects; without it one worker could take the write lock back
      // before SQLite's busy handler wakes its siblings, and do all the work alone.
      await sleep(1);
    }
  } finally {
    await store.close();
  }
  return { owner: data.owner, claims, idle };
}

if (parentPort !== null) {
  const port = parentPort;
  // A rejection is unhandled here, which ends the worker with an "error" event for the test.
  void run(workerData as ClaimWorkerData).then((result) => port.postMessage(result));
}
