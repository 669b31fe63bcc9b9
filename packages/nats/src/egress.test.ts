// Intents out, against a real nats-server: the dispatcher publishes an intent with its id as
// Nats-Msg-Id and marks it done on the PubAck; a retried publish is absorbed by JetStream; the
// intents stream is made only for subjects no stream holds; a config naming an intent type no
// machine declares is refused; the transport reports the connection through a restart.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { App, MemoryStore, OutboxStatus, silentLogger } from "@drover/core";
import { ledgerMachine as ledger } from "@drover/core/testing";
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { natsEffects, publishedSubjects, publishIntent } from "./egress.js";
import { ensureIntentsStream } from "./streams.js";
import { Header, INTENTS_STREAM, intentSubject } from "./subjects.js";
import type { TestNatsServer } from "./testing.js";
import { skipUnlessNatsServer, startNatsServer } from "./testing.js";
import { NatsStatus, NatsTransport } from "./transport.js";

const skip = skipUnlessNatsServer();

describe("NATS egress", { skip }, () => {
  let server: TestNatsServer;
  let connection: NatsConnection;

  before(async () => {
    server = await startNatsServer();
    connection = await connect({ servers: server.url });
  });

  after(async () => {
    await connection?.close();
    await server?.dispose();
  });

  it("publishes an intent with its id as Nats-Msg-Id and marks it done on the PubAck", async () => {
    const js = jetstream(connection);
    const jsm = await jetstreamManager(connection);
    const effects = natsEffects(js, [ledger], ["Announce"]);
    await ensureIntentsStream(jsm, publishedSubjects(effects));
    const app = new App({ store: new MemoryStore(), machines: [ledger], effects, logger: silentLogger });
    const ref = { machine: "ledger", id: "l_egress" };
    await app.run(ref, { type: "Open" });
    for (let seq = 1; seq <= 10; seq++) await app.run(ref, { type: "Append", seq });
    await app.settled({ timeoutMs: 10_000 });

    const [row] = await app.listOutbox({});
    assert.equal(row?.status, OutboxStatus.Done);
    const stored = await jsm.streams.getMessage(INTENTS_STREAM, { last_by_subj: intentSubject("ledger", "Announce") });
    assert.ok(stored, "the intent is in the stream");
    assert.deepEqual(stored.json(), { type: "Announce", seq: 10 });
    assert.equal(stored.header.get(Header.MsgId), row?.intentId);
    assert.equal(stored.header.get(Header.IntentId), row?.intentId);
    assert.equal(stored.header.get(Header.Machine), "ledger");
    assert.equal(stored.header.get(Header.EntityId), "l_egress");
    assert.equal(stored.header.get(Header.IntentType), "Announce");
  });

  it("lets JetStream absorb a retried publish of the same intent", async () => {
    const js = jetstream(connection);
    const jsm = await jetstreamManager(connection);
    await ensureIntentsStream(jsm, [intentSubject("ledger", "Announce")]);
    const before = (await jsm.streams.info(INTENTS_STREAM)).state.messages;
    const handler = publishIntent(js);
    const ctx = {
      intentId: "ledger/l_retry/11/0",
      machine: "ledger",
      entityId: "l_retry",
      attempt: 1,
      signal: new AbortController().signal,
    };
    const intent = { type: "Announce", seq: 20 };
    await handler(intent, ctx);
    await handler(intent, { ...ctx, attempt: 2 });
    assert.equal((await jsm.streams.info(INTENTS_STREAM)).state.messages, before + 1);
  });

  it("leaves subjects another stream holds to it, and adds only the missing ones", async () => {
    const jsm = await jetstreamManager(connection);
    await jsm.streams.add({
      name: "THEIRS",
      // Literal subjects: a wildcard in the last token would overlap DROVER_EVENTS' drover.*.*.events.
      subjects: [intentSubject("other", "Ship")],
      retention: RetentionPolicy.Limits,
      storage: StorageType.Memory,
    });
    await ensureIntentsStream(jsm, [intentSubject("other", "Ship"), intentSubject("ledger", "Bill")]);
    const ours = await jsm.streams.info(INTENTS_STREAM);
    assert.ok(ours.config.subjects?.includes(intentSubject("ledger", "Bill")));
    assert.ok(!ours.config.subjects?.includes(intentSubject("other", "Ship")));
  });

  it("refuses to publish an intent type no machine declares", () => {
    assert.throws(
      () => natsEffects(jetstream(connection), [ledger], ["Announce", "Anounce"]),
      /nats.publish names intent types no machine declares: Anounce \(declared: ledger.Announce\)/,
    );
  });

  it("reports the connection as reconnecting while the server is down, and connected again after", async () => {
    const transport = await NatsTransport.connect({ url: server.url, logger: silentLogger });
    try {
      const app = new App({ store: new MemoryStore(), machines: [ledger], logger: silentLogger });
      await transport.start(app);
      assert.deepEqual(transport.health(), { ok: true, status: NatsStatus.Connected });
      const names = (await transport.metrics()).map((family) => family.name);
      assert.ok(names.includes("drover_nats_consumer_pending"), names.join(", "));
      await server.stop("SIGKILL");
      await waitFor(() => transport.health().status === NatsStatus.Reconnecting);
      assert.equal(transport.health().ok, false);
      await server.restart();
      await waitFor(() => transport.health().status === NatsStatus.Connected, 15_000);
    } finally {
      await transport.close();
    }
    assert.equal(transport.health().status, NatsStatus.Closed);
  });

  it("says which URL it could not reach", async () => {
    await assert.rejects(
      NatsTransport.connect({ url: "nats://127.0.0.1:1", connectTimeoutMs: 500 }),
      /cannot connect to NATS at nats:\/\/127.0.0.1:1 .*DROVER_NATS/,
    );
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
