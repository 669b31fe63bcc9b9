import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { AnyMachine } from "@drover/core";
import { DecisionKind, MachineContractError, RunResultKind, Runtime } from "@drover/core";
import { tallyMachine } from "@drover/core/testing";
import { SqliteStore } from "./sqlite-store.js";

// The runtime on SQLite decides each step inside the write transaction (store.transact): what
// the conformance suite cannot see, because it drives the port, not the runtime.

const root = mkdtempSync(join(tmpdir(), "drover-sqlite-transact-"));
after(() => rmSync(root, { recursive: true, force: true }));

function open(): SqliteStore {
  return new SqliteStore({ path: join(mkdtempSync(join(root, "t-")), "drover.db"), synchronous: "NORMAL" });
}

describe("steps decided inside the write transaction", () => {
  it("answers the second of two steps with one event id in one batch as a reuse of the key, writing it once", async () => {
    const store = open();
    const runtime = new Runtime({ store, machines: [tallyMachine] });
    const [a, b] = await Promise.all([
      runtime.run({ machine: "tally", id: "t_a" }, { type: "Open" }, { eventId: "evt_same" }),
      runtime.run({ machine: "tally", id: "t_b" }, { type: "Open" }, { eventId: "evt_same" }),
    ]);
    assert.equal(a?.kind, RunResultKind.Processed);
    assert.equal(b?.kind, RunResultKind.Invalid);
    assert.equal((await store.getEntity({ machine: "tally", id: "t_b" })) === undefined, true);
    assert.equal((await store.history({ machine: "tally", id: "t_a" })).length, 1);
    await store.close();
  });

  it("fails a step whose machine breaks its schema alone, and commits its neighbours", async () => {
    // The tally machine, but its create returns a state its own schema refuses.
    const broken: AnyMachine = {
      ...tallyMachine,
      name: "broken",
      create: () => ({ kind: DecisionKind.Accepted, state: { open: "yes" }, intents: [] }),
    };
    const store = open();
    const runtime = new Runtime({ store, machines: [tallyMachine, broken] });
    const [good, bad] = await Promise.allSettled([
      runtime.run({ machine: "tally", id: "t_a" }, { type: "Open" }),
      runtime.run({ machine: "broken", id: "t_b" }, { type: "Open" }),
    ]);
    assert.equal(good.status === "fulfilled" && good.value.kind, RunResultKind.Processed);
    assert.equal(bad.status, "rejected");
    assert.ok(bad.status === "rejected" && bad.reason instanceof MachineContractError);
    assert.equal(await store.getEntity({ machine: "broken", id: "t_b" }), undefined);
    assert.equal((await store.getEntity({ machine: "tally", id: "t_a" }))?.version, 1);
    await store.close();
  });

  it("applies steps of many entities batched, each once, in order per entity", async () => {
    const store = open();
    const runtime = new Runtime({ store, machines: [tallyMachine] });
    const ids = Array.from({ length: 32 }, (_, i) => `t_${i}`);
    await Promise.all(ids.map((id) => runtime.run({ machine: "tally", id }, { type: "Open" })));
    await Promise.all(
      ids.flatMap((id) => [1, 2, 3].map((n) => runtime.run({ machine: "tally", id }, { type: "Add", n }))),
    );
    for (const id of ids) {
      const entity = await store.getEntity({ machine: "tally", id });
      assert.deepEqual(entity?.state, { open: true, total: 6, adds: 3 });
      assert.deepEqual(
        (await store.history({ machine: "tally", id })).map((entry) => entry.version),
        [1, 2, 3, 4],
      );
    }
    await store.close();
  });
});
