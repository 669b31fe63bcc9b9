import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { App } from "./app.js";
import { defineEffects } from "./effects.js";
import { silentLogger } from "./logger.js";
import { MemoryStore } from "./memory-store.js";
import type { Store } from "./ports.js";
import type { SchedulerSettings } from "./scheduler.js";
import { Scheduler } from "./scheduler.js";
import { tallyMachine } from "./testing/tally-machine.js";

const T0 = Date.UTC(2026, 0, 1);
const TALLY = { machine: "tally", id: "t_a" };

/** An app of the tally machine on `store`, with a hand-driven clock at T0 and effects that do nothing. */
function tallyApp(store: Store, scheduler: SchedulerSettings) {
  const clock = { t: T0, now: () => clock.t };
  const app = new App({
    store,
    machines: [tallyMachine],
    effects: [defineEffects(tallyMachine, { Noted: async () => {} })],
    clock,
    logger: silentLogger,
    scheduler,
  });
  return { app, clock };
}

/** A tally that has scheduled its Close: ten adds at T0 make a timer due at T0 + 60 s. */
async function withTimer(store: Store = new MemoryStore()) {
  const { app, clock } = tallyApp(store, { backoff: { initialMs: 1000, maxMs: 1000 }, random: () => 1 });
  await app.run(TALLY, { type: "Open" });
  for (let i = 0; i < 10; i++) await app.run(TALLY, { type: "Add", n: 1 });
  const [timer] = await store.listTimers();
  assert.equal(timer?.dueAt, T0 + 60_000);
  return { app, store, clock, timerId: timer?.timerId ?? "" };
}

describe("Scheduler", () => {
  it("fires a timer only once it is due, as an event with the timer's id and due time", async () => {
    const { app, store, clock, timerId } = await withTimer();
    clock.t = T0 + 59_999;
    assert.equal(await app.scheduler.runOnce(), 0);
    clock.t = T0 + 61_000;
    assert.equal(await app.scheduler.runOnce(), 1);
    const last = (await store.history(TALLY)).at(-1);
    assert.deepEqual([last?.eventId, last?.at, last?.event], [timerId, T0 + 60_000, { type: "Close" }]);
    assert.equal((await store.getEntity(TALLY))?.state && (await store.getEntity(TALLY))?.version, 12);
    assert.equal((await store.listTimers())[0]?.status, "fired");
    assert.equal(await app.scheduler.runOnce(), 0);
  });

  it("applies a timer's event once even if the timer fires again after a crash", async () => {
    const { app, store, clock, timerId } = await withTimer();
    clock.t = T0 + 60_000;
    // A scheduler that fired the event, then died before marking the timer fired.
    const [claimed] = await store.claimTimers({ owner: "crashed", now: clock.t, leaseMs: 1000, limit: 10 });
    await app.run({ machine: "tally", id: "t_a" }, claimed?.event, { eventId: timerId, at: claimed?.dueAt ?? 0 });
    clock.t += 1000;
    assert.equal(await app.scheduler.runOnce(), 1);
    const closes = (await store.history(TALLY)).filter((e) => (e.event as { type: string }).type === "Close");
    assert.equal(closes.length, 1);
    assert.equal((await store.listTimers())[0]?.status, "fired");
  });

  it("retries a firing that failed (store trouble) later, keeping the error", async () => {
    const { store, clock } = await withTimer();
    let fail = true;
    const scheduler = new Scheduler({
      store,
      run: async () => {
        if (fail) throw new Error("database is locked");
        return {
          kind: "duplicate",
          eventId: "x",
          original: { kind: "rejected", machine: "tally", id: "t_a", eventId: "x", version: 1, reason: "closed" },
        };
      },
      clock,
      logger: silentLogger,
      backoff: { initialMs: 1000, maxMs: 1000 },
      random: () => 1,
    });
    clock.t = T0 + 60_000;
    await scheduler.runOnce();
    const [timer] = await store.listTimers();
    assert.deepEqual(
      [timer?.status, timer?.attempts, timer?.lastError, timer?.nextAttemptAt],
      ["pending", 1, "Error: database is locked", T0 + 61_000],
    );
    assert.equal(await scheduler.runOnce(), 0);
    fail = false;
    clock.t = T0 + 61_000;
    assert.equal(await scheduler.runOnce(), 1);
    assert.equal((await store.listTimers())[0]?.status, "fired");
  });

  it("fires due timers from its background loop", async () => {
    const store = new MemoryStore();
    const { app, clock } = tallyApp(store, { pollMs: 5 });
    await app.run(TALLY, { type: "Open" });
    await app.start();
    for (let i = 0; i < 10; i++) await app.run(TALLY, { type: "Add", n: 1 });
    clock.t = T0 + 60_000;
    const deadline = Date.now() + 5000;
    while ((await store.listTimers())[0]?.status !== "fired" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await app.stop();
    assert.equal((await store.listTimers())[0]?.status, "fired");
    assert.deepEqual((await store.getEntity(TALLY))?.state, { open: false, total: 10, adds: 10 });
  });
});
