// Issue 7's "bad input and faults" over HTTP: the real payments server on PostgreSQL loses its
// database — every backend connection terminated with pg_terminate_backend, once while new
// connections are refused (an outage) and repeatedly in the middle of a storm of requests.
// Clients must get a 503 problem (never a 500, never a stack trace), nothing may be half
// applied, and the server must recover by itself when the database is back, without a restart.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { PostgresStore } from "@drover/postgres";
import { skipUnlessPostgres, TEST_PG_URL, withDatabase } from "@drover/postgres/testing";
import pg from "pg";
import type { Answer, ServerProcess } from "./test-support/http-harness.js";
import { call, closeRawAgent, makeDataDir, removeDir, startServer } from "./test-support/http-harness.js";

const ADMIN_URL = TEST_PG_URL;
const ADMIN_TOKEN = `outage-admin-${randomBytes(12).toString("hex")}`;

const skip = await skipUnlessPostgres(ADMIN_URL);

const eventsPath = (id: string) => `/v1/payments/${encodeURIComponent(id)}/events`;
const entityPath = (id: string) => `/v1/payments/${encodeURIComponent(id)}`;

/** A 503 must be a problem that says the database is unavailable, with a Retry-After. */
function assertUnavailable(answer: Answer, what: string): void {
  assert.equal(answer.status, 503, `${what}: ${answer.status} ${answer.text}`);
  assert.match(answer.headers["content-type"] ?? "", /^application\/problem\+json/);
  assert.ok(answer.headers["retry-after"] !== undefined, `${what}: a 503 says when to retry`);
  const body = answer.json as { kind?: string; detail?: string };
  assert.equal(body.kind, "unavailable");
  assert.match(body.detail ?? "", /database/);
  assert.doesNotMatch(answer.text, /\n\s+at /, "no stack trace");
}

describe("the HTTP server when PostgreSQL goes away", { skip }, () => {
  const database = `drover_outage_${process.pid}_${randomBytes(4).toString("hex")}`;
  const dbUrl = withDatabase(database);
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  let dataDir: string;
  let server: ServerProcess;

  const terminateBackends = async () =>
    (await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [database]))
      .rowCount ?? 0;
  const allowConnections = (allow: boolean) =>
    admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS ${allow ? "true" : "false"}`);
  const send = (id: string, event: unknown, key: string) =>
    call(server.url, "POST", eventsPath(id), {
      token: ADMIN_TOKEN,
      json: event,
      headers: { "idempotency-key": key },
    });
  const stateOf = async (id: string) => {
    const answer = await call(server.url, "GET", entityPath(id), { token: ADMIN_TOKEN });
    assert.equal(answer.status, 200, answer.text);
    return answer.json as { version: number; state: { status: string; captured: number; refunded: number } };
  };
  const waitForStatus = async (id: string, status: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const current = await stateOf(id);
      if (current.state.status === status) return current;
      assert.ok(Date.now() < deadline, `${id} stayed ${current.state.status}, expected ${status}`);
      await sleep(50);
    }
  };

  before(async () => {
    await admin.connect();
    dataDir = makeDataDir("drover-outage-");
    server = await startServer({
      dataDir,
      mint: false,
      env: { DROVER_DB: dbUrl, DROVER_ADMIN_TOKEN: ADMIN_TOKEN },
    });
  });

  after(async () => {
    await server?.stop("SIGKILL");
    closeRawAgent();
    if (dataDir !== undefined) removeDir(dataDir);
    await allowConnections(true).catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it("answers 503 while the database refuses connections, then recovers without a restart", async () => {
    const id = `pay_outage${randomBytes(8).toString("hex")}`;
    const created = await send(
      id,
      { type: "RequestPayment", amount: 5_000, currency: "EUR", customerId: "cus_o" },
      "o-req",
    );
    assert.equal(created.status, 200, created.text);
    await waitForStatus(id, "authorized");

    await allowConnections(false);
    try {
      assert.ok((await terminateBackends()) > 0, "the server had connections to terminate");
      const capture = { type: "CapturePayment", amount: 5_000 };
      assertUnavailable(await send(id, capture, "o-cap"), "an event during the outage");
      assertUnavailable(
        await call(server.url, "GET", entityPath(id), { token: ADMIN_TOKEN }),
        "a read during the outage",
      );
      // A client's mistake is still a client's mistake: parsing happens before the database.
      const invalid = await send(id, { type: "CapturePayment", amount: -1 }, "o-bad");
      assert.equal(invalid.status, 400, invalid.text);
    } finally {
      await allowConnections(true);
    }

    // Same process, same pool: the retry with the same key applies the capture once.
    const deadline = Date.now() + 15_000;
    let retried: Answer;
    for (;;) {
      retried = await send(id, { type: "CapturePayment", amount: 5_000 }, "o-cap");
      if (retried.status !== 503 || Date.now() > deadline) break;
      await sleep(100);
    }
    assert.equal(retried.status, 200, retried.text);
    const captured = await waitForStatus(id, "captured");
    assert.equal(captured.state.captured, 5_000);
    const again = await send(id, { type: "CapturePayment", amount: 5_000 }, "o-cap");
    assert.equal(again.status, 200, again.text);
    assert.equal(again.headers["idempotent-replayed"], "true");
    assert.equal((await stateOf(id)).version, captured.version, "a replay changes nothing");
  });

  it("never half-applies a step whose connection is killed mid-storm", async () => {
    const ids = Array.from({ length: 4 }, () => `pay_storm${randomBytes(8).toString("hex")}`);
    for (const id of ids) {
      const created = await send(
        id,
        { type: "RequestPayment", amount: 100_000, currency: "EUR", customerId: "cus_s" },
        `${id}-req`,
      );
      assert.equal(created.status, 200, created.text);
    }
    for (const id of ids) await waitForStatus(id, "authorized");
    for (const id of ids) {
      const capture = await send(id, { type: "CapturePayment", amount: 100_000 }, `${id}-cap`);
      assert.equal(capture.status, 200, capture.text);
    }

    // 4 payments × 40 refunds of 1,000 from 8 clients, while a killer terminates every
    // backend connection of the database every 20–60 ms.
    const keys = ids.flatMap((id) => Array.from({ length: 40 }, (_, n) => ({ id, key: `${id}-ref-${n}` })));
    let stop = false;
    let kills = 0;
    const killer = (async () => {
      while (!stop) {
        kills += await terminateBackends();
        await sleep(20 + Math.floor(Math.random() * 40));
      }
    })();
    const answers = new Map<string, number>();
    let next = 0;
    const client = async () => {
      for (let i = next++; i < keys.length; i = next++) {
        const { id, key } = keys[i] as { id: string; key: string };
        const answer = await send(id, { type: "RefundPayment", amount: 1_000 }, key);
        assert.ok(answer.status === 200 || answer.status === 503, `${key}: ${answer.status} ${answer.text}`);
        if (answer.status === 503) assertUnavailable(answer, key);
        answers.set(key, answer.status);
      }
    };
    try {
      await Promise.all(Array.from({ length: 8 }, client));
    } catch (error) {
      throw new Error(`${String(error)}; server output:\n${server.output().slice(-4000)}`);
    } finally {
      stop = true;
      await killer;
    }
    assert.ok(kills > 0, "connections were killed during the storm");
    const unavailable = [...answers.values()].filter((status) => status === 503).length;
    process.stdout.write(
      `# storm: ${keys.length} requests, ${kills} backends terminated, ${unavailable} answered 503\n`,
    );

    // Every 503 is retried with its key: each refund applies exactly once in the end.
    for (const { id, key } of keys) {
      if (answers.get(key) === 200) continue;
      let answer: Answer;
      const deadline = Date.now() + 15_000;
      do answer = await send(id, { type: "RefundPayment", amount: 1_000 }, key);
      while (answer.status === 503 && Date.now() < deadline);
      assert.equal(answer.status, 200, `${key}: ${answer.text}`);
    }

    const store = await PostgresStore.open({ url: dbUrl, createDatabase: false });
    try {
      for (const id of ids) {
        const state = await stateOf(id);
        assert.equal(state.state.refunded, 40_000, `${id}: every refund once`);
        const journal = await store.history({ machine: "payments", id });
        const versions = journal.map((entry) => entry.version);
        assert.deepEqual(
          versions,
          versions.map((_, i) => i + 1),
          `${id}: contiguous versions`,
        );
        assert.equal(versions.at(-1), state.version, `${id}: the state's version is the journal's last`);
        const eventIds = journal.map((entry) => entry.eventId);
        assert.equal(new Set(eventIds).size, eventIds.length, `${id}: each event id journaled once`);
        for (const eventId of eventIds) {
          assert.ok((await store.findInbox(eventId)) !== undefined, `${eventId} journaled and in the inbox`);
        }
      }
    } finally {
      await store.close();
    }
  });
});
