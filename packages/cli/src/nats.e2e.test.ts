// Issue 17, black box: `drover serve --nats` processes on one PostgreSQL database fed by a real
// nats-server (one of the suite's own). Events published to drover.ledger.<id>.events run in
// order per entity across three processes, each exactly once, while one process is killed
// with SIGKILL mid-load and started again; the intents the config publishes reach
// DROVER_INTENTS once each; `drover send --via nats` answers with the result; /healthz and
// /metrics report NATS.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { OutboxStatus } from "@drover/core";
import { EVENTS_STREAM, eventsSubject, INGRESS_CONSUMER, INTENTS_STREAM } from "@drover/nats";
import type { TestNatsServer } from "@drover/nats/testing";
import { skipUnlessNatsServer, startNatsServer } from "@drover/nats/testing";
import { PostgresStore } from "@drover/postgres";
import { dropDatabase, skipUnlessPostgres, withDatabase } from "@drover/postgres/testing";
import type { JetStreamClient } from "@nats-io/jetstream";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { drover } from "./test-support/run-drover.js";
import { Served } from "./test-support/served.js";

const skip = skipUnlessNatsServer() || (await skipUnlessPostgres());
const ADMIN = `nats-e2e-admin-${randomBytes(8).toString("hex")}`;
const ENTITIES = 24;
const APPENDS = 40;

describe("drover serve --nats: three processes on PostgreSQL", { skip }, () => {
  const database = `drover_nats_${process.pid}_${randomBytes(4).toString("hex")}`;
  const db = withDatabase(database);
  const dir = mkdtempSync(join(tmpdir(), "drover-nats-e2e-"));
  const config = join(dir, "drover.config.mjs");
  const servers: (Served | undefined)[] = [];
  let nats: TestNatsServer;
  let connection: NatsConnection;

  const start = async (index: number) => {
    servers[index] = await Served.start(
      ["--config", config, "--db", db, "--nats", nats.url, "--data-dir", join(dir, `data-${index}`)],
      { env: { DROVER_ADMIN_TOKEN: ADMIN, DROVER_NATS_ACK_WAIT_MS: "3000" }, ready: /NATS: running events/ },
    );
  };

  before(async () => {
    writeFileSync(
      config,
      [
        `import { ledgerMachine } from ${JSON.stringify(import.meta.resolve("@drover/core/testing"))};`,
        `export default { name: "ledgers", machines: [ledgerMachine], nats: { publish: ["Announce"] } };`,
        "",
      ].join("\n"),
    );
    nats = await startNatsServer();
    connection = await connect({ servers: nats.url });
    // One after the other at first: the first makes the database, the stream and the consumer.
    await start(0);
    await Promise.all([start(1), start(2)]);
  });

  after(async () => {
    await Promise.all(servers.map((server) => server?.stop("SIGKILL")));
    await connection?.close();
    await nats?.dispose();
    await dropDatabase(database).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs each entity's events in publish order, each once, through a kill -9 of one process", async () => {
    const js = jetstream(connection);
    const publishing = publishLedgers(js);
    await waitFor(() => Promise.resolve(published >= (ENTITIES * (APPENDS + 1)) / 3), 30_000);
    await servers[1]?.stop("SIGKILL");
    await sleep(300);
    await start(1);
    const order = await publishing;

    const store = await PostgresStore.open({ url: db });
    try {
      await waitFor(async () => {
        for (const id of order.keys()) {
          if ((await store.getEntity({ machine: "ledger", id }))?.version !== APPENDS + 1) return false;
        }
        return true;
      }, 60_000);
      for (const [id, ids] of order) {
        const journal = await store.history({ machine: "ledger", id });
        assert.deepEqual(
          journal.map((entry) => entry.eventId),
          ids,
          `${id}: the journal holds every published event once, in publish order`,
        );
      }
      // Four Announce intents per ledger, published to DROVER_INTENTS once each.
      await waitFor(async () => (await store.outboxStats())[OutboxStatus.Pending] === 0, 30_000);
      const stats = await store.outboxStats();
      assert.equal(stats[OutboxStatus.Done], ENTITIES * 4);
      assert.equal(stats[OutboxStatus.Dead], 0);
    } finally {
      await store.close();
    }
    const jsm = await jetstreamManager(connection);
    assert.equal((await jsm.streams.info(INTENTS_STREAM)).state.messages, ENTITIES * 4);
    await waitFor(async () => {
      const info = await jsm.consumers.info(EVENTS_STREAM, INGRESS_CONSUMER);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 30_000);
    assert.equal((await jsm.streams.info(EVENTS_STREAM)).state.messages, 0, "the work queue is empty");
  });

  it("answers drover send --via nats with the result, and exits by it", () => {
    const opened = drover([
      "send",
      "ledger",
      "l_send",
      '{"type":"Open"}',
      "--via",
      "nats",
      "--nats",
      nats.url,
      "--config",
      config,
      "--json",
    ]);
    assert.equal(opened.code, 0, opened.stderr);
    assert.equal(JSON.parse(opened.stdout).kind, "processed");
    const refused = drover(
      [
        "send",
        "ledger",
        "l_send",
        '{"type":"Append","seq":5}',
        "--via",
        "nats",
        "--idempotency-key",
        "send-2",
        "--config",
        config,
      ],
      { env: { DROVER_NATS: nats.url } },
    );
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stdout, /out_of_order/);
    const unreachable = drover([
      "send",
      "ledger",
      "l_send",
      '{"type":"Open"}',
      "--via",
      "nats",
      "--nats",
      "nats://127.0.0.1:1",
      "--config",
      config,
    ]);
    assert.equal(unreachable.code, 3);
    assert.match(unreachable.stderr, /^drover: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
  });

  it("reports NATS in /healthz and its counters and consumer lag in /metrics", async () => {
    const url = servers[0]?.url ?? "";
    const health = (await (await fetch(`${url}/healthz`)).json()) as unknown;
    assert.deepEqual(health, { status: "ok", components: { nats: { ok: true, status: "connected" } } });
    const metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    assert.match(metrics, /drover_nats_messages_total\{outcome="processed"\} \d+/);
    assert.match(metrics, /drover_nats_consumer_pending \d+/);
    assert.match(metrics, /drover_nats_connected 1/);
    // The API is named after the application.
    const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { info: { title: string } };
    assert.equal(openapi.info.title, "ledgers");
  });

  it("refuses to start when NATS cannot be reached, in one line, exit 3", () => {
    const ran = drover([
      "serve",
      "--port",
      "0",
      "--config",
      config,
      "--db",
      db,
      "--nats",
      "nats://127.0.0.1:1",
      "--data-dir",
      join(dir, "x"),
    ]);
    assert.equal(ran.code, 3, ran.stderr);
    assert.match(ran.stderr, /^drover: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1 .*\n$/);
  });
});

let published = 0;

/** Every ledger's Open and appends, entities concurrently, each entity's in order; the ids by entity. */
async function publishLedgers(js: JetStreamClient): Promise<Map<string, string[]>> {
  const order = new Map<string, string[]>();
  await Promise.all(
    Array.from({ length: ENTITIES }, async (_, n) => {
      const id = `l_e2e${n}`;
      const ids: string[] = [];
      order.set(id, ids);
      for (let i = 0; i <= APPENDS; i++) {
        const event = i === 0 ? { type: "Open" } : { type: "Append", seq: i };
        const eventId = `${id}-${i}`;
        await js.publish(eventsSubject("ledger", id), JSON.stringify(event), { msgID: eventId });
        ids.push(eventId);
        published++;
      }
    }),
  );
  return order;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
