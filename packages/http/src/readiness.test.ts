// GET /readyz: 503 with the reason while the store cannot commit, a loop is stuck or a
// component is down; 200 again as soon as that passes, without a restart. /healthz stays 200.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ClaimQuery, OutboxRecord } from "@drover/core";
import { App, MemoryStore, StoreUnavailableError, silentLogger } from "@drover/core";
import { tallyMachine } from "@drover/core/testing";
import type { FastifyInstance } from "fastify";
import type { ReadinessOptions } from "./readiness.js";
import { buildServer } from "./server.js";
import { TokenStore } from "./tokens.js";
import type { ReadinessBody } from "./wire.js";

const root = mkdtempSync(join(tmpdir(), "drover-http-readiness-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A memory store whose probe fails while `broken` says why, or hangs while `hanging`, counting probes. */
class FaultyStore extends MemoryStore {
  broken: string | undefined;
  hanging = false;
  probes = 0;
  /** While set, claims of the outbox never return (a dispatcher stuck in its round). */
  #stuck: Promise<void> | undefined;
  #unstick: (() => void) | undefined;

  override async probe(): Promise<void> {
    this.probes += 1;
    if (this.hanging) return new Promise(() => undefined);
    if (this.broken !== undefined) throw new StoreUnavailableError(this.broken);
    return super.probe();
  }

  stick(): void {
    this.#stuck = new Promise((resolve) => {
      this.#unstick = resolve;
    });
  }

  unstick(): void {
    this.#unstick?.();
    this.#stuck = undefined;
  }

  override async claimOutbox(query: ClaimQuery): Promise<OutboxRecord[]> {
    if (this.#stuck !== undefined) {
      await this.#stuck;
      return [];
    }
    return super.claimOutbox(query);
  }
}

async function started(store: FaultyStore, readiness: ReadinessOptions, pollMs = 1000) {
  const app = new App({
    store,
    machines: [tallyMachine],
    logger: silentLogger,
    dispatcher: { pollMs },
    scheduler: { pollMs },
  });
  const tokens = TokenStore.open(mkdtempSync(join(root, "t-")));
  const server = await buildServer({ app, tokens, readiness });
  await app.start();
  return {
    app,
    server,
    tokens,
    async close() {
      store.unstick();
      await server.close();
      await app.stop({ timeoutMs: 1_000 });
    },
  };
}

async function ready(server: FastifyInstance): Promise<{ statusCode: number; body: ReadinessBody }> {
  const response = await server.inject({ method: "GET", url: "/readyz" });
  return { statusCode: response.statusCode, body: response.json<ReadinessBody>() };
}

/** Poll `/readyz` until it answers `statusCode` (the loop stall takes a few poll intervals to show). */
async function until(server: FastifyInstance, statusCode: number) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await ready(server);
    if (answer.statusCode === statusCode) return answer;
    if (Date.now() > deadline)
      assert.fail(`/readyz still answers ${answer.statusCode}: ${JSON.stringify(answer.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("GET /readyz", () => {
  it("answers 200 ready with every check listed, without a token", async () => {
    const running = await started(new FaultyStore(), {});
    try {
      const { statusCode, body } = await ready(running.server);
      assert.equal(statusCode, 200);
      assert.deepEqual(body, {
        status: "ready",
        checks: [
          { name: "store", kind: "store", ok: true },
          { name: "dispatcher", kind: "loop", ok: true },
          { name: "scheduler", kind: "loop", ok: true },
        ],
      });
    } finally {
      await running.close();
    }
  });

  it("answers 503 with the store's reason while it cannot commit, and 200 once it can, without a restart", async () => {
    const store = new FaultyStore();
    const running = await started(store, { probeCacheMs: 0 });
    try {
      store.broken =
        "SQLite database at /data/drover.db is unavailable while probing with a write: database or disk is full";
      const down = await ready(running.server);
      assert.equal(down.statusCode, 503);
      assert.equal(down.body.status, "not_ready");
      assert.deepEqual(down.body.checks[0], {
        name: "store",
        kind: "store",
        ok: false,
        reason: store.broken,
      });
      const health = await running.server.inject({ method: "GET", url: "/healthz" });
      assert.equal(health.statusCode, 200, "liveness is not readiness: the process still runs");

      store.broken = undefined;
      const up = await ready(running.server);
      assert.equal(up.statusCode, 200);
      assert.equal(up.body.status, "ready");
    } finally {
      await running.close();
    }
  });

  it("probes the store once per cache period however often it is asked", async () => {
    const store = new FaultyStore();
    const running = await started(store, { probeCacheMs: 60_000 });
    try {
      const answers = await Promise.all(Array.from({ length: 50 }, () => ready(running.server)));
      assert.ok(answers.every((answer) => answer.statusCode === 200));
      assert.equal(store.probes, 1);
    } finally {
      await running.close();
    }
  });

  it("fails a probe that does not answer within its timeout", async () => {
    const store = new FaultyStore();
    const running = await started(store, { probeCacheMs: 0, probeTimeoutMs: 50 });
    try {
      store.hanging = true;
      const { statusCode, body } = await ready(running.server);
      assert.equal(statusCode, 503);
      assert.match(body.checks[0]?.reason ?? "", /did not commit a probe within 50 ms/);
    } finally {
      store.hanging = false;
      await running.close();
    }
  });

  it("answers 503 while the dispatcher's loop is stuck in a round, and 200 once it turns again", async () => {
    const store = new FaultyStore();
    const running = await started(store, { stalledAfterMs: 200 }, 20);
    try {
      await until(running.server, 200);
      store.stick();
      const down = await until(running.server, 503);
      const dispatcher = down.body.checks.find((check) => check.name === "dispatcher");
      assert.equal(dispatcher?.ok, false);
      assert.match(dispatcher?.reason ?? "", /^stalled: no round completed for \d+ ms \(limit 200 ms\)$/);
      assert.equal(down.body.checks.find((check) => check.name === "scheduler")?.ok, true);
      store.unstick();
      await until(running.server, 200);
    } finally {
      await running.close();
    }
  });

  it("answers 503 while the app's loops are not running", async () => {
    const app = new App({ store: new FaultyStore(), machines: [tallyMachine], logger: silentLogger });
    const server = await buildServer({ app, tokens: TokenStore.open(mkdtempSync(join(root, "t-"))) });
    try {
      const { statusCode, body } = await ready(server);
      assert.equal(statusCode, 503);
      assert.match(body.checks.find((check) => check.name === "dispatcher")?.reason ?? "", /^not running/);
    } finally {
      await server.close();
    }
  });

  it("answers 503 while an attached component is down, with its status and detail", async () => {
    const running = await started(new FaultyStore(), {});
    try {
      let up = false;
      running.app.attach({
        name: "nats",
        health: () =>
          up ? { ok: true, status: "connected" } : { ok: false, status: "reconnecting", detail: "refused" },
      });
      const down = await ready(running.server);
      assert.equal(down.statusCode, 503);
      assert.deepEqual(down.body.checks.at(-1), {
        name: "nats",
        kind: "component",
        ok: false,
        reason: "reconnecting: refused",
      });
      up = true;
      assert.equal((await ready(running.server)).statusCode, 200);
    } finally {
      await running.close();
    }
  });

  it("is counted by the drover_ready gauge of /metrics", async () => {
    const store = new FaultyStore();
    const running = await started(store, { probeCacheMs: 0 });
    try {
      const token = running.tokens.create({ scopes: ["read"] }).token;
      const scrape = async () =>
        (await running.server.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${token}` } }))
          .body;
      assert.match(await scrape(), /\n# TYPE drover_ready gauge\ndrover_ready 1\n/);
      store.broken = "the disk is full";
      assert.match(await scrape(), /\ndrover_ready 0\n/);
    } finally {
      await running.close();
    }
  });
});
