import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeyedQueue } from "./key-queue.js";

describe("KeyedQueue", () => {
  it("runs tasks of one key one at a time, in order, even when one fails", async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const task =
      (name: string, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await new Promise((resolve) => setImmediate(resolve));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      queue.run("k", task("a")),
      queue.run("k", task("b", true)),
      queue.run("k", task("c")),
    ]);
    assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    assert.equal(queue.size, 0);
  });

  it("runs tasks of different keys concurrently", async () => {
    const queue = new KeyedQueue();
    let running = 0;
    let peak = 0;
    const task = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
    };
    await Promise.all(["a", "b", "c"].map((key) => queue.run(key, task)));
    assert.equal(peak, 3);
  });
});
