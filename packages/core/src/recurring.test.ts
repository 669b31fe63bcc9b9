// Recurring events (issue 20, part 3): each occurrence once, at its instant, in its time zone;
// once across two processes on one store; the latest missed occurrence once after downtime;
// a failed occurrence tried again; a bad schedule refused with its name.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { App } from "./app.js";
import { ConfigurationError } from "./errors.js";
import { silentLogger } from "./logger.js";
import { MemoryStore } from "./memory-store.js";
import { RecurringEvents } from "./recurring.js";
import type { RunResult } from "./result.js";
import { tallyMachine } from "./testing/tally-machine.js";

const ref = { machine: "tally", id: "t_cron" };
const T0 = Date.parse("2026-03-27T12:00:00Z");

function setUp(store = new MemoryStore(), cron = "0 3 * * *", tz?: string) {
  const clock = {
    at: T0,
    now() {
      return this.at;
    },
  };
  const schedule = {
    name: "nightly",
    cron,
    machine: "tally",
    id: ref.id,
    event: { type: "Add", n: 1 },
    ...(tz === undefined ? {} : { tz }),
  };
  const app = new App({ store, machines: [tallyMachine], clock, logger: silentLogger, recurring: [schedule] });
  return { app, clock, store };
}

async function adds(app: App) {
  return (await app.history(ref)).filter((entry) => (entry.event as { type: string }).type === "Add");
}

describe("recurring events", () => {
  it("sends each occurrence once, at its instant, in the schedule's time zone (DST included)", async () => {
    const { app, clock } = setUp(undefined, "0 3 * * *", "Europe/Paris");
    await app.run(ref, { type: "Open" });
    // On start, the latest occurrence at or before now (this morning's) fires: the catch-up.
    assert.equal(await app.recurring.runDue(), 1);
    assert.equal(await app.recurring.runDue(), 0, "nothing twice");
    clock.at = Date.parse("2026-03-30T12:00:00Z");
    assert.equal(await app.recurring.runDue(), 3);
    const journal = await adds(app);
    // 03:00 in Paris: CET (UTC+1) until the 28th, CEST (UTC+2) from the 29th.
    assert.deepEqual(
      journal.map((entry) => new Date(entry.at).toISOString()),
      ["2026-03-27T02:00:00.000Z", "2026-03-28T02:00:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-30T01:00:00.000Z"],
    );
    assert.deepEqual(
      journal.map((entry) => entry.eventId),
      journal.map((entry) => RecurringEvents.eventIdOf("nightly", entry.at)),
    );
  });

  it("applies each occurrence once however many processes fire it", async () => {
    const store = new MemoryStore();
    const one = setUp(store);
    const two = setUp(store);
    await one.app.run(ref, { type: "Open" });
    await Promise.all([one.app.recurring.runDue(), two.app.recurring.runDue()]);
    for (const side of [one, two]) side.clock.at = T0 + 3 * 86_400_000;
    await Promise.all([one.app.recurring.runDue(), two.app.recurring.runDue()]);
    const journal = await adds(one.app);
    assert.equal(journal.length, 4, "the 27th (the catch-up on start), 28th, 29th and 30th, once each");
    assert.equal(new Set(journal.map((entry) => entry.eventId)).size, 4);
  });

  it("fires only the latest missed occurrence after downtime, once, and not again on the next start", async () => {
    const store = new MemoryStore();
    const before = setUp(store);
    await before.app.run(ref, { type: "Open" });
    // Down for a week: a new process starts on the 4th of April at noon.
    const after = setUp(store);
    after.clock.at = Date.parse("2026-04-04T12:00:00Z");
    assert.equal(await after.app.recurring.runDue(), 1);
    const [caughtUp] = await adds(after.app);
    assert.equal(new Date(caughtUp?.at ?? 0).toISOString(), "2026-04-04T03:00:00.000Z");
    // And another restart the same day sends it again, which the inbox answers as a duplicate.
    const again = setUp(store);
    again.clock.at = Date.parse("2026-04-04T13:00:00Z");
    await again.app.recurring.runDue();
    assert.equal((await adds(again.app)).length, 1);
  });

  it("tries a failed occurrence again on the next round", async () => {
    let failures = 1;
    const store = new MemoryStore();
    const app = new App({ store, machines: [tallyMachine], logger: silentLogger });
    await app.run(ref, { type: "Open" });
    const clock = { now: () => Date.parse("2026-03-28T04:00:00Z") };
    const recurring = new RecurringEvents({
      schedules: [{ name: "nightly", cron: "0 3 * * *", machine: "tally", id: ref.id, event: { type: "Add", n: 1 } }],
      clock,
      run: async (target, event, options): Promise<RunResult> => {
        if (failures-- > 0) throw new Error("the store is down");
        return app.run(target, event, options);
      },
    });
    assert.equal(await recurring.runDue(), 0);
    assert.equal(await recurring.runDue(), 1);
    assert.equal((await adds(app)).length, 1);
  });

  it("refuses a schedule that is not a cron expression, or a time zone that does not exist, naming it", () => {
    assert.throws(
      () => setUp(undefined, "61 3 * * *"),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        /schedule nightly: "61 3 \* \* \*" is not a valid cron schedule/.test(error.message),
    );
    assert.throws(
      () => setUp(undefined, "0 3 * * *", "Mars/Olympus_Mons"),
      (error: unknown) =>
        error instanceof ConfigurationError && /in Mars\/Olympus_Mons is not a valid cron schedule/.test(error.message),
    );
  });
});
