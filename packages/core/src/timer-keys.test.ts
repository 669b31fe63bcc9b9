import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { App } from "./app.js";
import { defineEffects } from "./effects.js";
import { silentLogger } from "./logger.js";
import { MemoryStore } from "./memory-store.js";
import { TimerStatus } from "./ports.js";
import type { RunResult } from "./result.js";
import type { TimerReport } from "./scheduler.js";
import { Scheduler } from "./scheduler.js";
import { alarmMachine } from "./test-support/alarm-machine.js";

const T0 = Date.UTC(2026, 0, 1);
const ALARM = { machine: "alarm", id: "a_1" };

function alarmApp() {
  const store = new MemoryStore();
  const clock = { t: T0, now: () => clock.t };
  const app = new App({
    store,
    machines: [alarmMachine],
    effects: [defineEffects(alarmMachine, { Dial: async () => {} })],
    clock,
    logger: silentLogger,
  });
  return { app, store, clock };
}

async function rings(app: App, ref = ALARM): Promise<string[] | undefined> {
  const state = (await app.getEntity(ref))?.state as { rings: string[] } | undefined;
  return state?.rings;
}

describe("timers: keys, cancels and dead timers", () => {
  it("replaces the pending timer of a key with a new one: only the new one fires", async () => {
    const { app, clock } = alarmApp();
    await app.run(ALARM, { type: "Create" });
    await app.run(ALARM, { type: "Arm", at: T0 + 10_000, label: "first", key: "wake" });
    await app.run(ALARM, { type: "Arm", at: T0 + 20_000, label: "second", key: "wake" });
    await app.run(ALARM, { type: "Arm", at: T0 + 15_000, label: "unkeyed" });
    const timers = await app.listTimers({ entity: ALARM });
    assert.deepEqual(
      timers.map((t) => [t.key, t.status]),
      [
        ["wake", TimerStatus.Cancelled],
        [null, TimerStatus.Pending],
        ["wake", TimerStatus.Pending],
      ],
    );
    clock.t = T0 + 30_000;
    await app.idle();
    assert.deepEqual(await rings(app), ["unkeyed", "second"]);
    assert.deepEqual(await app.timerStats(), { pending: 0, fired: 2, cancelled: 1, dead: 0 });
  });

  it("cancels a pending timer by key or by timer id; it never fires", async () => {
    const { app, clock } = alarmApp();
    await app.run(ALARM, { type: "Create" });
    await app.run(ALARM, { type: "Arm", at: T0 + 10_000, label: "keyed", key: "wake" });
    await app.run(ALARM, { type: "Arm", at: T0 + 10_000, label: "by-id" });
    const byId = (await app.listTimers({ status: TimerStatus.Pending })).find((t) => t.key === null);
    await app.run(ALARM, { type: "Disarm", key: "wake" });
    await app.run(ALARM, { type: "Disarm", key: byId?.timerId ?? "" });
    // Cancelling what is not pending (again, or never set) does nothing.
    await app.run(ALARM, { type: "Disarm", key: "wake" });
    await app.run(ALARM, { type: "Disarm", key: "nothing" });
    clock.t = T0 + 60_000;
    await app.idle();
    assert.deepEqual(await rings(app), []);
    assert.deepEqual(
      (await app.listTimers()).map((t) => t.status),
      [TimerStatus.Cancelled, TimerStatus.Cancelled],
    );
  });

  it("cancels only the entity's own timers", async () => {
    const { app, clock } = alarmApp();
    const other = { machine: "alarm", id: "a_2" };
    await app.run(ALARM, { type: "Create" });
    await app.run(other, { type: "Create" });
    await app.run(other, { type: "Arm", at: T0 + 1000, label: "other", key: "wake" });
    await app.run(ALARM, { type: "Disarm", key: "wake" });
    clock.t = T0 + 2000;
    await app.idle();
    assert.deepEqual(await rings(app, other), ["other"]);
  });

  it("gives a timer up after maxAttempts failed firings, keeps the error, and revives it on retry", async () => {
    const { store, clock, app } = alarmApp();
    await app.run(ALARM, { type: "Create" });
    await app.run(ALARM, { type: "Arm", at: T0, label: "late" });
    let broken = true;
    const reports: TimerReport[] = [];
    const scheduler = new Scheduler({
      store,
      run: (ref, event, options): Promise<RunResult> => {
        if (broken) return Promise.reject(new Error("database is locked"));
        return app.run(ref, event, options);
      },
      clock,
      logger: silentLogger,
      maxAttempts: 3,
      backoff: { initialMs: 1000, maxMs: 1000 },
      random: () => 1,
      onFire: (report) => reports.push(report),
    });
    for (let i = 0; i < 5; i++) {
      await scheduler.runOnce();
      clock.t += 1000;
    }
    const [timer] = await app.listTimers();
    assert.deepEqual(
      [timer?.status, timer?.attempts, timer?.lastError],
      [TimerStatus.Dead, 3, "Error: database is locked"],
    );
    assert.deepEqual(
      reports.map((r) => r.outcome),
      ["retry", "retry", "dead"],
    );
    broken = false;
    assert.equal(await app.retryDeadTimer(timer?.timerId ?? ""), true);
    assert.equal(await app.retryDeadTimer(timer?.timerId ?? ""), false);
    await scheduler.runOnce();
    assert.deepEqual(await rings(app), ["late"]);
    assert.equal((await app.findTimer(timer?.timerId ?? ""))?.status, TimerStatus.Fired);
  });

  it("gives a timer up at once when its event is invalid for its machine", async () => {
    const { store, clock, app } = alarmApp();
    await app.run(ALARM, { type: "Create" });
    await app.run(ALARM, { type: "Arm", at: T0, label: "x" });
    const scheduler = new Scheduler({
      store,
      run: async () => ({ kind: "invalid", reason: "invalid_event", message: "no such event", issues: [] }),
      clock,
      logger: silentLogger,
    });
    await scheduler.runOnce();
    const [timer] = await app.listTimers();
    assert.equal(timer?.status, TimerStatus.Dead);
    assert.match(timer?.lastError ?? "", /invalid event: no such event/);
  });
});
