import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { App } from "./app.js";
import type { AttemptReport } from "./dispatcher.js";
import { defineEffects } from "./effects.js";
import { PermanentEffectError } from "./errors.js";
import { intentFailedEventId } from "./intent-failed.js";
import { silentLogger } from "./logger.js";
import { MemoryStore } from "./memory-store.js";
import { OutboxStatus } from "./ports.js";
import { alarmMachine } from "./test-support/alarm-machine.js";
import { tallyMachine } from "./testing/tally-machine.js";

const T0 = Date.UTC(2026, 0, 1);
const ALARM = { machine: "alarm", id: "a_1" };

/** An alarm app whose `Dial` effect runs `dial`; 3 attempts, 1 s apart, on a hand-driven clock. */
function alarmApp(dial: () => Promise<void>) {
  const store = new MemoryStore();
  const clock = { t: T0, now: () => clock.t };
  const attempts: AttemptReport[] = [];
  const app = new App({
    store,
    machines: [alarmMachine, tallyMachine],
    effects: [defineEffects(alarmMachine, { Dial: dial }), defineEffects(tallyMachine, { Noted: async () => {} })],
    clock,
    logger: silentLogger,
    dispatcher: { maxAttempts: 3, backoff: { initialMs: 1000, maxMs: 1000 }, random: () => 1 },
  });
  app.observe({ onAttempt: (report) => attempts.push(report) });
  return { app, store, clock, attempts };
}

async function failuresOf(store: MemoryStore): Promise<unknown[] | undefined> {
  const state = (await store.getEntity(ALARM))?.state as { failures: unknown[] } | undefined;
  return state?.failures;
}

/** Run every due attempt, moving the clock a retry delay at a time, until nothing is pending. */
async function drain(app: App, clock: { t: number }) {
  for (let round = 0; round < 20; round++) {
    await app.idle();
    if ((await app.listOutbox({ status: OutboxStatus.Pending })).length === 0) return;
    clock.t += 1000;
  }
  throw new Error("intents still pending after 20 rounds");
}

describe("IntentFailed: a dead letter is a domain event", () => {
  it("tells the entity once its intent ran out of attempts, with the attempts and the last error", async () => {
    let calls = 0;
    const { app, store, clock, attempts } = alarmApp(async () => {
      calls++;
      throw new Error(`line busy (${calls})`);
    });
    await app.run(ALARM, { type: "Create" });
    await app.run(ALARM, { type: "Call", number: "112" });
    await drain(app, clock);
    const [dead] = await app.deadLetters();
    assert.equal(dead?.attempts, 3);
    assert.equal(calls, 3);
    assert.deepEqual(await failuresOf(store), [{ intentType: "Dial", attempts: 3, lastError: "Error: line busy (3)" }]);
    const last = (await store.history(ALARM)).at(-1);
    assert.equal(last?.eventId, intentFailedEventId(dead?.intentId ?? ""));
    assert.equal((last?.event as { type: string }).type, "IntentFailed");
    assert.deepEqual(
      attempts.map((a) => [a.outcome, a.attempt]),
      [
        ["retry", 1],
        ["retry", 2],
        ["dead", 3],
      ],
    );
    assert.equal(attempts.at(-1)?.error, "Error: line busy (3)");
  });

  it("tells it at once when the handler refuses for good (PermanentEffectError)", async () => {
    const { app, store, clock } = alarmApp(async () => {
      throw new PermanentEffectError("number does not exist");
    });
    await app.run(ALARM, { type: "Create" });
    await app.run(ALARM, { type: "Call", number: "000" });
    await drain(app, clock);
    assert.deepEqual(await failuresOf(store), [
      { intentType: "Dial", attempts: 1, lastError: "PermanentEffectError: number does not exist" },
    ]);
  });

  it("applies it once when the process died between telling the entity and marking the row dead", async () => {
    const { app, store, clock } = alarmApp(async () => {
      throw new Error("line busy");
    });
    await app.run(ALARM, { type: "Create" });
    await app.run(ALARM, { type: "Call", number: "112" });
    // Three attempts that each died without an answer: the lease ran out each time.
    for (let i = 0; i < 3; i++) {
      await store.claimOutbox({ owner: "crashed", now: clock.t, leaseMs: 1000, limit: 1 });
      clock.t += 1000;
    }
    const [row] = await app.listOutbox();
    // The crashed process had told the entity already (as the dispatcher does first).
    await app.run(
      ALARM,
      { type: "IntentFailed", intentId: row?.intentId ?? "", intentType: "Dial", attempts: 3, lastError: "x" },
      { eventId: intentFailedEventId(row?.intentId ?? "") },
    );
    await drain(app, clock);
    assert.equal((await app.findOutbox(row?.intentId ?? ""))?.status, OutboxStatus.Dead);
    assert.equal((await failuresOf(store))?.length, 1);
  });

  it("lets an operator retry the dead intent afterwards; the entity heard the failure once", async () => {
    let fail = true;
    const { app, store, clock } = alarmApp(async () => {
      if (fail) throw new Error("line busy");
    });
    await app.run(ALARM, { type: "Create" });
    await app.run(ALARM, { type: "Call", number: "112" });
    await drain(app, clock);
    const [dead] = await app.deadLetters();
    fail = false;
    assert.equal(await app.retryDeadLetter(dead?.intentId ?? ""), true);
    await drain(app, clock);
    assert.equal((await app.findOutbox(dead?.intentId ?? ""))?.status, OutboxStatus.Done);
    assert.equal((await failuresOf(store))?.length, 1);
  });

  it("leaves machines that do not hear failures alone: the row is dead, the entity unchanged", async () => {
    const store = new MemoryStore();
    const app = new App({
      store,
      machines: [tallyMachine],
      effects: [
        defineEffects(tallyMachine, {
          Noted: async () => {
            throw new PermanentEffectError("no");
          },
        }),
      ],
      logger: silentLogger,
    });
    const tally = { machine: "tally", id: "t_a" };
    await app.run(tally, { type: "Open" });
    await app.run(tally, { type: "Add", n: 1 });
    await app.idle();
    assert.equal((await app.deadLetters()).length, 1);
    assert.equal((await store.getEntity(tally))?.version, 2);
  });
});
