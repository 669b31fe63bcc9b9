// Issue 7's multi-process test: three real payments servers on one PostgreSQL database and one
// shared simulated provider (its own HTTP service, so its ledger outlives the servers). Many
// concurrent clients spread a storm of events over all three — the same Idempotency-Key sent
// to different processes included — while one server is killed with SIGKILL mid-storm and
// restarted. Afterwards every payment must have converged with contiguous versions, each event
// id applied once, each provider action made once, and nothing left pending in the outbox.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { JournalEntry } from "@drover/core";
import { seededRandom } from "@drover/core/testing";
import { PostgresStore } from "@drover/postgres";
import { skipUnlessPostgres, TEST_PG_URL, withDatabase } from "@drover/postgres/testing";
import pg from "pg";
import { ledgerByPayment, SimulatedProvider } from "./provider.js";
import type { ProviderServer } from "./provider-http.js";
import { serveProvider } from "./provider-http.js";
import type { ServerProcess } from "./test-support/http-harness.js";
import { call, closeRawAgent, makeDataDir, removeDir, startServer } from "./test-support/http-harness.js";

const ADMIN_URL = TEST_PG_URL;
const SEED = Number(process.env.DROVER_MP_SEED ?? Date.now() % 1_000_000);
const ADMIN_TOKEN = `mp-admin-${randomBytes(12).toString("hex")}`;
const PAYMENTS = 8;
const REQUESTS = 600;
const CLIENTS = 24;
const SETTLED = new Set([
  "authorized",
  "captured",
  "partially_refunded",
  "refunded",
  "declined",
  "cancelled",
  "expired",
]);

const skip = await skipUnlessPostgres(ADMIN_URL);

describe("three server processes on one PostgreSQL database", { skip }, () => {
  const database = `drover_mp_${process.pid}_${randomBytes(4).toString("hex")}`;
  const dbUrl = withDatabase(database);
  const provider = new SimulatedProvider({
    latencyMs: { min: 1, max: 5 },
    failureRate: 0.05,
    random: seededRandom(SEED),
  });
  let providerServer: ProviderServer;
  const servers: (ServerProcess | undefined)[] = [];
  const dirs: string[] = [];

  const start = async (index: number) => {
    const dir = dirs[index] ?? makeDataDir("drover-mp-");
    dirs[index] = dir;
    servers[index] = await startServer({
      dataDir: dir,
      mint: false,
      env: { DROVER_DB: dbUrl, DROVER_ADMIN_TOKEN: ADMIN_TOKEN, PAYMENTS_PROVIDER_URL: providerServer.url },
    });
  };

  before(async () => {
    process.stdout.write(`# multi-process seed ${SEED} (DROVER_MP_SEED replays), database ${database}\n`);
    providerServer = await serveProvider(provider);
    // Started one after the other: the first creates the database; the others race on migrations.
    await start(0);
    await Promise.all([start(1), start(2)]);
  });

  after(async () => {
    await Promise.all(servers.map((server) => server?.stop("SIGKILL")));
    await providerServer?.close();
    closeRawAgent();
    for (const dir of dirs) removeDir(dir);
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it("converges with contiguous versions, each event and provider action once, after a kill -9", async () => {
    const random = seededRandom(SEED + 1);
    const ids = Array.from({ length: PAYMENTS }, (_, i) =>
      `pay_mp${SEED.toString(36)}${String(i).padStart(12, "0")}`.slice(0, 36),
    );
    const customer = (i: number) => (i % 4 === 3 ? "cus_decline_mp" : `cus_mp${i}`);
    const eventFor = (id: string, i: number): { key: string; event: Record<string, unknown> } => {
      const p = ids.indexOf(id);
      const roll = random();
      if (roll < 0.3) {
        return {
          key: `req-${id}`,
          event: {
            type: "RequestPayment",
            amount: p % 3 === 0 ? 1_500_000 : 20_000 + p,
            currency: "EUR",
            customerId: customer(p),
          },
        };
      }
      if (roll < 0.4) return { key: `ver-${id}`, event: { type: "VerifyPayment", verifiedBy: "ops_mp" } };
      if (roll < 0.6) return { key: `cap-${id}`, event: { type: "CapturePayment", amount: 10_000 } };
      if (roll < 0.85) return { key: `ref-${id}-${i % 3}`, event: { type: "RefundPayment", amount: 1_000 } };
      // No key: a fresh event each time (may be rejected; must then change nothing).
      return { key: "", event: { type: "RefundPayment", amount: 500 } };
    };

    // Keys answered 200 by anyone: every one must be in the journal exactly once.
    const applied = new Map<string, number>();
    let sent = 0;
    let killed = false;
    const statuses = new Map<number, number>();
    const client = async (c: number) => {
      while (sent < REQUESTS) {
        const n = sent++;
        if (!killed && n >= REQUESTS / 3) {
          killed = true;
          // kill -9 one process in the middle of the storm, and bring it back a moment later.
          await servers[1]?.stop("SIGKILL");
          servers[1] = undefined;
          setTimeout(() => void start(1), 300);
        }
        const id = ids[Math.floor(random() * ids.length)] as string;
        const { key, event } = eventFor(id, n);
        // The same key is sent to different processes on purpose: clients pick servers freely.
        for (let attempt = 0; attempt < 5; attempt++) {
          const server = servers[(c + n + attempt) % servers.length];
          if (server === undefined) continue;
          try {
            const answer = await call(server.url, "POST", `/v1/payments/${id}/events`, {
              token: ADMIN_TOKEN,
              json: event,
              headers: key === "" ? {} : { "idempotency-key": key },
            });
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            assert.ok(answer.status < 500 || answer.status === 503, `${answer.status} ${answer.text}`);
            if (answer.status === 200 && key !== "") applied.set(key, (applied.get(key) ?? 0) + 1);
            break;
          } catch {
            // The process was killed under us: try another one.
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    while (servers[1] === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    process.stdout.write(`# statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);

    const store = await PostgresStore.open({ url: dbUrl });
    try {
      // Converge: the dispatchers of the three processes drain the outbox.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const stats = await store.outboxStats();
        if (stats.pending === 0) break;
        assert.ok(Date.now() < deadline, `outbox still has ${stats.pending} pending intents`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const entities = await store.listEntities("payments", { limit: 1000 });
      const seenEvents = new Set<string>();
      const books = ledgerByPayment(provider.ledger());
      for (const entity of entities) {
        const state = entity.state as { status: string; refunds?: number };
        const history: JournalEntry[] = await store.history({ machine: "payments", id: entity.id });
        assert.deepEqual(
          history.map((e) => e.version),
          history.map((_, i) => i + 1),
          `${entity.id}: versions contiguous`,
        );
        assert.equal(history.at(-1)?.version, entity.version);
        assert.deepEqual(history.at(-1)?.state, entity.state, `${entity.id}: no lost update`);
        for (const entry of history) {
          assert.ok(!seenEvents.has(entry.eventId), `event ${entry.eventId} applied twice`);
          seenEvents.add(entry.eventId);
          const inbox = await store.findInbox(entry.eventId);
          assert.equal(inbox?.result.kind, "processed");
          assert.equal(inbox?.result.version, entry.version);
        }
        assert.ok(
          SETTLED.has(state.status) || state.status === "awaiting_verification",
          `${entity.id} is ${state.status}`,
        );
        const ledger = books.get(entity.id);
        assert.ok(
          (ledger?.authorizations.length ?? 0) + (ledger?.declines.length ?? 0) <= 1,
          `${entity.id}: one authorization`,
        );
        assert.ok((ledger?.captures.length ?? 0) <= 1, `${entity.id}: one capture`);
        assert.equal(ledger?.refunds.length ?? 0, state.refunds ?? 0, `${entity.id}: one provider refund per refund`);
      }
      for (const [key, count] of applied) {
        assert.ok(seenEvents.has(key), `answered 200 for ${key} (${count}×) but it is not in any journal`);
      }
      const keys = new Set(provider.ledger().entries.map((e) => e.key));
      assert.equal(keys.size, provider.ledger().entries.length, "the provider acted at most once per idempotency key");
      for (const dead of await store.listOutbox({ status: "dead" }))
        assert.ok(dead.lastError, `${dead.intentId} has a reason`);
    } finally {
      await store.close();
    }
  });
});
