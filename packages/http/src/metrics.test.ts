// The outbox's lag in /metrics: the age of the oldest pending intent, 0 when none is pending.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { App, MemoryStore, silentLogger } from "@drover/core";
import { tallyMachine } from "@drover/core/testing";
import { buildServer } from "./server.js";
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
});
