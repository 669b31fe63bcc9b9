// Attached components (a NATS transport, say) in the operator surfaces: /healthz sums their
// health up (still 200: it is liveness) and /metrics appends their families.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ComponentHealth } from "@drover/core";
import { MemoryStore } from "@drover/core";
import { buildServer } from "./server.js";
import { closedLedgerApp } from "./test-support/closed-ledger.js";
import { TokenStore } from "./tokens.js";

const root = mkdtempSync(join(tmpdir(), "drover-http-components-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("attached components", () => {
  it("are reported by /healthz, degraded while one is not ok", async () => {
    const app = closedLedgerApp(new MemoryStore());
    const tokens = TokenStore.open(mkdtempSync(join(root, "t-")));
    const server = await buildServer({ app, tokens });
    assert.deepEqual((await server.inject({ method: "GET", url: "/healthz" })).json(), { status: "ok" });

    let health: ComponentHealth = { ok: true, status: "connected" };
    app.attach({ name: "nats", health: () => health });
    const up = await server.inject({ method: "GET", url: "/healthz" });
    assert.equal(up.statusCode, 200);
    assert.deepEqual(up.json(), { status: "ok", components: { nats: { ok: true, status: "connected" } } });

    health = { ok: false, status: "reconnecting", detail: "connection refused" };
    const down = await server.inject({ method: "GET", url: "/healthz" });
    assert.equal(down.statusCode, 200, "liveness: the process still answers");
    assert.deepEqual(down.json(), {
      status: "degraded",
      components: { nats: { ok: false, status: "reconnecting", detail: "connection refused" } },
    });
    await server.close();
  });

  it("add their metric families to /metrics, label values escaped", async () => {
    const app = closedLedgerApp(new MemoryStore());
    const tokens = TokenStore.open(mkdtempSync(join(root, "t-")));
    const token = tokens.create({ scopes: ["read"] }).token;
    const server = await buildServer({ app, tokens });
    app.attach({
      name: "nats",
      health: () => ({ ok: true, status: "connected" }),
      metrics: async () => [
        {
          name: "drover_nats_messages_total",
          help: "Ingress messages by outcome",
          type: "counter",
          samples: [
            { labels: { outcome: "processed" }, value: 3 },
            { labels: { outcome: 'we"ird' }, value: 1 },
          ],
        },
        { name: "drover_nats_connected", help: "1 while connected", type: "gauge", samples: [{ value: 1 }] },
      ],
    });
    const metrics = await server.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /# TYPE drover_events_total counter/);
    assert.match(
      metrics.body,
      /# TYPE drover_nats_messages_total counter\ndrover_nats_messages_total\{outcome="processed"\} 3\n/,
    );
    assert.match(metrics.body, /drover_nats_messages_total\{outcome="we\\"ird"\} 1\n/);
    assert.match(metrics.body, /# TYPE drover_nats_connected gauge\ndrover_nats_connected 1\n/);
    await server.close();
  });
});
