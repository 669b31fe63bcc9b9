import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { App, MemoryStore, silentLogger } from "@drover/core";
import { tallyMachine } from "@drover/core/testing";
import { buildServer } from "./server.js";
import { closedLedgerApp } from "./test-support/closed-ledger.js";
import { TokenStore } from "./tokens.js";

const root = mkdtempSync(join(tmpdir(), "drover-http-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A server of {@link closedLedgerApp}. */
async function setup() {
  const store = new MemoryStore();
  const app = closedLedgerApp(store);
  const tokens = TokenStore.open(mkdtempSync(join(root, "t-")));
  const admin = tokens.create({ scopes: ["admin"] }).token;
  const writer = tokens.create({ scopes: ["write"] }).token;
  const server = await buildServer({ app, tokens });
  const call = (
    method: "GET" | "POST",
    url: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    server.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${options.token ?? admin}`,
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
    });
  return { app, store, server, call, admin, writer };
}

describe("HTTP server (generic, on the tally fixture)", () => {
  it("derives its routes from the machines and answers processed with the ETag of the new version", async () => {
    const { call } = await setup();
    const created = await call("POST", "/v1/tally/t_a/events", { body: { type: "Open" } });
    assert.equal(created.statusCode, 200);
    assert.equal(created.headers.etag, '"1"');
    assert.equal(created.json().kind, "processed");
    const read = await call("GET", "/v1/tally/t_a");
    assert.deepEqual([read.statusCode, read.headers.etag, read.json().version], [200, '"1"', 1]);
    assert.equal((await call("GET", "/v1/tally/t_a", { headers: { "if-none-match": '"1"' } })).statusCode, 304);
  });

  it("answers 412 when If-Match names a version the entity has left, and writes nothing", async () => {
    const { call } = await setup();
    await call("POST", "/v1/tally/t_a/events", { body: { type: "Open" } });
    await call("POST", "/v1/tally/t_a/events", { body: { type: "Add", n: 1 } });
    const stale = await call("POST", "/v1/tally/t_a/events", {
      body: { type: "Add", n: 1 },
      headers: { "if-match": '"1"' },
    });
    assert.equal(stale.statusCode, 412);
    assert.deepEqual(
      [stale.json().kind, stale.json().reason, stale.json().currentVersion],
      ["conflict", "version_mismatch", 2],
    );
    assert.equal((await call("GET", "/v1/tally/t_a")).json().version, 2);
    const fresh = await call("POST", "/v1/tally/t_a/events", {
      body: { type: "Add", n: 1 },
      headers: { "if-match": '"2"' },
    });
    assert.equal(fresh.statusCode, 200);
    const bad = await call("POST", "/v1/tally/t_a/events", {
      body: { type: "Add", n: 1 },
      headers: { "if-match": "W/2" },
    });
    assert.deepEqual([bad.statusCode, bad.json().reason], [400, "invalid_if_match"]);
  });

  it("answers 304 to If-None-Match with a list, with *, and with the weak tag of the current version", async () => {
    const { call } = await setup();
    await call("POST", "/v1/tally/t_a/events", { body: { type: "Open" } });
    const status = async (tag: string) =>
      (await call("GET", "/v1/tally/t_a", { headers: { "if-none-match": tag } })).statusCode;
    assert.deepEqual(
      [
        await status('"7", "1"'),
        await status("*"),
        await status('W/"1"'),
        await status('"2", W/"3"'),
        await status("1"),
      ],
      [304, 304, 304, 200, 200],
    );
  });

  it("applies If-Match with a list when one tag is the current version, and with * when the entity exists", async () => {
    const { call } = await setup();
    const absent = await call("POST", "/v1/tally/t_a/events", { body: { type: "Open" }, headers: { "if-match": "*" } });
    assert.deepEqual(
      [absent.statusCode, absent.json().reason, absent.json().currentVersion],
      [412, "version_mismatch", 0],
    );
    const created = await call("POST", "/v1/tally/t_a/events", {
      body: { type: "Open" },
      headers: { "if-match": '"0", "5"' },
    });
    assert.deepEqual([created.statusCode, created.headers.etag], [200, '"1"']);
    const listed = await call("POST", "/v1/tally/t_a/events", {
      body: { type: "Add", n: 1 },
      headers: { "if-match": ' "4" ,"1"' },
    });
    assert.deepEqual([listed.statusCode, listed.headers.etag], [200, '"2"']);
    const any = await call("POST", "/v1/tally/t_a/events", {
      body: { type: "Add", n: 1 },
      headers: { "if-match": "*" },
    });
    assert.deepEqual([any.statusCode, any.headers.etag], [200, '"3"']);
    const none = await call("POST", "/v1/tally/t_a/events", {
      body: { type: "Add", n: 1 },
      headers: { "if-match": '"1", "2"' },
    });
    assert.deepEqual([none.statusCode, none.json().reason, none.json().currentVersion], [412, "version_mismatch", 3]);
    assert.equal((await call("GET", "/v1/tally/t_a")).json().version, 3);
  });

  it("replays a retried event sent with an If-Match list, though the entity has moved past the list", async () => {
    const { call } = await setup();
    await call("POST", "/v1/tally/t_a/events", { body: { type: "Open" } });
    const send = () =>
      call("POST", "/v1/tally/t_a/events", {
        body: { type: "Add", n: 1 },
        headers: { "if-match": '"1", "7"', "idempotency-key": "k-list" },
      });
    const first = await send();
    assert.deepEqual([first.statusCode, first.headers.etag], [200, '"2"']);
    const again = await send();
    assert.deepEqual([again.statusCode, again.headers["idempotent-replayed"], again.json().version], [200, "true", 2]);
  });

  it("answers 412 to If-Match with a weak tag, even of the current version, and writes nothing", async () => {
    const { call } = await setup();
    await call("POST", "/v1/tally/t_a/events", { body: { type: "Open" } });
    for (const tag of ['W/"1"', 'W/"1", W/"2"']) {
      const weak = await call("POST", "/v1/tally/t_a/events", {
        body: { type: "Add", n: 1 },
        headers: { "if-match": tag },
      });
      assert.deepEqual([weak.statusCode, weak.json().reason, weak.json().currentVersion], [412, "version_mismatch", 1]);
    }
    const notAVersion = await call("POST", "/v1/tally/t_a/events", {
      body: { type: "Add", n: 1 },
      headers: { "if-match": 'W/"x", "1"' },
    });
    assert.deepEqual([notAVersion.statusCode, notAVersion.json().reason], [400, "invalid_if_match"]);
    assert.equal((await call("GET", "/v1/tally/t_a")).json().version, 1);
  });

  it("lists dead letters and retries one, for admins only", async () => {
    const { app, call, writer } = await setup();
    await call("POST", "/v1/tally/t_a/events", { body: { type: "Open" } });
    await call("POST", "/v1/tally/t_a/events", { body: { type: "Add", n: 3 } });
    await app.idle();
    const dead = await call("GET", "/v1/outbox?status=dead");
    assert.equal(dead.statusCode, 200);
    const [row] = dead.json().items;
    assert.deepEqual([row.intentId, row.status, row.attempts], ["tally/t_a/2/0", "dead", 1]);
    assert.match(row.lastError, /ledger is closed/);
    const url = `/v1/outbox/${encodeURIComponent(row.intentId)}/retry`;
    assert.equal((await call("POST", url, { token: writer })).statusCode, 403);
    const retried = await call("POST", url);
    assert.deepEqual([retried.statusCode, retried.json().status, retried.json().attempts], [200, "pending", 0]);
    assert.equal((await call("POST", url)).statusCode, 409, "no longer dead");
    assert.equal((await call("POST", "/v1/outbox/tally%2Fnope%2F1%2F0/retry")).statusCode, 404);
    const invalid = await call("GET", "/v1/outbox?status=lost");
    assert.deepEqual([invalid.statusCode, invalid.json().reason], [400, "invalid_query"]);
  });

  it("pages through entities with an opaque cursor", async () => {
    const { call } = await setup();
    for (const id of ["t_c", "t_a", "t_e", "t_b", "t_d"])
      await call("POST", `/v1/tally/${id}/events`, { body: { type: "Open" } });
    const seen: string[] = [];
    let url = "/v1/tally?limit=2";
    for (;;) {
      const page = (await call("GET", url)).json();
      seen.push(...page.items.map((e: { id: string }) => e.id));
      if (page.nextCursor === null) break;
      url = `/v1/tally?limit=2&cursor=${page.nextCursor}`;
    }
    assert.deepEqual(seen, ["t_a", "t_b", "t_c", "t_d", "t_e"]);
    assert.equal((await call("GET", "/v1/tally?cursor=%%%")).statusCode, 400);
    assert.equal((await call("GET", "/v1/tally?limit=0")).statusCode, 400);
    assert.equal((await call("GET", "/v1/tally?limit=5&sort=id")).statusCode, 400);
  });

  it("answers unknown machines and routes with 404 problems, bad ids with 400", async () => {
    const { call } = await setup();
    const unknown = await call("GET", "/v1/nope/x");
    assert.deepEqual([unknown.statusCode, unknown.json().reason], [404, "unknown_machine"]);
    assert.match(unknown.json().detail, /this server has: tally/);
    assert.equal((await call("GET", "/v2/anything")).statusCode, 404);
    const badId = await call("GET", "/v1/tally/NOT-AN-ID");
    assert.deepEqual([badId.statusCode, badId.json().reason], [400, "invalid_id"]);
    assert.match(String(badId.headers["content-type"]), /application\/problem\+json/);
  });

  it("reports events, latency and outbox depth in Prometheus text", async () => {
    const { call, app } = await setup();
    await call("POST", "/v1/tally/t_a/events", { body: { type: "Open" } });
    await call("POST", "/v1/tally/t_a/events", { body: { type: "Open" } });
    await call("POST", "/v1/elsewhere/t_a/events", { body: { type: "Open" } });
    await call("POST", "/v1/tally/t_a/events", { body: { type: "Add", n: 1 } });
    await app.idle();
    const metrics = await call("GET", "/metrics");
    assert.equal(metrics.statusCode, 200);
    assert.match(String(metrics.headers["content-type"]), /text\/plain/);
    const text = metrics.body;
    assert.match(text, /drover_events_total\{machine="tally",kind="processed"\} 2/);
    assert.match(text, /drover_events_total\{machine="tally",kind="rejected"\} 1/);
    assert.doesNotMatch(text, /elsewhere/, "label values come from known machines only");
    assert.match(text, /drover_step_duration_seconds_count\{machine="tally"\} 3/);
    assert.match(text, /drover_outbox_intents\{status="dead"\} 1/);
    assert.match(text, /drover_dispatcher_attempts_total\{machine="tally",intent="Noted",outcome="dead"\} 1/);
  });

  it("refuses a machine named like one of its own routes", async () => {
    const outbox = { ...tallyMachine, name: "outbox" };
    const app = new App({ store: new MemoryStore(), machines: [outbox], logger: silentLogger });
    await assert.rejects(
      buildServer({ app, tokens: TokenStore.open(mkdtempSync(join(root, "t-"))) }),
      /may not be named "outbox"/,
    );
  });
});
