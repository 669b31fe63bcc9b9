import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { ConfigurationError } from "../errors.js";
import { accept, defineMachine, reject } from "../machine.js";
import { MemoryStore } from "../memory-store.js";
import { seededRandom } from "../random.js";
import { Runtime } from "../runtime.js";
import { exploreMachine, storedStateSamples, toMermaid } from "./diagram.js";
import { sampleRegex, UnsupportedPatternError } from "./regex-sample.js";

// A jar of coins: take exactly what is in it and it is empty; a broken jar takes nothing.
const JarId = z
  .string()
  .regex(/^jar_[a-z0-9]{4,8}$/)
  .brand<"JarId">();
const jar = defineMachine({
  name: "jars",
  id: JarId,
  state: z.strictObject({ status: z.enum(["filled", "empty", "broken"]), coins: z.number().int().min(0) }),
  events: z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("Fill"), coins: z.number().int().min(1).max(500) }),
    z.strictObject({ type: z.literal("Take"), coins: z.number().int().min(1).max(1_000_000) }),
    z.strictObject({ type: z.literal("Drop"), note: z.string().max(20).optional() }),
  ]),
  intents: z.strictObject({ type: z.literal("Sweep") }),
  rejections: z.enum(["invalid", "too_many"]),
  creates: ["Fill"],
  create: (event) => accept({ status: "filled" as const, coins: event.coins }),
  handle: (state, event) => {
    switch (event.type) {
      case "Fill":
        return state.status === "broken"
          ? reject("invalid")
          : accept({ status: "filled" as const, coins: state.coins + event.coins });
      case "Take":
        if (state.status !== "filled") return reject("invalid");
        if (event.coins > state.coins) return reject("too_many");
        return accept({
          status: event.coins === state.coins ? ("empty" as const) : ("filled" as const),
          coins: state.coins - event.coins,
        });
      case "Drop":
        return state.status === "broken"
          ? reject("invalid")
          : accept({ status: "broken" as const, coins: 0 }, { type: "Sweep" as const });
    }
  },
});

describe("exploreMachine", () => {
  it("finds every transition, including one that needs exactly the number in the state", () => {
    const graph = exploreMachine(jar);
    assert.equal(graph.machine, "jars");
    assert.deepEqual([...graph.states].sort(), ["broken", "empty", "filled"]);
    assert.deepEqual(graph.transitions.map((t) => `${t.from ?? "*"} -${t.event}-> ${t.to}`).sort(), [
      "* -Fill-> filled",
      "empty -Drop-> broken",
      "empty -Fill-> filled",
      "filled -Drop-> broken",
      "filled -Fill-> filled",
      "filled -Take-> empty",
      "filled -Take-> filled",
    ]);
  });

  it("gives the same graph for the same seed", () => {
    assert.deepEqual(exploreMachine(jar, { seed: 7 }), exploreMachine(jar, { seed: 7 }));
  });

  it("names the schema path it cannot generate values for", () => {
    const stamps = defineMachine({
      name: "stamps",
      id: z.string().regex(/^s_\d{3}$/),
      state: z.object({ status: z.literal("stamped") }),
      events: z.discriminatedUnion("type", [z.object({ type: z.literal("Stamp"), when: z.date() })]),
      intents: z.object({ type: z.literal("Nothing") }),
      rejections: z.enum(["no"]),
      creates: ["Stamp"],
      create: () => accept({ status: "stamped" as const }),
      handle: () => reject("no"),
    });
    assert.throws(
      () => exploreMachine(stamps),
      (error: unknown) =>
        error instanceof ConfigurationError && /stamps.*events\.Stamp\.when.*"date"/.test(error.message),
    );
  });

  it("refuses a machine whose state has no status or state name", () => {
    const counters = defineMachine({
      name: "counters",
      id: z.string().regex(/^c_\d$/),
      state: z.object({ n: z.number() }),
      events: z.object({ type: z.literal("Start") }),
      intents: z.object({ type: z.literal("Nothing") }),
      rejections: z.enum(["no"]),
      creates: ["Start"],
      create: () => accept({ n: 0 }),
      handle: () => reject("no"),
    });
    assert.throws(() => exploreMachine(counters), /needs a `status` \(or `state`\) string field/);
  });
});

describe("toMermaid", () => {
  it("draws creations from [*], one arrow per transition, and terminal states to [*]", () => {
    const text = toMermaid({
      machine: "doors",
      states: ["closed", "open", "gone wrong"],
      transitions: [
        { from: null, event: "Install", to: "closed" },
        { from: "closed", event: "Open", to: "open" },
        { from: "open", event: "Close", to: "closed" },
        { from: "open", event: "Kick", to: "gone wrong" },
        { from: "gone wrong", event: "Kick", to: "gone wrong" },
      ],
    });
    assert.equal(
      text,
      [
        "stateDiagram-v2",
        '    state "gone wrong" as s2',
        "    [*] --> closed: Install",
        "    closed --> open: Open",
        "    open --> closed: Close",
        "    open --> s2: Kick",
        "    s2 --> s2: Kick",
        "    s2 --> [*]",
        "",
      ].join("\n"),
    );
  });
});

describe("sampleRegex", () => {
  it("makes strings that match simple patterns", () => {
    const random = seededRandom(3);
    for (const pattern of [
      /^pay_[A-Za-z0-9_-]{16,32}$/,
      /^[\x21-\x7e]{1,128}$/,
      /^(?:ab|cd)+\d{2,}x?$/,
      /^[^a-z]{3}\.\w*$/,
      /^cus_[A-Za-z0-9_-]{1,64}$/,
    ]) {
      for (let i = 0; i < 20; i++) assert.match(sampleRegex(pattern, random), pattern);
    }
  });

  it("refuses lookarounds and back-references", () => {
    assert.throws(() => sampleRegex(/^(?=a)a$/, seededRandom(1)), UnsupportedPatternError);
    assert.throws(() => sampleRegex(/^(a)\1$/, seededRandom(1)), UnsupportedPatternError);
  });
});

describe("exploreMachine with stored states", () => {
  // `unpaid` is reached only by one exact string no generated sample hits: exploration alone misses it.
  const subscriptions = defineMachine({
    name: "subscriptions",
    id: z.string().regex(/^sub_[a-z0-9]{4,24}$/),
    state: z.strictObject({ status: z.enum(["active", "unpaid", "cancelled"]) }),
    events: z.discriminatedUnion("type", [
      z.strictObject({ type: z.literal("Subscribe") }),
      z.strictObject({ type: z.literal("ChargeFailed"), code: z.string().min(1).max(40) }),
      z.strictObject({ type: z.literal("Pay") }),
      z.strictObject({ type: z.literal("Cancel") }),
    ]),
    intents: z.never(),
    rejections: z.enum(["not_allowed"]),
    creates: ["Subscribe"],
    create: () => accept({ status: "active" as const }),
    handle: (state, event) => {
      if (event.type === "ChargeFailed" && state.status === "active" && event.code === "card_declined_for_good") {
        return accept({ status: "unpaid" as const });
      }
      if (event.type === "Pay" && state.status === "unpaid") return accept({ status: "active" as const });
      if (event.type === "Cancel" && state.status !== "cancelled") return accept({ status: "cancelled" as const });
      return reject("not_allowed");
    },
  });

  it("misses a rare state alone, and draws it, explores from it and notes it when it is stored", () => {
    const alone = exploreMachine(subscriptions);
    assert.ok(!alone.states.includes("unpaid"), "the fixture's rare state is indeed missed");
    assert.equal(alone.unreached, undefined);

    const graph = exploreMachine(subscriptions, {
      storedStates: [{ status: "unpaid" }, { status: "active" }, { bogus: 1 }],
    });
    assert.ok(graph.states.includes("unpaid"));
    assert.deepEqual(graph.unreached, ["unpaid"]);
    assert.ok(graph.transitions.some((t) => t.from === "unpaid" && t.event === "Pay" && t.to === "active"));
    assert.ok(graph.transitions.some((t) => t.from === "unpaid" && t.event === "Cancel" && t.to === "cancelled"));
    assert.match(toMermaid(graph), /note right of unpaid: stored, not reached from creation/);
  });

  it("reads a few stored states per state name from a store", async () => {
    const store = new MemoryStore();
    const runtime = new Runtime({ store, machines: [subscriptions] });
    for (const id of ["sub_aaaa", "sub_bbbb", "sub_cccc"])
      await runtime.run({ machine: "subscriptions", id }, { type: "Subscribe" });
    await runtime.run(
      { machine: "subscriptions", id: "sub_bbbb" },
      { type: "ChargeFailed", code: "card_declined_for_good" },
    );
    const stored = await storedStateSamples(store, subscriptions, 1);
    assert.deepEqual(stored.map((state) => (state as { status: string }).status).sort(), ["active", "unpaid"]);
  });
});
