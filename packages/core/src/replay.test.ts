import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { accept, defineMachine } from "./machine.js";
import { MemoryStore } from "./memory-store.js";
import { DivergenceKind, replayJournal } from "./replay.js";
import { Runtime } from "./runtime.js";
import { TALLY_LIMIT, tallyMachine } from "./testing/tally-machine.js";

async function journal() {
  const store = new MemoryStore();
  const runtime = new Runtime({ store, machines: [tallyMachine] });
  const ref = { machine: "tally", id: "t_r" };
  await runtime.run(ref, { type: "Open" });
  for (let i = 1; i <= 12; i++) await runtime.run(ref, { type: "Add", n: i * 10 });
  await runtime.run(ref, { type: "Close" });
  return store.history(ref);
}

describe("replayJournal", () => {
  it("reports nothing when the current code decides every step as recorded", async () => {
    assert.deepEqual(replayJournal(tallyMachine, await journal()), []);
  });

  it("reports each step whose state, intents or acceptance changed, with entity and version", async () => {
    const entries = await journal();
    // A "new release" that counts double from the fifth add on and never closes.
    const changed = defineMachine({
      name: "tally",
      id: tallyMachine.schemas.id,
      state: tallyMachine.schemas.state,
      events: tallyMachine.schemas.event,
      intents: tallyMachine.schemas.intent,
      rejections: tallyMachine.schemas.rejection,
      creates: ["Open"],
      create: (event, ctx) => tallyMachine.create(event, ctx),
      handle: (state, event, ctx) => {
        if (event.type === "Add" && state.adds >= 4) {
          const n = event.n * 2;
          return accept(
            { ...state, total: Math.min(TALLY_LIMIT, state.total + n), adds: state.adds + 1 },
            { type: "Noted" as const, tally: ctx.entityId, n, total: state.total + n },
          );
        }
        if (event.type === "Close") return { kind: "rejected", reason: "closed" } as const;
        return tallyMachine.handle(state, event, ctx);
      },
    });
    const divergences = replayJournal(changed, entries);
    const byVersion = divergences.map((d) => [d.version, d.kind]);
    assert.deepEqual(byVersion.slice(0, 2), [
      [6, DivergenceKind.State],
      [6, DivergenceKind.Intents],
    ]);
    assert.deepEqual(byVersion.at(-1), [14, DivergenceKind.Rejected]);
    assert.equal(divergences[0]?.id, "t_r");
    assert.equal(divergences[0]?.eventId, entries[5]?.eventId);
  });
});
