// Dead letters and dead timers are pushed on /v1/stream as they happen: a subscribed client
// hears them without polling; /v1/stats counts timers by status and firings by outcome.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MemoryStore } from "@drover/core";
import { alarmsWithoutRing } from "./test-support/alarms.js";
import { operatorServer, T0 } from "./test-support/operator-server.js";
import type { DeadLetterNotice, StatsBody, TimerDeadNotice } from "./wire.js";

const root = mkdtempSync(join(tmpdir(), "drover-http-live-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** The stream as text, read on demand until a pattern shows up (5 s at most). */
async function openStream(url: string, token: string) {
  const response = await fetch(`${url}/v1/stream`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  const reader = response.body?.getReader();
  assert.ok(reader !== undefined);
  const decoder = new TextDecoder();
  let text = "";
  return {
    async until(pattern: RegExp): Promise<string> {
      const deadline = Date.now() + 5000;
      for (;;) {
        const match = pattern.exec(text);
        if (match !== null) return match[1] ?? match[0];
        assert.ok(Date.now() < deadline, `no ${pattern} in:\n${text}`);
        const { value, done } = await reader.read();
        assert.ok(!done, `the stream ended before ${pattern}:\n${text}`);
        text += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

describe("the live stream of dead letters and dead timers", () => {
  it("pushes dead_letter and timer_dead to a subscribed client, and counts timers in the stats", async () => {
    const store = new MemoryStore();
    // The timer is set by code with Ring; the server runs a deploy without it (the timer dies).
    const setter = await operatorServer(root, { store });
    const served = await operatorServer(root, { store, machines: [alarmsWithoutRing] });
    served.beeps.failing = true;
    const url = await served.server.listen({ host: "127.0.0.1", port: 0 });
    try {
      const stream = await openStream(url, served.reader);
      await stream.until(/event: stats\n/);

      await setter.app.run({ machine: "alarms", id: "a_dead" }, { type: "Set", at: T0 + 1_000 });
      served.clock.at = T0 + 2_000;
      assert.equal(await served.app.dispatcher.runOnce(), 1);
      const letter = JSON.parse(await stream.until(/event: dead_letter\ndata: (.*)\n\n/)) as DeadLetterNotice;
      assert.deepEqual(
        { ...letter, at: typeof letter.at },
        {
          intentId: "alarms/a_dead/1/0",
          machine: "alarms",
          entityId: "a_dead",
          intentType: "Beep",
          attempts: 1,
          error: "PermanentEffectError: the speaker is broken",
          at: "string",
        },
      );
      // The attempt itself is there too, with its number and error.
      assert.match(
        await stream.until(/event: attempt\ndata: (.*"outcome":"dead".*)\n\n/),
        /"attempt":1,"error":"PermanentEffectError: the/,
      );

      assert.equal(await served.app.scheduler.runOnce(), 1);
      const timer = JSON.parse(await stream.until(/event: timer_dead\ndata: (.*)\n\n/)) as TimerDeadNotice;
      assert.deepEqual(
        [timer.timerId, timer.machine, timer.entityId, timer.attempts],
        ["alarms/a_dead/1/1", "alarms", "a_dead", 1],
      );
      assert.match(timer.error, /^invalid event/);

      const stats = (await served.call("GET", "/v1/stats", served.reader)).json() as StatsBody;
      assert.deepEqual(stats.timers, { pending: 0, fired: 0, cancelled: 0, dead: 1 });
      assert.deepEqual(stats.timerFirings, { fired: 0, retry: 0, dead: 1 });
      assert.deepEqual(stats.attempts, { done: 0, retry: 0, dead: 1 });
      await stream.cancel();
    } finally {
      await served.server.close();
    }
  });
});
