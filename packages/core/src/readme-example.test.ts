// The README's first example, kept compiling and passing here.
import assert from "node:assert/strict";
import { it } from "node:test";
import { z } from "zod";
import { accept, defineMachine, MemoryStore, Runtime, reject } from "./index.js";

it("runs the README example", async () => {
  const doors = defineMachine({
    name: "doors",
    id: z
      .string()
      .regex(/^door_\w+$/)
      .brand<"DoorId">(),
    state: z.object({ open: z.boolean() }),
    events: z.discriminatedUnion("type", [
      z.object({ type: z.literal("Install") }),
      z.object({ type: z.literal("Open") }),
    ]),
    intents: z.object({ type: z.literal("RingBell") }),
    rejections: z.enum(["already_installed", "already_open"]),
    creates: ["Install"],
    create: () => accept({ open: false }),
    handle: (state, event) => {
      if (event.type === "Install") return reject("already_installed");
      return state.open ? reject("already_open") : accept({ open: true }, { type: "RingBell" as const });
    },
  });
  const runtime = new Runtime({ store: new MemoryStore(), machines: [doors] });
  await runtime.run({ machine: "doors", id: "door_1" }, { type: "Install" });
  const result = await runtime.run({ machine: "doors", id: "door_1" }, { type: "Open" });
  // → { kind: "processed", version: 2, state: { open: true }, intents: [{ id: "doors/door_1/2/0", … }] }
  assert.equal(result.kind, "processed");
  assert.deepEqual(result.kind === "processed" && result.intents, [
    { id: "doors/door_1/2/0", intent: { type: "RingBell" } },
  ]);
});
