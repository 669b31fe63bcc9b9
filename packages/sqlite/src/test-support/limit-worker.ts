/**
 * A dispatcher's effect limits in a worker thread, for limits-across-connections.test.ts: opens
 * its own SqliteStore (its own connection, as another process would) on a shared file, waits
 * for its siblings, then takes slots and tokens of one key as fast as it can. While it holds
 * a slot it counts itself in a counter shared by all workers and records the highest count
 * seen, which must never pass the limit. Posts back how many slots and tokens it got.
 */
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from "node:timers/promises";
import { parentPort, workerData } from "node:worker_threads";
import { SqliteStore } from "../sqlite-store.js";

/** What the test hands each worker. */
export interface LimitWorkerData {
  readonly path: string;
  readonly holder: string;
  readonly workers: number;
  readonly rounds: number;
  readonly slotLimit: number;
  /** Every token request's clock: the bucket never refills, so exactly `burst` are taken in all. */
  readonly now: number;
  readonly burst: number;
  /** Int32Array view: [0] slots held now, [1] the most ever held at once, [2] workers ready. */
  readonly sync: SharedArrayBuffer;
}

/** What a worker posts back when it is done. */
export interface LimitWorkerResult {
  readonly slots: number;
  readonly tokens: number;
}

async function run(data: LimitWorkerData): Promise<LimitWorkerResult> {
  const shared = new Int32Array(data.sync);
  const store = SqliteStore.open({ path: data.path });
  let slots = 0;
  let tokens = 0;
  try {
    Atomics.add(shared, 2, 1);
    Atomics.notify(shared, 2);
    for (let ready = Atomics.load(shared, 2); ready < data.workers; ready = Atomics.load(shared, 2)) {
      Atomics.wait(shared, 2, ready, 1000);
    }
    const slot = {
      key: "provider",
      limit: data.slotLimit,
      holder: data.holder,
      owner: data.holder,
      leaseMs: 3_600_000,
    };
    for (let round = 0; round < data.rounds; round++) {
      if (await store.acquireSlot({ ...slot, now: data.now })) {
        slots++;
        const held = Atomics.add(shared, 0, 1) + 1;
        for (let most = Atomics.load(shared, 1); held > most; most = Atomics.load(shared, 1)) {
          Atomics.compareExchange(shared, 1, most, held);
        }
        // Stands for the effect: hold the slot a moment, so that the others contend for it.
        await sleep(1);
        Atomics.sub(shared, 0, 1);
        await store.releaseSlot(slot.key, data.holder);
      }
      const wait = await store.takeToken({ key: "provider", perSecond: 1, burst: data.burst, now: data.now });
      if (wait === 0) tokens++;
      await yieldToEventLoop();
    }
  } finally {
    await store.close();
  }
  return { slots, tokens };
}

if (parentPort !== null) {
  const port = parentPort;
  // A rejection is unhandled here, which ends the worker with an "error" event for the test.
  void run(workerData as LimitWorkerData).then((result) => port.postMessage(result));
}
