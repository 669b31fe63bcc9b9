import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { exploreMachine } from "./graph/diagram.js";
import { accept, defineMachine, reject } from "./machine.js";
import { MemoryStore } from "./memory-store.js";
import { RunResultKind } from "./result.js";
import { Runtime } from "./runtime.js";
import { byStateName, conventionalStateName } from "./state-name.js";
import { TallyId } from "./testing/tally-machine.js";

// A lamp whose state says nothing of `status` or `state`: the machine names it from `on`.
// Its ids are the tally fixture's.
const lamps = defineMachine({
  name: "lamps",
  id: TallyId,
  state: z.strictObject({ on: z.boolean(), status: z.string().optional() }),
  events: z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("Install") }),
    z.strictObject({ type: z.literal("Switch") }),
  ]),
  intents: z.strictObject({ type: z.literal("Noop") }),
  rejections: z.enum(["installed"]),
  creates: ["Install"],
  // `status` here is a free note, not the state's name: the machine says so.
  stateName: (state) => (state.on ? "lit" : "dark"),
  create: () => accept({ on: false, status: "new" }),
  handle: (state, event) => (event.type === "Switch" ? accept({ on: !state.on }) : reject("installed")),
});

describe("state names", () => {
  it("by default read the `status` string member, else the `state` string member", () => {
    assert.equal(conventionalStateName({ status: "open", state: "x" }), "open");
    assert.equal(conventionalStateName({ status: 7, state: "closed" }), "closed");
    assert.equal(conventionalStateName({ n: 1 }), null);
    assert.equal(conventionalStateName(["open"]), null);
    assert.equal(conventionalStateName("open"), null);
    assert.equal(conventionalStateName(null), null);
  });

  it("come from the machine when it says how, and the default otherwise", () => {
    assert.equal(lamps.stateName({ on: true, status: "new" }), "lit");

    const plain = defineMachine({
      name: "plain",
      id: TallyId,
      state: z.strictObject({ on: z.boolean(), status: z.string().optional() }),
      events: z.strictObject({ type: z.literal("Install") }),
      intents: z.strictObject({ type: z.literal("Noop") }),
      rejections: z.enum(["installed"]),
      creates: ["Install"],
      create: () => accept({ on: false }),
      handle: () => reject("installed"),
    });
    assert.equal(plain.stateName({ on: true, status: "new" }), "new");
    assert.equal(plain.stateName({ on: true }), null);
    const untyped = defineMachine({
      name: "untyped",
      id: TallyId,
      state: z.strictObject({ on: z.boolean() }),
      events: z.strictObject({ type: z.literal("Install") }),
      intents: z.strictObject({ type: z.literal("Noop") }),
      rejections: z.enum(["installed"]),
      creates: ["Install"],
      // What untyped code might hand back.
      stateName: () => 7 as unknown as string,
      create: () => accept({ on: false }),
      handle: () => reject("installed"),
    });
    assert.equal(untyped.stateName({ on: true }), null, "what is not a string is no name");
  });

  it("are what the runtime stores beside the state, so lists and counts follow the machine", async () => {
    const store = new MemoryStore();
    const runtime = new Runtime({ store, machines: [lamps] });
    for (const id of ["t_a", "t_b", "t_c"]) await runtime.run({ machine: "lamps", id }, { type: "Install" });
    const switched = await runtime.run({ machine: "lamps", id: "t_b" }, { type: "Switch" });
    assert.equal(switched.kind, RunResultKind.Processed);
    assert.equal((await store.getEntity({ machine: "lamps", id: "t_b" }))?.stateName, "lit");
    assert.deepEqual(await store.countEntities("lamps"), [
      { stateName: "dark", count: 2 },
      { stateName: "lit", count: 1 },
    ]);
    assert.deepEqual(
      (await store.listEntities("lamps", { limit: 10, stateName: "dark" })).map((e) => e.id),
      ["t_a", "t_c"],
    );
  });

  it("name the diagram's states", () => {
    const graph = exploreMachine(lamps);
    assert.deepEqual([...graph.states].sort(), ["dark", "lit"]);
  });

  it("count in name order, unnamed last", () => {
    const counts = [
      { stateName: null, count: 1 },
      { stateName: "b", count: 1 },
      { stateName: "a", count: 1 },
    ];
    assert.deepEqual(
      counts.sort(byStateName).map((c) => c.stateName),
      ["a", "b", null],
    );
  });
});
