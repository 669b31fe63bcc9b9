import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { App, defineEffects, silentLogger } from "@drover/core";
import { tallyMachine } from "@drover/core/testing";
import { SqliteStore } from "./sqlite-store.js";

const root = mkdtempSync(join(tmpdir(), "drover-timers-"));
after(() => rmSync(root, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 0, 1);
const TALLY = { machine: "tally", id: "t_restart" };

function opened(path: string, clock: { now(): number }, handled: string[]) {
  const store = SqliteStore.open({ path });
  const drover = new App({
    store,
    machines: [tallyMachine],
    effects: [defineEffects(tallyMachine, { Noted: async (_intent, ctx) => void handled.push(ctx.intentId) })],
    clock,
    logger: silentLogger,
  });
  return { app: drover, store };
}

describe("timers and intents across a restart (SQLite)", () => {
  it("fires a timer scheduled before the process stopped, and runs the intents it left pending", async () => {
    const path = join(root, "drover.db");
    const handled: string[] = [];
    const { app: first, store: firstStore } = opened(path, { now: () => T0 }, handled);
    await first.run(TALLY, { type: "Open" });
    for (let i = 0; i < 10; i++) await first.run(TALLY, { type: "Add", n: 1 });
    // Stopped before the dispatcher or the scheduler ever ran.
    await first.stop();
    await firstStore.close();
    assert.deepEqual(handled, []);

    const { app: later, store: laterStore } = opened(path, { now: () => T0 + 61_000 }, handled);
    await later.start();
    await later.settled({ timeoutMs: 10_000 });
    await later.stop();
    const timers = await laterStore.listTimers();
    assert.deepEqual(
      timers.map((t) => [t.status, t.attempts]),
      [["fired", 1]],
    );
    const last = (await laterStore.history(TALLY)).at(-1);
    assert.deepEqual([last?.event, last?.eventId, last?.at], [{ type: "Close" }, timers[0]?.timerId, T0 + 60_000]);
    assert.deepEqual((await laterStore.getEntity(TALLY))?.state, { open: false, total: 10, adds: 10 });
    assert.equal(handled.length, 10, "every Noted intent ran once after the restart");
    assert.deepEqual(await laterStore.listOutbox({ status: "pending" }), []);
    await laterStore.close();
  });
});
