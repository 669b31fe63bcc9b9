import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineEffects, followUp } from "../effects.js";
import { ConfigurationError } from "../errors.js";
import { OutboxStatus } from "../ports.js";
import { seededRandom } from "../random.js";
import { backoffDelay } from "../work-loop.js";
import { SCENARIO_EPOCH } from "./scenario.js";
import { tallyMachine } from "./tally-machine.js";
import { testApp } from "./test-app.js";
import { TestClock } from "./test-clock.js";
import { answers } from "./test-effects.js";

const T0 = SCENARIO_EPOCH;
const TALLY = { machine: "tally", id: "t_a" };
const NOTED = "tally/t_a/2/0";
/** The dispatcher's default backoff, which a test app keeps. */
const BACKOFF = { initialMs: 500, maxMs: 60_000 };

/** The delays after failed attempts 1, 2, … as a dispatcher with jitter seed `seed` draws them. */
function backoffs(count: number, seed = 1): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => backoffDelay(i + 1, BACKOFF, random));
}

/** A tally app whose `Noted` intents are recorded; `t_a` opened and added to once, at T0. */
async function openedTally(options: { seed?: number; maxAttempts?: number; maxSteps?: number } = {}) {
  const app = testApp({
    machines: [tallyMachine],
    record: ["Noted"],
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.maxSteps === undefined ? {} : { maxSteps: options.maxSteps }),
    ...(options.maxAttempts === undefined ? {} : { dispatcher: { maxAttempts: options.maxAttempts } }),
  });
  await app.run(TALLY, { type: "Open" });
  await app.run(TALLY, { type: "Add", n: 5 });
  return app;
}

/** Ten adds at T0: the tenth schedules a `Close` at T0 + 60 s. */
async function tallyWithTimer() {
  const app = await openedTally();
  for (let i = 0; i < 9; i++) await app.run(TALLY, { type: "Add", n: 1 });
  return app;
}

describe("testApp (virtual time)", () => {
  it("runs nothing until the test advances time, even once started", async () => {
    const app = await openedTally();
    await app.start();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(app.handled(), []);
    assert.deepEqual(
      (await app.outbox.pending()).map((row) => [row.intentId, row.attempts]),
      [[NOTED, 0]],
    );
    assert.equal(app.clock.now(), T0);
    assert.equal(await app.nextDueAt(), T0, "due now, waiting for advance");

    await app.advance(0);
    assert.deepEqual(
      app.handled().map((h) => [h.intentId, h.attempt, h.at, h.outcome]),
      [[NOTED, 1, T0, "done"]],
    );
    assert.equal(app.clock.now(), T0, "advance(0) runs what is due without moving the clock");
    assert.equal(await app.nextDueAt(), undefined);
    await app.stop();
  });

  it("retries an intent that fails twice at exactly its backoff instants, then succeeds", async () => {
    const app = await openedTally();
    app.answer("Noted", answers.fail("mailer down"), answers.fail("mailer down"));
    const [first = 0, second = 0] = backoffs(2);

    await app.advance(10_000);
    assert.deepEqual(
      app.handled().map((h) => [h.attempt, h.at, h.outcome, h.error]),
      [
        [1, T0, "retry", "Error: mailer down"],
        [2, T0 + first, "retry", "Error: mailer down"],
        [3, T0 + first + second, "done", undefined],
      ],
    );
    assert.ok(first >= 250 && first <= 500 && second >= 500 && second <= 1000, `jittered backoffs ${first}, ${second}`);
    assert.equal(app.clock.now(), T0 + 10_000);
    assert.deepEqual(
      (await app.outbox.done()).map((row) => [row.intentId, row.attempts]),
      [[NOTED, 3]],
    );
  });

  it("runs a retry at its instant and not a millisecond before", async () => {
    const app = await openedTally();
    app.answer("Noted", answers.fail());
    await app.advance(0);
    const [row] = await app.outbox.pending();
    assert.equal(row?.nextAttemptAt, T0 + (backoffs(1)[0] ?? 0));
    const retryAt = row?.nextAttemptAt ?? 0;
    assert.equal(await app.nextDueAt(), retryAt);

    await app.advanceTo(retryAt - 1);
    assert.equal(app.handled().length, 1, "retried before its backoff elapsed");
    await app.advance(1);
    assert.deepEqual(
      app.handled().map((h) => [h.attempt, h.at, h.outcome]),
      [
        [1, T0, "retry"],
        [2, retryAt, "done"],
      ],
    );
  });

  it("dead-letters an intent after maxAttempts, with its last error", async () => {
    const app = await openedTally({ maxAttempts: 3 });
    app.answerAlways("Noted", answers.fail("mailer gone"));
    await app.advance(3_600_000);
    assert.deepEqual(
      app.handled().map((h) => [h.attempt, h.outcome]),
      [
        [1, "retry"],
        [2, "retry"],
        [3, "dead"],
      ],
    );
    const [dead] = await app.outbox.dead();
    assert.deepEqual(
      [dead?.intentId, dead?.status, dead?.attempts, dead?.lastError],
      [NOTED, OutboxStatus.Dead, 3, "Error: mailer gone"],
    );
    assert.deepEqual(await app.outbox.pending(), []);
  });

  it("holds a paused intent type through an advance, attempts untouched, and runs it once resumed", async () => {
    const app = await openedTally();
    await app.pauseIntentType("Noted");
    await app.advance(3_600_000);
    assert.deepEqual(app.handled(), []);
    const [held] = await app.outbox.pending();
    assert.deepEqual([held?.intentId, held?.attempts], [NOTED, 0]);
    await app.resumeIntentType("Noted");
    await app.advance(0);
    assert.deepEqual(
      app.handled().map((h) => [h.attempt, h.outcome]),
      [[1, "done"]],
    );
  });

  it("fires a timer 60 s out at +60 s and not before, with the timer's id and due time", async () => {
    const app = await tallyWithTimer();
    const [timer] = await app.timers(TALLY);
    assert.equal(timer?.dueAt, T0 + 60_000);

    await app.advance(59_999);
    assert.equal((await app.state(tallyMachine, "t_a"))?.open, true, "closed before its time");
    await app.advance(1);
    assert.equal((await app.state(tallyMachine, "t_a"))?.open, false);
    const last = (await app.history(TALLY)).at(-1);
    assert.deepEqual([last?.event, last?.eventId, last?.at], [{ type: "Close" }, timer?.timerId, T0 + 60_000]);
    assert.deepEqual(await app.timers(), []);
  });

  it("stops at each due instant inside one advance: a retry at +0.5 s and a timer at +60 s", async () => {
    const app = await tallyWithTimer();
    app.answer("Noted", answers.fail("mailer down"));
    const [first = 0] = backoffs(1);

    await app.advance(3_600_000);
    // The failed first intent holds back its entity's nine later ones until its retry.
    assert.deepEqual(
      app.handled().map((h) => h.at - T0),
      [0, ...Array.from({ length: 10 }, () => first)],
    );
    const history = await app.history(TALLY);
    assert.deepEqual(
      history.slice(-1).map((entry) => [entry.event, entry.at - T0]),
      [[{ type: "Close" }, 60_000]],
    );
    assert.equal(app.clock.now(), T0 + 3_600_000);
  });

  it("lands retries at the same instants on every run with the same seed", async () => {
    const instants = async (seed: number) => {
      const app = await openedTally({ seed });
      app.answer("Noted", answers.fail(), answers.fail(), answers.fail());
      await app.advance(60_000);
      return app.handled().map((h) => h.at);
    };
    assert.deepEqual(await instants(7), await instants(7));
    assert.notDeepEqual(await instants(7), await instants(8));
  });

  it("records an intent with its fields, in place of the handler the test supplied", async () => {
    const app = testApp({
      machines: [tallyMachine],
      effects: [defineEffects(tallyMachine, { Noted: () => Promise.reject(new Error("the real mailer")) })],
      record: ["Noted"],
    });
    await app.run(TALLY, { type: "Open" });
    await app.run(TALLY, { type: "Add", n: 5 });
    await app.advance(0);
    assert.deepEqual(
      app.handled("Noted").map((h) => [h.intent, h.outcome]),
      [[{ type: "Noted", tally: "t_a", n: 5, total: 5 }, "done"]],
    );
  });

  it("keeps the attempts of the handlers the test supplies, and scripts them too", async () => {
    const mailed: number[] = [];
    const app = testApp({
      machines: [tallyMachine],
      effects: [defineEffects(tallyMachine, { Noted: async (intent) => void mailed.push(intent.total) })],
    });
    await app.run(TALLY, { type: "Open" });
    await app.run(TALLY, { type: "Add", n: 5 });
    app.answer("Noted", answers.fail("first try lost"));
    await app.advance(1_000);
    assert.deepEqual(mailed, [5], "the supplied handler ran once the scripted answer was used");
    assert.deepEqual(
      app.handled().map((h) => [h.attempt, h.outcome]),
      [
        [1, "retry"],
        [2, "done"],
      ],
    );
  });

  it("applies the follow-up events an answer sends back", async () => {
    const app = await openedTally();
    app.answer("Noted", answers.ok(followUp(tallyMachine, "t_a", { type: "Close" })));
    await app.advance(0);
    assert.equal((await app.state(tallyMachine, "t_a"))?.open, false);
    assert.equal((await app.history(TALLY)).at(-1)?.eventId, `${NOTED}#0`);
  });

  it("dead-letters at once an intent an answer refuses for good", async () => {
    const app = await openedTally();
    app.answer("Noted", answers.refuse("no such mailbox"));
    await app.advance(0);
    const [dead] = await app.outbox.dead();
    assert.deepEqual([dead?.attempts, dead?.lastError], [1, "PermanentEffectError: no such mailbox"]);
    assert.deepEqual(
      app.handled().map((h) => h.outcome),
      ["dead"],
    );
  });

  it("settles by advancing through retries until no intent is pending", async () => {
    const app = await tallyWithTimer();
    app.answer("Noted", answers.fail(), answers.fail());
    await app.settled();
    const [first = 0, second = 0] = backoffs(2);
    assert.equal(app.clock.now(), T0 + first + second);
    assert.deepEqual(await app.outbox.pending(), []);
    assert.equal((await app.timers()).length, 1, "a timer due later is left for advance");
  });

  it("gives events sent without an id sequential ids, at the clock's time", async () => {
    const app = testApp({ machines: [tallyMachine], now: Date.UTC(2027, 5, 1) });
    await app.run(TALLY, { type: "Open" });
    await app.advance(1_000);
    await app.run(TALLY, { type: "Add", n: 1 });
    assert.deepEqual(
      (await app.history(TALLY)).map((entry) => [entry.eventId, entry.at]),
      [
        ["evt_test_000001", Date.UTC(2027, 5, 1)],
        ["evt_test_000002", Date.UTC(2027, 5, 1) + 1_000],
      ],
    );
  });

  it("fails a test whose work never ends instead of hanging it", async () => {
    const app = await openedTally({ maxAttempts: 1_000, maxSteps: 5 });
    app.answerAlways("Noted", answers.fail());
    await assert.rejects(app.advance(86_400_000), /stopped after 5 steps/);
  });

  it("refuses time going backwards and intent types nothing serves", async () => {
    const app = await openedTally();
    await app.advance(10);
    await assert.rejects(app.advanceTo(T0), RangeError);
    await assert.rejects(app.advance(-1), RangeError);
    assert.throws(() => new TestClock(T0).set(T0 - 1), /only moves forward/);
    assert.throws(() => testApp({ machines: [tallyMachine] }).answer("Noted", answers.ok()), ConfigurationError);
    assert.throws(() => testApp({ machines: [tallyMachine], record: ["Mailed"] }), /no machine .* declares/);
  });
});
