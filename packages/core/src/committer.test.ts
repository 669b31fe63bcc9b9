import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GroupCommitter } from "./committer.js";
import { StoreUnavailableError } from "./errors.js";
import { MemoryStore } from "./memory-store.js";
import type { CommitOutcome, StepWrite, Store } from "./ports.js";
import { CommitOutcomeKind } from "./ports.js";
import { Runtime } from "./runtime.js";
import { tallyMachine } from "./testing/tally-machine.js";

/** A memory store that records the size of every commit and can fail chosen steps. */
function recordingStore(options: { failEvent?: string; throwOnce?: boolean } = {}) {
  const inner = new MemoryStore();
  const batches: number[] = [];
  let throwOnce = options.throwOnce ?? false;
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === "commit") {
        return async (steps: readonly StepWrite[]): Promise<CommitOutcome[]> => {
          batches.push(steps.length);
          if (throwOnce) {
            throwOnce = false;
            throw new StoreUnavailableError("disk unplugged");
          }
          const kept = steps.filter((step) => step.eventId !== options.failEvent);
          const outcomes = await target.commit(kept);
          return steps.map((step) =>
            step.eventId === options.failEvent
              ? { kind: CommitOutcomeKind.Failed, error: new Error(`constraint broken by ${step.eventId}`) }
              : (outcomes.shift() as CommitOutcome),
          );
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Store;
  return { store, inner, batches };
}

const ids = Array.from({ length: 40 }, (_, i) => `t_${i}`);

describe("group commit", () => {
  it("saves the steps of many entities decided together in one commit, each with its own result", async () => {
    const { store, batches } = recordingStore();
    const runtime = new Runtime({ store, machines: [tallyMachine] });
    const results = await Promise.all(ids.map((id) => runtime.run({ machine: "tally", id }, { type: "Open" })));
    assert.ok(results.every((r) => r.kind === "processed" && r.version === 1));
    assert.ok(batches.length < ids.length / 4, `expected few commits, got ${batches.length}: ${batches}`);
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      ids.length,
    );
  });

  it("fails a failing step alone: its neighbours in the same commit are processed", async () => {
    const { store, inner } = recordingStore({ failEvent: "evt_bad" });
    const runtime = new Runtime({ store, machines: [tallyMachine] });
    const outcomes = await Promise.allSettled(
      ids.map((id, i) =>
        runtime.run({ machine: "tally", id }, { type: "Open" }, { eventId: i === 7 ? "evt_bad" : `evt_${i}` }),
      ),
    );
    assert.equal(outcomes[7]?.status, "rejected");
    assert.match(String((outcomes[7] as PromiseRejectedResult).reason), /constraint broken by evt_bad/);
    assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, ids.length - 1);
    assert.equal(await inner.getEntity({ machine: "tally", id: "t_7" }), undefined);
    assert.equal((await inner.getEntity({ machine: "tally", id: "t_8" }))?.version, 1);
  });

  it("fails every step of a commit the store could not make, then carries on", async () => {
    const { store, inner } = recordingStore({ throwOnce: true });
    const runtime = new Runtime({ store, machines: [tallyMachine] });
    const outcomes = await Promise.allSettled(
      ids.slice(0, 5).map((id) => runtime.run({ machine: "tally", id }, { type: "Open" })),
    );
    assert.ok(outcomes.every((o) => o.status === "rejected" && o.reason instanceof StoreUnavailableError));
    assert.equal((await inner.listEntities("tally", { limit: 10 })).length, 0);
    assert.equal((await runtime.run({ machine: "tally", id: "t_0" }, { type: "Open" })).kind, "processed");
  });

  it("commits every step on its own when group commit is off", async () => {
    const { store, batches } = recordingStore();
    const runtime = new Runtime({ store, machines: [tallyMachine], groupCommit: false });
    await Promise.all(ids.slice(0, 10).map((id) => runtime.run({ machine: "tally", id }, { type: "Open" })));
    assert.deepEqual(batches, Array(10).fill(1));
  });

  it("gathers steps that arrive in separate turns of the event loop, as HTTP requests do", async () => {
    const { store, batches } = recordingStore();
    const runtime = new Runtime({ store, machines: [tallyMachine] });
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    // A lone caller first: the committer stops waiting for company and flushes at once…
    for (let i = 0; i < 30; i++) {
      await runtime.run({ machine: "tally", id: `t_lone${i}` }, { type: "Open" });
    }
    assert.deepEqual(batches, Array(30).fill(1));
    batches.length = 0;
    // …then 40 callers whose events each arrive in a turn of their own: it notices and batches them.
    await Promise.all(
      ids.map(async (id) => {
        for (let round = 0; round < 5; round++) {
          await nextTurn();
          const result = await runtime.run(
            { machine: "tally", id },
            round === 0 ? { type: "Open" } : { type: "Close" },
          );
          assert.ok(result.kind === "processed" || result.kind === "rejected");
        }
      }),
    );
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      ids.length * 5,
    );
    assert.ok(batches.length < ids.length, `expected batches, got ${batches.length} commits: ${batches}`);
  });

  it("caps a commit at maxBatch steps", async () => {
    const { store, batches } = recordingStore();
    const runtime = new Runtime({ store, machines: [tallyMachine], groupCommit: { maxBatch: 8 } });
    await Promise.all(ids.map((id) => runtime.run({ machine: "tally", id }, { type: "Open" })));
    assert.ok(Math.max(...batches) <= 8);
  });
});

describe("group commit with batches in flight together (store.commitConcurrency)", () => {
  /** A memory store whose commits take a few event-loop turns, recording how many overlap. */
  function slowStore(concurrency: number) {
    const inner = new MemoryStore();
    const batches: number[] = [];
    let inFlight = 0;
    let most = 0;
    const store = new Proxy(inner, {
      get(target, prop) {
        if (prop === "commitConcurrency") return concurrency;
        if (prop === "commit") {
          return async (steps: readonly StepWrite[]): Promise<CommitOutcome[]> => {
            batches.push(steps.length);
            inFlight += 1;
            most = Math.max(most, inFlight);
            try {
              for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
              return await target.commit(steps);
            } finally {
              inFlight -= 1;
            }
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as Store;
    return { store, batches, most: () => most };
  }

  it("keeps at most that many commits in flight, sends a queue of maxBatch/8 at once, and applies every step once, in order per entity", async () => {
    const { store, batches, most } = slowStore(2);
    const runtime = new Runtime({ store, machines: [tallyMachine], groupCommit: { maxBatch: 64 } });
    const many = Array.from({ length: 64 }, (_, i) => `t_${i}`);
    await Promise.all(many.map((id) => runtime.run({ machine: "tally", id }, { type: "Open" })));
    const adds = await Promise.all(
      many.flatMap((id) => [1, 2, 3].map((n) => runtime.run({ machine: "tally", id }, { type: "Add", n }))),
    );
    assert.ok(adds.every((result) => result.kind === "processed"));
    assert.equal(most(), 2);
    assert.ok(batches.every((size) => size <= 64));
    assert.ok(batches.includes(8), `a queue of 8 (64 / 8) went at once: ${batches.join(", ")}`);
    for (const id of many) {
      assert.deepEqual((await store.getEntity({ machine: "tally", id }))?.state, { open: true, total: 6, adds: 3 });
      assert.deepEqual(
        (await store.history({ machine: "tally", id })).map((entry) => entry.version),
        [1, 2, 3, 4],
      );
    }
  });

  it("keeps one commit in flight for a store that does not say otherwise", async () => {
    const { store, most } = slowStore(1);
    const runtime = new Runtime({ store, machines: [tallyMachine] });
    await Promise.all(ids.map((id) => runtime.run({ machine: "tally", id }, { type: "Open" })));
    assert.equal(most(), 1);
  });

  it("refuses a commitConcurrency that is not a positive integer", () => {
    const { store } = slowStore(0);
    assert.throws(
      () => new Runtime({ store, machines: [tallyMachine] }),
      /commitConcurrency must be a positive integer/,
    );
  });
});

describe("group commit against a store that misbehaves", () => {
  it("fails a batch answered without outcomes, and goes on committing the next", async () => {
    let calls = 0;
    const committer = new GroupCommitter<number>(async (items) => {
      calls += 1;
      if (calls === 1) return undefined as unknown as CommitOutcome[];
      return items.map(() => ({ kind: CommitOutcomeKind.Committed }));
    }, 8);
    await assert.rejects(committer.commit(1), /without outcomes/);
    assert.deepEqual(await committer.commit(2), { kind: CommitOutcomeKind.Committed });
  });
});
