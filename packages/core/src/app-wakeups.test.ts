import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App } from "./app.js";
import { defineEffects } from "./effects.js";
import { silentLogger } from "./logger.js";
import { MemoryStore } from "./memory-store.js";
import type { Store } from "./ports.js";
import { tallyMachine } from "./testing/tally-machine.js";

/** An app whose loops poll once a minute, so that every claim after the first is a wake-up. */
function counted() {
  const inner = new MemoryStore();
  const claims = { outbox: 0, timers: 0 };
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === "claimOutbox") claims.outbox += 1;
      if (prop === "claimTimers") claims.timers += 1;
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Store;
  const app = new App({
    store,
    machines: [tallyMachine],
    effects: [defineEffects(tallyMachine, { Noted: async () => undefined })],
    logger: silentLogger,
    dispatcher: { pollMs: 60_000 },
    scheduler: { pollMs: 60_000 },
  });
  return { app, claims };
}

/** Ten `Add`s: the tenth also schedules a `Close` a minute after its event time `at`. */
async function tenAdds(app: App, at: number): Promise<void> {
  await app.run({ machine: "tally", id: "t_a" }, { type: "Open" });
  for (let n = 1; n <= 10; n++) await app.run({ machine: "tally", id: "t_a" }, { type: "Add", n }, { at });
}

/** Wait (at most 10 s) until `done` holds; false if it never did. */
async function eventually(done: () => boolean): Promise<boolean> {
  for (let waited = 0; waited < 10_000 && !done(); waited += 20) await sleep(20);
  return done();
}

describe("App wake-ups after a step", () => {
  it("wakes the dispatcher for intents, and not the scheduler for a timer due later", async () => {
    const { app, claims } = counted();
    app.start();
    // The loops' first ticks, at start.
    await eventually(() => claims.outbox > 0 && claims.timers > 0);
    const before = { ...claims };
    await tenAdds(app, Date.now());
    assert.ok(await eventually(() => claims.outbox > before.outbox), "the dispatcher was woken for the Noted intents");
    await sleep(100);
    await app.stop();
    assert.equal(claims.timers, before.timers, "a Close due in a minute woke no claim");
  });

  it("wakes the scheduler for a timer that is already due", async () => {
    const { app, claims } = counted();
    app.start();
    // The loops' first ticks, at start.
    await eventually(() => claims.outbox > 0 && claims.timers > 0);
    const before = claims.timers;
    await tenAdds(app, Date.now() - 120_000);
    assert.ok(await eventually(() => claims.timers > before), "a Close due a minute ago woke a claim");
    await app.stop();
  });
});
