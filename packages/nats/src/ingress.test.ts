// The ingress against a real nats-server of the suite's own: results answered on the reply
// subject, JetStream's and the inbox's de-duplication, poison messages, per-entity order with
// two consumers racing, redelivery after a failed step, and a server killed mid-load.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { EntityRef, RunResult } from "@drover/core";
import { App, MemoryStore, RunResultKind, silentLogger } from "@drover/core";
import { ledgerMachine as ledger } from "@drover/core/testing";
import type { JetStreamClient } from "@nats-io/jetstream";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { sendEvent } from "./client.js";
import type { EventRunner } from "./ingress.js";
import { NatsIngress } from "./ingress.js";
import { EVENTS_STREAM, eventsSubject, Header, INGRESS_CONSUMER, runSubject } from "./subjects.js";
import type { TestNatsServer } from "./testing.js";
import { skipUnlessNatsServer, startNatsServer } from "./testing.js";

const skip = skipUnlessNatsServer();

describe("NATS ingress", { skip }, () => {
  let server: TestNatsServer;
  const connections: NatsConnection[] = [];
  const ingresses: NatsIngress[] = [];

  const open = async () => {
    const connection = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    connections.push(connection);
    return connection;
  };

  /** A fresh stream and consumer, an app on a memory store, and `consumers` ingresses running it. */
  const setUp = async (options: { consumers?: number; runner?: (app: App) => EventRunner } = {}) => {
    // The previous test's consumers stop first: they would make the stream again and take its events.
    await Promise.all(ingresses.splice(0).map((ingress) => ingress.stop()));
    const admin = await open();
    const jsm = await jetstreamManager(admin);
    await jsm.streams.delete(EVENTS_STREAM).catch(() => undefined);
    const store = new MemoryStore();
    const app = new App({ store, machines: [ledger], logger: silentLogger });
    const running: NatsIngress[] = [];
    for (let i = 0; i < (options.consumers ?? 1); i++) {
      const ingress = new NatsIngress({
        connection: await open(),
        runner: options.runner?.(app) ?? app,
        logger: silentLogger,
        consumer: { ackWaitMs: 2_000 },
        limits: { duplicateWindowMs: 1_000 },
        concurrency: 64,
        retryDelayMs: 10,
        errorDelayMs: 50,
      });
      await ingress.start();
      running.push(ingress);
      ingresses.push(ingress);
    }
    return { admin, js: jetstream(admin), jsm, app, store, ingresses: running };
  };

  before(async () => {
    server = await startNatsServer();
  });

  after(async () => {
    await Promise.all(ingresses.map((ingress) => ingress.stop()));
    await Promise.all(connections.map((c) => c.close()));
    await server?.dispose();
  });

  it("runs an event and answers with its RunResult once it is durable", async () => {
    const { admin, app } = await setUp();
    const opened = await sendEvent(admin, { machine: "ledger", id: "l_one", event: { type: "Open" }, eventId: "e-1" });
    assert.equal(opened.kind, "answered");
    assert.equal(opened.kind === "answered" && opened.result.kind, RunResultKind.Processed);
    const appended = await sendEvent(admin, {
      machine: "ledger",
      id: "l_one",
      event: { type: "Append", seq: 1 },
      eventId: "e-2",
    });
    assert.equal(appended.kind === "answered" && appended.result.kind, RunResultKind.Processed);
    const entity = await app.getEntity({ machine: "ledger", id: "l_one" });
    assert.deepEqual(entity?.state, { next: 2 });
    assert.deepEqual(
      (await app.history({ machine: "ledger", id: "l_one" })).map((entry) => entry.eventId),
      ["e-1", "e-2"],
    );
  });

  it("answers rejections and leaves nothing pending", async () => {
    const { admin, jsm } = await setUp();
    await sendEvent(admin, { machine: "ledger", id: "l_rej", event: { type: "Open" } });
    const rejected = await sendEvent(admin, { machine: "ledger", id: "l_rej", event: { type: "Append", seq: 7 } });
    assert.equal(rejected.kind, "answered");
    if (rejected.kind !== "answered" || rejected.result.kind !== RunResultKind.Rejected) {
      assert.fail(`expected a rejection, got ${JSON.stringify(rejected)}`);
    }
    assert.equal(rejected.result.reason, "out_of_order");
    await waitFor(async () => (await jsm.consumers.info(EVENTS_STREAM, INGRESS_CONSUMER)).num_ack_pending === 0);
  });

  it("takes a Nats-Msg-Id seen within JetStream's window once, and one seen after it as a duplicate", async () => {
    const { admin, js, app } = await setUp();
    await sendEvent(admin, { machine: "ledger", id: "l_dup", event: { type: "Open" }, eventId: "d-0" });
    const first = await sendEvent(admin, {
      machine: "ledger",
      id: "l_dup",
      event: { type: "Append", seq: 1 },
      eventId: "d-1",
    });
    assert.equal(first.kind === "answered" && first.result.kind, RunResultKind.Processed);
    // Within the window JetStream itself drops it: no second message at all.
    const again = await js.publish(eventsSubject("ledger", "l_dup"), JSON.stringify({ type: "Append", seq: 1 }), {
      msgID: "d-1",
    });
    assert.equal(again.duplicate, true);
    // After the window (1 s here) the stream takes it, and drover's inbox answers it.
    await sleep(1_300);
    const late = await sendEvent(admin, {
      machine: "ledger",
      id: "l_dup",
      event: { type: "Append", seq: 1 },
      eventId: "d-1",
    });
    assert.equal(late.kind, "answered");
    assert.equal(late.kind === "answered" && late.result.kind, RunResultKind.Duplicate);
    assert.equal((await app.history({ machine: "ledger", id: "l_dup" })).length, 2);
  });

  it("answers poison messages as invalid, acknowledges and counts them, and keeps the stream moving", async () => {
    const {
      admin,
      js,
      jsm,
      ingresses: [ingress],
    } = await setUp();
    const replies = new Map<string, RunResult>();
    const publishWithReply = async (subject: string, body: Uint8Array | string, key: string) => {
      const inbox = `_INBOX.poison.${key}`;
      const sub = admin.subscribe(inbox, { max: 1 });
      void (async () => {
        for await (const m of sub) replies.set(key, m.json<RunResult>());
      })();
      const headers = natsHeaders();
      headers.set(Header.ReplyTo, inbox);
      await js.publish(subject, body, { headers });
    };
    await publishWithReply(eventsSubject("ledger", "l_poison"), "{not json", "not-json");
    await publishWithReply(eventsSubject("ledger", "l_poison"), new Uint8Array([0xff, 0xfe, 0x7b]), "not-utf8");
    await publishWithReply(eventsSubject("nomachine", "l_poison"), JSON.stringify({ type: "Open" }), "machine");
    await publishWithReply(eventsSubject("ledger", "BAD-ID"), JSON.stringify({ type: "Open" }), "id");
    await publishWithReply(eventsSubject("ledger", "l_poison"), JSON.stringify({ type: "Fly" }), "event");
    const fine = await sendEvent(admin, { machine: "ledger", id: "l_poison", event: { type: "Open" } });
    assert.equal(fine.kind === "answered" && fine.result.kind, RunResultKind.Processed);
    await waitFor(async () => replies.size === 5);
    const reasons = Object.fromEntries([...replies].map(([key, r]) => [key, r.kind === "invalid" ? r.reason : r.kind]));
    assert.deepEqual(reasons, {
      "not-json": "invalid_event",
      "not-utf8": "invalid_event",
      machine: "unknown_machine",
      id: "invalid_id",
      event: "invalid_event",
    });
    assert.equal(ingress?.counts().invalid, 5);
    const info = await jsm.consumers.info(EVENTS_STREAM, INGRESS_CONSUMER);
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.num_pending, 0);
    assert.equal((await jsm.streams.info(EVENTS_STREAM)).state.messages, 0);
  });

  it("answers plain NATS requests on the .run subject with the RunResult", async () => {
    const { admin, ingresses } = await setUp();
    const { bridgeRequests } = await import("./request-bridge.js");
    const bridge = bridgeRequests(admin, jetstream(admin), silentLogger);
    try {
      const headers = natsHeaders();
      headers.set(Header.MsgId, "req-1");
      const reply = await admin.request(runSubject("ledger", "l_req"), JSON.stringify({ type: "Open" }), {
        timeout: 5_000,
        headers,
      });
      const result = reply.json<RunResult>();
      assert.equal(result.kind, RunResultKind.Processed);
      assert.equal(result.kind === RunResultKind.Processed && result.eventId, "req-1");
      assert.ok(ingresses.length > 0);
    } finally {
      bridge.unsubscribe();
    }
  });

  it("keeps each entity's order with two consumers racing and steps of uneven length", async () => {
    const entities = 12;
    const perEntity = 25;
    const { js, app } = await setUp({
      consumers: 2,
      runner: (inner) => ({
        run: async (ref: EntityRef, event: unknown, options?: { readonly eventId?: string }) => {
          await sleep(Math.random() * 3);
          return inner.run(ref, event, options);
        },
      }),
    });
    const published = await publishLedgers(js, entities, perEntity, "race");
    await waitForApplied(app, published, perEntity + 1);
    await assertInOrder(app, published);
  });

  it("redelivers a message whose step failed and applies it once", async () => {
    let failures = 3;
    const { admin, app } = await setUp({
      runner: (inner) => ({
        run: async (ref: EntityRef, event: unknown, options?: { readonly eventId?: string }) => {
          if (failures > 0) {
            failures--;
            throw new Error("store unavailable (simulated)");
          }
          return inner.run(ref, event, options);
        },
      }),
    });
    const outcome = await sendEvent(
      admin,
      { machine: "ledger", id: "l_flaky", event: { type: "Open" }, eventId: "flaky-1" },
      { timeoutMs: 10_000 },
    );
    assert.equal(outcome.kind === "answered" && outcome.result.kind, RunResultKind.Processed);
    assert.equal(failures, 0);
    assert.equal((await app.history({ machine: "ledger", id: "l_flaky" })).length, 1);
  });

  it("pauses while the server is down and resumes by itself, each event applied once and in order", async () => {
    const entities = 6;
    const perEntity = 40;
    const { js, app } = await setUp({ consumers: 2 });
    const publishing = publishLedgers(js, entities, perEntity, "restart", { retry: true });
    await sleep(150);
    await server.stop("SIGKILL");
    await sleep(500);
    await server.restart();
    const published = await publishing;
    try {
      await waitForApplied(app, published, perEntity + 1, 60_000);
    } catch (error) {
      const jsm = await jetstreamManager(connections[0] as NatsConnection);
      const versions = await Promise.all(
        [...published.keys()].map(async (id) => (await app.getEntity({ machine: "ledger", id }))?.version),
      );
      const consumer = await jsm.consumers.info(EVENTS_STREAM, INGRESS_CONSUMER);
      const stream = await jsm.streams.info(EVENTS_STREAM);
      throw new Error(
        `${String(error)}: versions ${versions.join(",")}; counts ${JSON.stringify(ingresses.map((i) => [i.counts(), i.inFlight]))}; consumer ${JSON.stringify({ floor: consumer.ack_floor, delivered: consumer.delivered, pending: consumer.num_pending, ackPending: consumer.num_ack_pending })}; stream ${JSON.stringify(stream.state)}`,
      );
    }
    await assertInOrder(app, published);
  });
});

/** The event ids published per entity, in publish order. */
type Published = Map<string, string[]>;

/**
 * Open `entities` ledgers and append `perEntity` entries to each, publishing the entities
 * concurrently and each entity's events in order (each publish awaits its PubAck; with
 * `retry`, a failed publish is repeated with the same id until the server takes it).
 */
async function publishLedgers(
  js: JetStreamClient,
  entities: number,
  perEntity: number,
  tag: string,
  options: { retry?: boolean } = {},
): Promise<Published> {
  const published: Published = new Map();
  await Promise.all(
    Array.from({ length: entities }, async (_, n) => {
      const id = `l_${tag}${n}`;
      const ids: string[] = [];
      published.set(id, ids);
      const events = [
        { type: "Open" },
        ...Array.from({ length: perEntity }, (_, i) => ({ type: "Append", seq: i + 1 })),
      ];
      for (const [i, event] of events.entries()) {
        const eventId = `${id}-${i}`;
        for (let attempt = 0; ; attempt++) {
          try {
            await js.publish(eventsSubject("ledger", id), JSON.stringify(event), { msgID: eventId, timeout: 2_000 });
            break;
          } catch (error) {
            if (!options.retry || attempt > 200) throw error;
            await sleep(100);
          }
        }
        ids.push(eventId);
      }
    }),
  );
  return published;
}

async function waitForApplied(app: App, published: Published, versions: number, timeoutMs = 30_000) {
  await waitFor(async () => {
    for (const id of published.keys()) {
      const entity = await app.getEntity({ machine: "ledger", id });
      if (entity?.version !== versions) return false;
    }
    return true;
  }, timeoutMs);
}

async function assertInOrder(app: App, published: Published) {
  for (const [id, ids] of published) {
    const journal = await app.history({ machine: "ledger", id });
    assert.deepEqual(
      journal.map((entry) => entry.eventId),
      ids,
      `${id}: journal in publish order, each event once`,
    );
    const entity = await app.getEntity({ machine: "ledger", id });
    assert.deepEqual(entity?.state, { next: ids.length });
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(25);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
