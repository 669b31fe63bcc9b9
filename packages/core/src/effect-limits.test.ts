import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { App } from "./app.js";
import type { AttemptReport } from "./dispatcher.js";
import { Dispatcher } from "./dispatcher.js";
import { defineEffects } from "./effects.js";
import { ConfigurationError } from "./errors.js";
import { silentLogger } from "./logger.js";
import { MemoryStore } from "./memory-store.js";
import { OutboxStatus } from "./ports.js";
import { alarmMachine } from "./test-support/alarm-machine.js";

const T0 = Date.UTC(2026, 0, 1);

async function call(app: App, id: string, number: string) {
  const ref = { machine: "alarm", id };
  await app.run(ref, { type: "Create" });
  await app.run(ref, { type: "Call", number });
}

describe("effect limits", () => {
  it("runs at most `concurrency` attempts of a key at once, and other keys meanwhile", async () => {
    const running = new Map<string, number>();
    const most = new Map<string, number>();
    const order: string[] = [];
    const store = new MemoryStore();
    const app = new App({
      store,
      machines: [alarmMachine],
      effects: [
        defineEffects(
          alarmMachine,
          {
            Dial: async ({ number }) => {
              order.push(number);
              running.set(number, (running.get(number) ?? 0) + 1);
              most.set(number, Math.max(most.get(number) ?? 0, running.get(number) ?? 0));
              await new Promise((resolve) => setTimeout(resolve, 40));
              running.set(number, (running.get(number) ?? 1) - 1);
            },
          },
          { limits: { Dial: { key: (intent) => `number:${intent.number}`, concurrency: 2 } } },
        ),
      ],
      logger: silentLogger,
      dispatcher: { concurrency: 8, pollMs: 20 },
    });
    const attempts: AttemptReport[] = [];
    app.observe({ onAttempt: (report) => attempts.push(report) });
    for (let i = 0; i < 8; i++) await call(app, `a_busy${i}`, "busy");
    await call(app, "a_quiet", "quiet");
    await app.start();
    try {
      await app.settled({ timeoutMs: 10_000 });
    } finally {
      await app.stop();
    }
    assert.equal(most.get("busy"), 2);
    assert.equal(order.filter((n) => n === "busy").length, 8);
    // The quiet number did not wait for the busy one's eight calls.
    assert.ok(order.indexOf("quiet") < 4, `quiet ran at position ${order.indexOf("quiet")}`);
    // Waiting is not an attempt: every report is a real, first and only attempt.
    assert.deepEqual(new Set(attempts.map((a) => `${a.outcome}/${a.attempt}`)), new Set(["done/1"]));
    const rows = await app.listOutbox({ status: OutboxStatus.Done });
    assert.ok(rows.every((row) => row.attempts === 1));
  });

  it("runs at most `perSecond` attempts of a key per second, after a burst", async () => {
    const clock = { t: T0, now: () => clock.t };
    const dialled: number[] = [];
    const store = new MemoryStore();
    const app = new App({
      store,
      machines: [alarmMachine],
      effects: [
        defineEffects(
          alarmMachine,
          {
            Dial: async () => {
              dialled.push(clock.t);
            },
          },
          { limits: { Dial: { perSecond: 2, burst: 2 } } },
        ),
      ],
      clock,
      logger: silentLogger,
    });
    for (let i = 0; i < 6; i++) await call(app, `a_${i}`, "112");
    for (let step = 0; step < 40 && dialled.length < 6; step++) {
      await app.dispatcher.runOnce();
      clock.t += 100;
    }
    assert.equal(dialled.length, 6);
    // Two at once, then one every 500 ms.
    assert.deepEqual(
      dialled.map((t) => t - T0),
      [0, 0, 500, 1000, 1500, 2000],
    );
  });

  it("refuses limits that make no sense, naming the intent", () => {
    const build = (limit: object) =>
      new Dispatcher({
        store: new MemoryStore(),
        run: async () => {
          throw new Error("unused");
        },
        effects: [defineEffects(alarmMachine, { Dial: async () => {} }, { limits: { Dial: limit } })],
      });
    assert.throws(() => build({ concurrency: 0 }), ConfigurationError);
    assert.throws(() => build({ perSecond: -1 }), /alarm intent Dial: perSecond must be a number > 0/);
    assert.throws(() => build({}), /needs concurrency or perSecond/);
  });
});
