// Recovery after kill -9 (issue 21, part 5): the real payments server (`npm start`, i.e. `drover
// serve`) is killed while its provider calls are in flight, and restarted on the same data
// directory. Its default instance name is the same on both runs (host, port, data dir), so the
// restart frees the leases its killed run held and retries those intents at once — here with
// a lease of a minute, so that nothing but that release can explain a quick retry.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { OutboxStatus } from "@drover/core";
import { SqliteStore } from "@drover/sqlite";
import type { PaymentProvider } from "./provider.js";
import { ledgerByPayment, SimulatedProvider } from "./provider.js";
import { serveProvider } from "./provider-http.js";
import type { ServerProcess } from "./test-support/http-harness.js";
import { Client, makeDataDir, paymentId, removeDir, startServer } from "./test-support/http-harness.js";

const PAYMENTS = 12;
/** Each provider call takes this long: the intents are surely in flight when the kill comes. */
const LATENCY_MS = 1_500;
/** The lease of both runs: far longer than the retries may take, so only the release explains them. */
const LEASE_MS = 60_000;
/** The target: every in-flight intent retried within 5 s of the restart. */
const TARGET_MS = 5_000;
/** What the test asserts: generous for a loaded machine, still far below the lease (and the old 30 s one). */
const BOUND_MS = 15_000;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("drover serve after kill -9", () => {
  const dataDir = makeDataDir("drover-restart-recovery-");
  after(() => removeDir(dataDir));

  it("retries every intent the killed run had in flight right after the restart, and applies none twice", {
    timeout: 120_000,
  }, async (t) => {
    // The provider lives in the test, outside the killed process: it keeps its books and notes
    // when each authorization was asked for (the intent id is the idempotency key).
    const simulated = new SimulatedProvider({ latencyMs: LATENCY_MS, failureRate: 0, env: {} });
    const asked = new Map<string, number[]>();
    const recording: PaymentProvider & { ledger: SimulatedProvider["ledger"] } = {
      authorize: (key, request, signal) => {
        asked.set(key, [...(asked.get(key) ?? []), Date.now()]);
        return simulated.authorize(key, request, signal);
      },
      capture: (key, request, signal) => simulated.capture(key, request, signal),
      void: (key, request, signal) => simulated.void(key, request, signal),
      refund: (key, request, signal) => simulated.refund(key, request, signal),
      ledger: () => simulated.ledger(),
    };
    const provider = await serveProvider(recording, { host: "127.0.0.1", port: 0 });
    const env = { PAYMENTS_PROVIDER_URL: provider.url, DROVER_LEASE_MS: String(LEASE_MS) };
    let server: ServerProcess | undefined;
    try {
      server = await startServer({ dataDir, env });
      const client = new Client(server.url, server.tokens.write);
      const ids = Array.from({ length: PAYMENTS }, () => paymentId());
      for (const id of ids) {
        const answer = await client.send(id, {
          type: "RequestPayment",
          amount: 12_500,
          currency: "EUR",
          customerId: "cus_42",
        });
        assert.equal(answer.status, 200, answer.text);
      }
      await until("every authorization asked for", async () => (asked.size === PAYMENTS ? true : undefined));
      server.child.kill("SIGKILL");
      assert.equal((await server.exited).signal, "SIGKILL");
      const killedAt = Date.now();

      // What the killed run held: pending rows leased for another minute.
      const store = SqliteStore.open({ path: join(dataDir, "drover.db") });
      const held = (await store.listOutbox({ status: OutboxStatus.Pending })).filter(
        (row) => row.leaseOwner !== null && (row.leaseUntil ?? 0) > killedAt + LEASE_MS / 2,
      );
      await store.close();
      assert.equal(held.length, PAYMENTS, "every authorization was in flight, leased, at the kill");

      const restartedAt = Date.now();
      server = await startServer({ dataDir, env });
      const retriedAfter = await until(
        "every in-flight intent retried",
        async () => {
          const delays = held.map((row) => (asked.get(row.intentId) ?? []).find((at) => at >= restartedAt));
          return delays.every((at) => at !== undefined) ? delays.map((at) => (at as number) - restartedAt) : undefined;
        },
        BOUND_MS + 5_000,
      );
      const slowest = Math.max(...retriedAfter);
      t.diagnostic(
        `${held.length} in-flight intents retried ${Math.min(...retriedAfter)}–${slowest} ms after the restart ` +
          `(target ${TARGET_MS} ms; lease ${LEASE_MS} ms)`,
      );
      assert.ok(slowest <= BOUND_MS, `retried ${slowest} ms after the restart, not within ${BOUND_MS} ms`);

      // Nothing applied twice: one authorization per payment at the provider, one
      // ProviderAuthorized per payment in its journal, the killed attempt counted.
      const reader = new Client(server.url, server.tokens.read);
      for (const id of ids) await reader.waitForStatus(id, ["authorized"], 20_000);
      const books = ledgerByPayment(simulated.ledger());
      for (const id of ids) {
        assert.equal(books.get(id)?.authorizations.length, 1, `${id}: authorized once at the provider`);
        const history = await reader.history(id);
        assert.equal(history.filter((e) => e.event.type === "ProviderAuthorized").length, 1, `${id}: applied once`);
      }
      const check = SqliteStore.open({ path: join(dataDir, "drover.db") });
      for (const row of held) assert.equal((await check.findOutbox(row.intentId))?.attempts, 2, row.intentId);
      await check.close();
    } finally {
      await server?.stop();
      await provider.close();
    }
  });
});
