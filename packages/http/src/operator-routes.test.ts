// The operator routes of issue 20: timers (list, read, retry a dead one), pausing and resuming
// intent types, and the recurring schedules — on the MemoryStore, driven with runOnce().
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MemoryStore } from "@drover/core";
import { alarmsWithoutRing } from "./test-support/alarms.js";
import { operatorServer, T0 } from "./test-support/operator-server.js";
import type { IntentTypeChangeBody, IntentTypesBody, SchedulesBody, TimerBody, TimerPageBody } from "./wire.js";

const root = mkdtempSync(join(tmpdir(), "drover-http-operator-"));
after(() => rmSync(root, { recursive: true, force: true }));

const ref = (id: string) => ({ machine: "alarms", id });

describe("GET /v1/timers and POST /v1/timers/{timerId}/retry", () => {
  it("lists timers by status and entity, with their key, attempts and ISO times", async () => {
    const { app, call, reader } = await operatorServer(root);
    await app.run(ref("a_one"), { type: "Set", at: T0 + 60_000 });
    await app.run(ref("a_two"), { type: "Set", at: T0 + 30_000 });
    // A second Set replaces a_one's pending timer of the key "ring": the first is cancelled.
    await app.run(ref("a_one"), { type: "Set", at: T0 + 90_000 });

    const all = await call("GET", "/v1/timers");
    assert.equal(all.statusCode, 200, all.body);
    const items = (all.json() as TimerPageBody).items;
    assert.deepEqual(
      items.map((timer) => [timer.entityId, timer.status, timer.dueAt]),
      [
        ["a_two", "pending", "2026-06-01T08:00:30.000Z"],
        ["a_one", "cancelled", "2026-06-01T08:01:00.000Z"],
        ["a_one", "pending", "2026-06-01T08:01:30.000Z"],
      ],
    );
    const first = items[0] as TimerBody;
    assert.deepEqual(
      [first.key, first.attempts, first.lastError, first.event, first.nextAttemptAt],
      ["ring", 0, null, { type: "Ring" }, "2026-06-01T08:00:30.000Z"],
    );

    const pending = (await call("GET", "/v1/timers?status=pending")).json() as TimerPageBody;
    assert.deepEqual(
      pending.items.map((timer) => timer.entityId),
      ["a_two", "a_one"],
    );
    const ofOne = (await call("GET", "/v1/timers?machine=alarms&id=a_one&limit=1")).json() as TimerPageBody;
    assert.deepEqual(
      ofOne.items.map((timer) => [timer.entityId, timer.status]),
      [["a_one", "cancelled"]],
    );
    const one = await call("GET", `/v1/timers/${encodeURIComponent(first.timerId)}`);
    assert.deepEqual(one.json(), first);

    // Admin only, like the outbox; bad queries are 400, unknown machines and timers 404.
    assert.equal((await call("GET", "/v1/timers", reader)).statusCode, 403);
    assert.equal((await call("GET", "/v1/timers?status=asleep")).statusCode, 400);
    const half = await call("GET", "/v1/timers?machine=alarms");
    assert.deepEqual([half.statusCode, half.json().reason], [400, "invalid_query"]);
    assert.equal((await call("GET", "/v1/timers?machine=alarms&id=not-an-id")).json().reason, "invalid_id");
    assert.equal((await call("GET", "/v1/timers?machine=clocks&id=a_one")).statusCode, 404);
    const unknown = await call("GET", "/v1/timers/alarms%2Fa_none%2F1%2F1");
    assert.deepEqual([unknown.statusCode, unknown.json().kind], [404, "not_found"]);
  });

  it("retries a dead timer (404 unknown, 409 not dead), which then fires", async () => {
    const store = new MemoryStore();
    const before = await operatorServer(root, { store });
    await before.app.run(ref("a_wake"), { type: "Set", at: T0 + 1_000 });
    // A deploy drops Ring: the timer's event no longer fits, so it is dead at its first firing.
    const after = await operatorServer(root, { store, machines: [alarmsWithoutRing] });
    after.clock.at = T0 + 2_000;
    assert.equal(await after.app.scheduler.runOnce(), 1);
    const dead = (await after.call("GET", "/v1/timers?status=dead")).json() as TimerPageBody;
    assert.equal(dead.items.length, 1);
    const timer = dead.items[0] as TimerBody;
    assert.deepEqual([timer.status, timer.attempts], ["dead", 1]);
    assert.match(timer.lastError ?? "", /invalid event/);

    const path = `/v1/timers/${encodeURIComponent(timer.timerId)}/retry`;
    assert.equal((await after.call("POST", path, after.reader)).statusCode, 403);
    // The fixed code is back: retried, it fires.
    before.clock.at = T0 + 3_000;
    const retried = await before.call("POST", path);
    assert.equal(retried.statusCode, 200, retried.body);
    assert.deepEqual(
      [retried.json().status, retried.json().attempts, retried.json().nextAttemptAt],
      ["pending", 0, "2026-06-01T08:00:03.000Z"],
    );
    const again = await before.call("POST", path);
    assert.deepEqual([again.statusCode, again.json().kind], [409, "conflict"]);
    assert.match(again.json().detail, /is pending; only dead timers can be retried/);
    assert.equal(await before.app.scheduler.runOnce(), 1);
    assert.equal((await before.app.getEntity(ref("a_wake")))?.stateName, "rung");
    assert.equal((await before.call("POST", "/v1/timers/nope/retry")).statusCode, 404);
  });
});

describe("pausing and resuming intent types", () => {
  it("pauses with PUT and resumes with DELETE, idempotently; a paused type's intents keep their attempts", async () => {
    const { app, call, reader } = await operatorServer(root);
    const listed = (await call("GET", "/v1/intent-types")).json() as IntentTypesBody;
    assert.deepEqual(listed.items, [{ intentType: "Beep", machines: ["alarms"], paused: false, pausedAt: null }]);

    const paused = await call("PUT", "/v1/intent-types/Beep/pause");
    assert.equal(paused.statusCode, 200, paused.body);
    assert.deepEqual(paused.json() as IntentTypeChangeBody, {
      intentType: "Beep",
      machines: ["alarms"],
      paused: true,
      pausedAt: "2026-06-01T08:00:00.000Z",
      changed: true,
    });
    const twice = await call("PUT", "/v1/intent-types/Beep/pause");
    assert.deepEqual([twice.statusCode, twice.json().changed, twice.json().paused], [200, false, true]);
    assert.deepEqual(
      ((await call("GET", "/v1/intent-types/paused")).json() as IntentTypesBody).items.map((t) => t.intentType),
      ["Beep"],
    );

    await app.run(ref("a_quiet"), { type: "Set", at: T0 + 60_000 });
    assert.equal(await app.dispatcher.runOnce(), 0, "nothing claimed while Beep is paused");
    const [row] = await app.entityOutbox(ref("a_quiet"));
    assert.deepEqual([row?.status, row?.attempts], ["pending", 0]);

    const resumed = await call("DELETE", "/v1/intent-types/Beep/pause");
    assert.deepEqual([resumed.statusCode, resumed.json().paused, resumed.json().changed], [200, false, true]);
    assert.equal((await call("DELETE", "/v1/intent-types/Beep/pause")).json().changed, false);
    assert.equal(await app.dispatcher.runOnce(), 1);
    assert.equal((await app.entityOutbox(ref("a_quiet")))[0]?.status, "done");

    assert.equal((await call("PUT", "/v1/intent-types/Beep/pause", reader)).statusCode, 403);
    assert.equal((await call("GET", "/v1/intent-types", reader)).statusCode, 403);
  });

  it("answers 404 naming the known types for an intent type no machine declares, unless it is paused", async () => {
    const { app, call } = await operatorServer(root);
    const typo = await call("PUT", "/v1/intent-types/Beeep/pause");
    assert.equal(typo.statusCode, 404);
    assert.deepEqual([typo.json().kind, typo.json().reason], ["not_found", "unknown_intent_type"]);
    assert.match(typo.json().detail, /intent type "Beeep"; its intent types: Beep$/);
    assert.equal(typo.headers["content-type"], "application/problem+json; charset=utf-8");
    assert.deepEqual(await app.pausedIntentTypes(), []);
    assert.equal((await call("DELETE", "/v1/intent-types/Beeep/pause")).statusCode, 404);
    assert.equal((await call("PUT", "/v1/intent-types/Schedule/pause")).statusCode, 404, "timers are not intents");

    // Paused by an older deploy that declared it: listed, and it can still be resumed.
    await app.pauseIntentType("Chime");
    const listed = (await call("GET", "/v1/intent-types")).json() as IntentTypesBody;
    assert.deepEqual(
      listed.items.map((t) => [t.intentType, t.machines, t.paused]),
      [
        ["Beep", ["alarms"], false],
        ["Chime", [], true],
      ],
    );
    const resumed = await call("DELETE", "/v1/intent-types/Chime/pause");
    assert.deepEqual([resumed.statusCode, resumed.json().changed], [200, true]);
  });
});

describe("GET /v1/schedules", () => {
  it("lists the recurring schedules with their time zone, event type and next occurrence", async () => {
    const { call, reader } = await operatorServer(root, {
      recurring: [
        {
          name: "morning",
          cron: "0 7 * * *",
          tz: "Europe/Paris",
          machine: "alarms",
          id: "a_daily",
          event: { type: "Set", at: 0 },
        },
        { cron: "*/15 * * * *", machine: "alarms", id: "a_often", event: { type: "Snooze" } },
      ],
    });
    const answer = await call("GET", "/v1/schedules", reader);
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual((answer.json() as SchedulesBody).items, [
      {
        name: "morning",
        cron: "0 7 * * *",
        tz: "Europe/Paris",
        machine: "alarms",
        id: "a_daily",
        eventType: "Set",
        event: { type: "Set", at: 0 },
        // 07:00 in Paris (UTC+2 in June) is 05:00 UTC: tomorrow's, as 08:00 UTC has passed.
        nextAt: "2026-06-02T05:00:00.000Z",
      },
      {
        name: "alarms/a_often/*/15_*_*_*_*",
        cron: "*/15 * * * *",
        tz: "UTC",
        machine: "alarms",
        id: "a_often",
        eventType: "Snooze",
        event: { type: "Snooze" },
        nextAt: "2026-06-01T08:15:00.000Z",
      },
    ]);
    const none = await operatorServer(root);
    assert.deepEqual((await none.call("GET", "/v1/schedules")).json(), { items: [] });
  });
});
