import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { App, MemoryStore, silentLogger } from "@drover/core";
import { tallyMachine } from "@drover/core/testing";
import { DASHBOARD_CSP } from "./dashboard.js";
import { buildServer } from "./server.js";
import { closedLedgerApp } from "./test-support/closed-ledger.js";
import { TokenStore } from "./tokens.js";

const root = mkdtempSync(join(tmpdir(), "drover-dashboard-routes-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Built dashboard files, as `@drover/dashboard` would leave them. */
function assetsDir(): string {
  const dir = mkdtempSync(join(root, "assets-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>drover</title><script src=/assets/app.js></script>");
  writeFileSync(join(dir, "assets", "app.js"), "console.log('hi')");
  return dir;
}

/** A server with the dashboard files of `assetsDir()`; `null`: with no dashboard folder handed in. */
async function setup(dashboard: string | null = assetsDir(), maxStreams?: number) {
  const app = closedLedgerApp();
  const tokens = TokenStore.open(mkdtempSync(join(root, "t-")));
  const admin = tokens.create({ scopes: ["admin"], name: "ops" }).token;
  const reader = tokens.create({ scopes: ["read"] }).token;
  const server = await buildServer({
    app,
    tokens,
    ...(dashboard === null ? {} : { dashboard }),
    statsIntervalMs: 50,
    ...(maxStreams === undefined ? {} : { maxStreams }),
  });
  const call = (method: "GET" | "POST", url: string, token: string | null = admin, body?: unknown) =>
    server.inject({
      method,
      url,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  return { app, server, call, admin, reader };
}

describe("the dashboard's routes", () => {
  it("serves the built files at / and /assets/ to anyone, with a strict CSP and ETags", async () => {
    const { call, server } = await setup();
    const page = await call("GET", "/", null);
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    assert.equal(page.headers["content-security-policy"], DASHBOARD_CSP);
    assert.equal(page.headers["x-content-type-options"], "nosniff");
    assert.match(page.body, /<script src=\/assets\/app\.js>/);
    const script = await call("GET", "/assets/app.js", null);
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers["content-type"]), /^text\/javascript/);
    const again = await server.inject({
      method: "GET",
      url: "/assets/app.js",
      headers: { "if-none-match": String(script.headers.etag) },
    });
    assert.equal(again.statusCode, 304);
    assert.equal((await call("GET", "/assets/nope.js", null)).statusCode, 401, "unknown paths need a token");
  });

  it("falls back to a plain page when no dashboard folder is handed in", async () => {
    const { call } = await setup(null);
    const page = await call("GET", "/", null);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<code>\/v1\/tally<\/code>/);
  });

  it("tells a token its name and scopes", async () => {
    const { call, reader } = await setup();
    assert.deepEqual((await call("GET", "/v1/token")).json(), { name: "ops", scopes: ["admin"] });
    assert.deepEqual((await call("GET", "/v1/token", reader)).json(), { name: null, scopes: ["read"] });
    assert.equal((await call("GET", "/v1/token", null)).statusCode, 401);
  });

  it("counts each machine's entities by state and filters the list by id prefix", async () => {
    const { call, reader } = await setup();
    for (const id of ["t_a1", "t_a2", "t_b1"])
      await call("POST", `/v1/tally/${id}/events`, undefined, { type: "Open" });
    const machines = await call("GET", "/v1/machines", reader);
    assert.equal(machines.statusCode, 200);
    assert.deepEqual(machines.json(), {
      machines: [
        {
          name: "tally",
          version: 1,
          eventVersion: 1,
          total: 3,
          states: [{ status: null, count: 3 }],
          stateVersions: [{ stateVersion: 1, count: 3 }],
          internal: [],
        },
      ],
    });
    // Counted again as soon as this server changed something, not a second later.
    await call("POST", "/v1/tally/t_c1/events", undefined, { type: "Open" });
    const recounted = (await call("GET", "/v1/machines", reader)).json().machines[0];
    assert.deepEqual([recounted.total, recounted.stateVersions], [4, [{ stateVersion: 1, count: 4 }]]);
    const page = await call("GET", "/v1/tally?prefix=t_a&limit=1", reader);
    assert.deepEqual(
      page.json().items.map((item: { id: string }) => item.id),
      ["t_a1"],
    );
    const next = await call("GET", `/v1/tally?prefix=t_a&limit=1&cursor=${page.json().nextCursor}`, reader);
    assert.deepEqual(
      next.json().items.map((item: { id: string }) => item.id),
      ["t_a2"],
    );
    assert.equal(next.json().nextCursor, null);
    const none = await call("GET", "/v1/tally?status=open", reader);
    assert.deepEqual(none.json().items, [], "tally states have no status member");
    assert.equal((await call("GET", "/v1/tally?prefix=", reader)).statusCode, 400);
  });

  it("names states as the machine does: counts, the status filter, entity and history bodies", async () => {
    // The tally's states carry no `status`; this machine names them from `total` instead.
    const named = { ...tallyMachine, stateName: (state: { total: number }) => (state.total >= 5 ? "big" : "small") };
    const app = new App({ store: new MemoryStore(), machines: [named], logger: silentLogger });
    const tokens = TokenStore.open(mkdtempSync(join(root, "t-")));
    const server = await buildServer({ app, tokens });
    const bearer = { authorization: `Bearer ${tokens.create({ scopes: ["admin"] }).token}` };
    const get = async (url: string) => (await server.inject({ method: "GET", url, headers: bearer })).json();
    for (const id of ["t_a", "t_b"]) await app.run({ machine: "tally", id }, { type: "Open" });
    await app.run({ machine: "tally", id: "t_b" }, { type: "Add", n: 7 });
    assert.deepEqual((await get("/v1/machines")).machines[0].states, [
      { status: "big", count: 1 },
      { status: "small", count: 1 },
    ]);
    assert.deepEqual(
      (await get("/v1/tally?status=big")).items.map((item: { id: string; status: string }) => [item.id, item.status]),
      [["t_b", "big"]],
    );
    assert.equal((await get("/v1/tally/t_a")).status, "small");
    assert.deepEqual(
      (await get("/v1/tally/t_b/history")).entries.map((entry: { status: string }) => entry.status),
      ["small", "big"],
    );
    await server.close();
    await app.stop();
  });

  it("serves each machine's explored state diagram, with its Mermaid text", async () => {
    const { call, reader } = await setup();
    const answer = await call("GET", "/v1/machines/tally/diagram", reader);
    assert.equal(answer.statusCode, 200);
    const body = answer.json();
    assert.equal(body.machine, "tally");
    // The tally's states have no status: no names, no diagram, and the note says why.
    assert.deepEqual([body.states, body.transitions, body.mermaid], [[], [], null]);
    assert.match(body.note, /needs a `status`/);
    assert.equal((await call("GET", "/v1/machines/nope/diagram", reader)).statusCode, 404);
  });

  it("answers 503 to a stream beyond the most it keeps open", async () => {
    const { server, reader } = await setup(assetsDir(), 1);
    const address = await server.listen({ host: "127.0.0.1", port: 0 });
    try {
      const headers = { authorization: `Bearer ${reader}` };
      const first = await fetch(`${address}/v1/stream`, { headers });
      assert.equal(first.status, 200);
      const second = await fetch(`${address}/v1/stream`, { headers });
      assert.equal(second.status, 503);
      assert.equal(((await second.json()) as { kind: string }).kind, "unavailable");
      await first.body?.cancel();
    } finally {
      await server.close();
    }
  });

  it("counts results and attempts in /v1/stats", async () => {
    const { app, call, reader } = await setup();
    await call("POST", "/v1/tally/t_a/events", undefined, { type: "Open" });
    await call("POST", "/v1/tally/t_a/events", undefined, { type: "Add", n: 1 });
    await call("POST", "/v1/tally/t_a/events", undefined, { type: "Open" });
    await app.idle();
    const stats = (await call("GET", "/v1/stats", reader)).json();
    assert.deepEqual(stats.results, { tally: { processed: 2, rejected: 1 } });
    assert.deepEqual(stats.attempts, { done: 0, retry: 0, dead: 1 });
    assert.deepEqual(stats.outbox, { pending: 0, done: 0, dead: 1 });
    const rows = await call("GET", "/v1/tally/t_a/outbox");
    assert.deepEqual(
      rows.json().items.map((row: { intentId: string; status: string }) => [row.intentId, row.status]),
      [["tally/t_a/2/0", "dead"]],
    );
    assert.equal((await call("GET", "/v1/tally/t_a/outbox", reader)).statusCode, 403);
    assert.equal((await call("GET", "/v1/tally/t_zz/outbox")).statusCode, 404);
  });

  it("streams steps, attempts and stats as Server-Sent Events, and ends the stream on close", async () => {
    const { app, server, reader } = await setup();
    const address = await server.listen({ host: "127.0.0.1", port: 0 });
    try {
      assert.equal((await fetch(`${address}/v1/stream`)).status, 401);
      const response = await fetch(`${address}/v1/stream`, { headers: { authorization: `Bearer ${reader}` } });
      assert.equal(response.status, 200);
      assert.match(String(response.headers.get("content-type")), /^text\/event-stream/);
      assert.ok(response.headers.get("x-request-id"));
      const stream = response.body?.getReader();
      assert.ok(stream !== undefined);
      let text = "";
      const decoder = new TextDecoder();
      const readUntil = async (pattern: RegExp) => {
        const deadline = Date.now() + 5000;
        while (!pattern.test(text)) {
          assert.ok(Date.now() < deadline, `no ${pattern} in:\n${text}`);
          const { value, done } = await stream.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
        }
      };
      await readUntil(/event: stats\ndata: \{/);
      await app.run({ machine: "tally", id: "t_a" }, { type: "Open" }, { eventId: "evt_<b>1</b>" });
      await app.run({ machine: "tally", id: "t_a" }, { type: "Add", n: 2 });
      await readUntil(/event: step\ndata: .*"type":"Add"/);
      const steps = [...text.matchAll(/event: step\ndata: (.*)\n\n/g)].map((match) => JSON.parse(match[1] ?? "null"));
      assert.deepEqual(
        steps.map((step) => [step.machine, step.id, step.kind, step.type, step.version, step.status]),
        [
          ["tally", "t_a", "processed", "Open", 1, null],
          ["tally", "t_a", "processed", "Add", 2, null],
        ],
      );
      assert.equal(steps[0].eventId, "evt_<b>1</b>", "data is JSON, never markup");
      assert.deepEqual(steps[1].intents, ["Noted"]);
      await app.idle();
      await readUntil(/event: attempt\ndata: .*"outcome":"dead"/);
      assert.match(text, /"intentId":"tally\/t_a\/2\/0"/);
      // Closing the server ends the open stream instead of waiting for it.
      await server.close();
      for (;;) {
        const { done } = await stream.read();
        if (done) break;
      }
    } finally {
      await server.close();
    }
  });
});
