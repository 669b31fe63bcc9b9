import assert from "node:assert/strict";
import { RunResultKind } from "../../result.js";
import { Runtime } from "../../runtime.js";
import { acceptedWrite, rejectionWrite } from "../step-writes.js";
import { tallyMachine } from "../tally-machine.js";
import type { Suite } from "./suite.js";
import { commitOk, ref, snapshot, totalOf } from "./suite.js";

/** The store under the runtime: concurrent events, and durability across a reopen. */
export function throughRuntimeSpec(suite: Suite): void {
  const { describe, it, withStore, options } = suite;
  describe("through the runtime", () => {
    it(
      "serialises concurrent events on one entity: versions are contiguous, none lost",
      withStore(async (store) => {
        const runtime = new Runtime({ store, machines: [tallyMachine] });
        const tally = { machine: "tally", id: "t_busy" };
        assert.equal((await runtime.run(tally, { type: "Open" })).kind, RunResultKind.Processed);
        const results = await Promise.all(
          Array.from({ length: 60 }, (_, i) => runtime.run(tally, { type: "Add", n: 1 }, { eventId: `evt_add_${i}` })),
        );
        assert.ok(results.every((r) => r.kind === RunResultKind.Processed));
        const history = await store.history(tally);
        assert.deepEqual(
          history.map((e) => e.version),
          Array.from({ length: 61 }, (_, i) => i + 1),
        );
        assert.deepEqual((await store.getEntity(tally))?.state, { open: true, total: 60, adds: 60 });
      }),
    );

    it(
      "retries version conflicts between two runtimes sharing the store: no lost update",
      withStore(async (store) => {
        // Two runtimes stand for two processes: each serialises only its own callers.
        const a = new Runtime({ store, machines: [tallyMachine], maxAttempts: 100 });
        const b = new Runtime({ store, machines: [tallyMachine], maxAttempts: 100 });
        const tally = { machine: "tally", id: "t_shared" };
        await a.run(tally, { type: "Open" });
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 === 0 ? a : b).run(tally, { type: "Add", n: i + 1 }, { eventId: `evt_${i}` }),
          ),
        );
        assert.deepEqual(
          results.map((r) => r.kind),
          results.map(() => RunResultKind.Processed),
        );
        const history = await store.history(tally);
        assert.equal(history.length, 41);
        assert.deepEqual(
          history.map((e) => e.version),
          Array.from({ length: 41 }, (_, i) => i + 1),
        );
        assert.equal(await totalOf(store, tally), (40 * 41) / 2);
        assert.equal(new Set(history.map((e) => e.eventId)).size, 41);
      }),
    );

    it(
      "applies one event id once even when sent concurrently through two runtimes",
      withStore(async (store) => {
        const a = new Runtime({ store, machines: [tallyMachine] });
        const b = new Runtime({ store, machines: [tallyMachine] });
        const tally = { machine: "tally", id: "t_once" };
        await a.run(tally, { type: "Open" });
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 === 0 ? a : b).run(tally, { type: "Add", n: 5 }, { eventId: "evt_same" }),
          ),
        );
        assert.equal(results.filter((r) => r.kind === RunResultKind.Processed).length, 1);
        assert.equal(results.filter((r) => r.kind === RunResultKind.Duplicate).length, 9);
        assert.equal(await totalOf(store, tally), 5);
        assert.equal((await store.history(tally)).length, 2);
      }),
    );
  });

  if (options.reopen !== undefined) {
    const reopen = options.reopen;
    describe("durability", () => {
      it("keeps every committed row across close and reopen", async () => {
        let store = await options.open();
        try {
          await commitOk(
            store,
            acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }], [{ type: "Close" }]),
          );
          await commitOk(store, rejectionWrite("t_a", "evt_2", 1, "closed"));
          const before = await snapshot(store, "t_a");
          store = await reopen(store);
          assert.deepEqual(await snapshot(store, "t_a"), before);
          assert.equal((await store.listTimers()).length, 1);
          await commitOk(store, acceptedWrite("t_a", "evt_3", 1, { n: 3 }));
          assert.equal((await store.getEntity(ref("t_a")))?.version, 2);
        } finally {
          await store.close();
        }
      });
    });
  }
}
