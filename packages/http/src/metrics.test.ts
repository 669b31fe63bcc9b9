// /metrics: the outbox's lag (the age of the oldest pending intent, 0 when none is pending),
// timers by status and their firings by outcome, and paused intent types.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { App, MemoryStore, silentLogger } from "@drover/core";
import { tallyMachine } from "@drover/core/testing";
import { buildServer } from "./server.js";
import { alarmsWithoutRing } from "./test-support/alarms.js";
import { operatorServer, T0 } from "./test-support/operator-server.js";
import { TokenStore } from "./tokens.js";

const root = mkdtempSync(join(tmpdir(), "drover-http-metrics-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("/metrics", () => {
  it("reports how old the oldest pending intent is", async () => {
    const store = new MemoryStore();
    // No effect handlers and no dispatcher running: the intents stay pending.
    const app = new App({ store, machines: [tallyMachine], logger: silentLogger });
    const tokens = TokenStore.open(mkdtempSync(join(root, "t-")));
    const token = tokens.create({ scopes: ["read"] }).token;
    const server = await buildServer({ app, tokens });
    const age = async () => {
      const answer = await server.inject({
        method: "GET",
        url: "/metrics",
        headers: { authorization: `Bearer ${token}` },
      });
      const match = /^drover_outbox_oldest_pending_age_seconds (\S+)$/m.exec(answer.body);
      assert.ok(match, answer.body);
      return Number(match[1]);
    };
    assert.equal(await age(), 0);
    await app.run({ machine: "tally", id: "t_lag" }, { type: "Open" });
    await app.run({ machine: "tally", id: "t_lag" }, { type: "Add", n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    assert.ok((await age()) >= 1);
    await server.close();
  });

  it("counts timers by status, timer firings by outcome and paused intent types", async () => {
    const store = new MemoryStore();
    const setter = await operatorServer(root, { store });
    const served = await operatorServer(root, { store, machines: [alarmsWithoutRing] });
    const scrape = async () => {
      const answer = await served.call("GET", "/metrics", served.reader);
      assert.equal(answer.statusCode, 200);
      return answer.body;
    };
    const before = await scrape();
    assert.match(before, /^drover_timers\{status="pending"\} 0$/m);
    assert.match(before, /^drover_intent_types_paused 0$/m);
    assert.doesNotMatch(before, /^drover_intent_type_paused\{/m);

    await setter.app.run({ machine: "alarms", id: "a_m" }, { type: "Set", at: T0 + 1_000 });
    await setter.app.run({ machine: "alarms", id: "a_n" }, { type: "Set", at: T0 + 90_000 });
    await setter.app.run({ machine: "alarms", id: "a_n" }, { type: "Snooze" });
    served.clock.at = T0 + 2_000;
    assert.equal(await served.app.scheduler.runOnce(), 1);
    await served.app.pauseIntentType("Beep");
    const after = await scrape();
    assert.match(after, /^drover_timers\{status="dead"\} 1$/m);
    assert.match(after, /^drover_timers\{status="cancelled"\} 1$/m);
    assert.match(after, /^drover_timers\{status="pending"\} 0$/m);
    assert.match(after, /^drover_timer_firings_total\{machine="alarms",outcome="dead"\} 1$/m);
    assert.match(after, /^drover_intent_types_paused 1$/m);
    assert.match(after, /^drover_intent_type_paused\{intent="Beep"\} 1$/m);

    await served.app.resumeIntentType("Beep");
    const resumed = await scrape();
    assert.match(resumed, /^drover_intent_types_paused 0$/m);
    assert.doesNotMatch(resumed, /^drover_intent_type_paused\{/m, "a resumed type leaves the gauge");
  });
});
