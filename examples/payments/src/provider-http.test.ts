import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AuthorizationId, CustomerId, PaymentId } from "./ids.js";
import { Currency, MinorUnits } from "./money.js";
import type { AuthorizeRequest } from "./provider.js";
import {
  AuthorizeOutcome,
  ProviderErrorCode,
  ProviderRejectedError,
  ProviderUnavailableError,
  SimulatedProvider,
} from "./provider.js";
import type { ProviderServer } from "./provider-http.js";
import { HttpProvider, serveProvider } from "./provider-http.js";

const EUR = Currency.parse("EUR");
const units = (n: number) => MinorUnits.parse(n);
const charge = (n: number, customer = "cus_42"): AuthorizeRequest => ({
  paymentId: PaymentId.parse(`pay_httpprovider${String(n).padStart(6, "0")}`),
  amount: units(125_000),
  currency: EUR,
  customerId: CustomerId.parse(customer),
});

describe("serveProvider and HttpProvider", () => {
  const simulated = new SimulatedProvider({ latencyMs: 1, env: {} });
  let server: ProviderServer;
  let provider: HttpProvider;
  before(async () => {
    server = await serveProvider(simulated, { host: "127.0.0.1", port: 0 });
    provider = new HttpProvider({ url: server.url });
  });
  after(() => server.close());

  it("listens on a free port of 127.0.0.1", () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("authorizes, captures, refunds and voids over HTTP", async () => {
    const answer = await provider.authorize("http-a1", charge(1));
    assert.equal(answer.outcome, AuthorizeOutcome.Authorized);
    const authorizationId = (answer as { authorizationId: AuthorizationId }).authorizationId;
    const capture = await provider.capture("http-c1", { authorizationId, amount: units(100_000), currency: EUR });
    assert.match(capture.receiptId, /^capture_/);
    await provider.refund("http-r1", { authorizationId, amount: units(100_000), currency: EUR });

    const other = await provider.authorize("http-a2", charge(2));
    assert.equal(other.outcome, AuthorizeOutcome.Authorized);
    await provider.void("http-v2", {
      authorizationId: (other as { authorizationId: AuthorizationId }).authorizationId,
    });

    const ledger = await provider.ledger();
    assert.deepEqual(
      ledger.entries.filter((e) => e.key.startsWith("http-")).map((e) => `${e.key} ${e.outcome}`),
      ["http-a1 authorized", "http-c1 captured", "http-r1 refunded", "http-a2 authorized", "http-v2 voided"],
    );
  });

  it("carries declines as answers", async () => {
    const answer = await provider.authorize("http-d1", charge(3, "cus_decline_http"));
    assert.equal(answer.outcome, AuthorizeOutcome.Declined);
  });

  it("sends the idempotency key: the same key gets the same authorization", async () => {
    const first = await provider.authorize("http-same", charge(4));
    const second = await provider.authorize("http-same", charge(4));
    assert.deepEqual(second, first);
    assert.equal((await provider.ledger()).entries.filter((e) => e.key === "http-same").length, 1);
  });

  it("turns a 4xx into a ProviderRejectedError with the provider's code", async () => {
    await provider.authorize("http-k", charge(5));
    await assert.rejects(
      provider.authorize("http-k", charge(6)),
      (error: unknown) =>
        error instanceof ProviderRejectedError &&
        error.code === ProviderErrorCode.IdempotencyKeyReused &&
        /http-k/.test(error.detail),
    );
    await assert.rejects(
      provider.capture("http-x", {
        authorizationId: AuthorizationId.parse("auth_unknown"),
        amount: units(1),
        currency: EUR,
      }),
      (error: unknown) =>
        error instanceof ProviderRejectedError && error.code === ProviderErrorCode.UnknownAuthorization,
    );
  });

  it("answers 400 to a request without an Idempotency-Key or with a bad body, 404 to unknown routes", async () => {
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(server.url + path, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
    let response = await post("/authorize", JSON.stringify(charge(7)));
    assert.equal(response.status, 400);
    assert.match(await response.text(), /Idempotency-Key/);
    response = await post("/authorize", JSON.stringify({ ...charge(7), amount: 12.5 }), { "idempotency-key": "b1" });
    assert.equal(response.status, 400);
    assert.match(await response.text(), /amount/);
    response = await post("/authorize", "{", { "idempotency-key": "b2" });
    assert.equal(response.status, 400);
    response = await post("/charge", "{}", { "idempotency-key": "b3" });
    assert.equal(response.status, 404);
  });

  it("honours the caller's abort signal", async () => {
    const slow = new SimulatedProvider({ latencyMs: 1_000, env: {} });
    const slowServer = await serveProvider(slow);
    try {
      const started = Date.now();
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error("the dispatcher gave up")), 20);
      await assert.rejects(
        new HttpProvider({ url: slowServer.url }).authorize("slow-1", charge(8), controller.signal),
        /the dispatcher gave up/,
      );
      assert.ok(Date.now() - started < 500, "the call was not cut short");
    } finally {
      await slowServer.close();
    }
  });

  it("turns no answer within timeoutMs into a ProviderUnavailableError", async () => {
    const slow = new SimulatedProvider({ latencyMs: 1_000, env: {} });
    const slowServer = await serveProvider(slow);
    try {
      await assert.rejects(
        new HttpProvider({ url: slowServer.url, timeoutMs: 30 }).authorize("slow-2", charge(9)),
        (error: unknown) => error instanceof ProviderUnavailableError && /within 30 ms/.test(error.message),
      );
    } finally {
      await slowServer.close();
    }
  });

  it("turns a 503 into a ProviderUnavailableError, and a retry with the same key finds the work done", async () => {
    let value = 0.4; // with failureRate 0.5: the answer is lost after the work is done
    const flaky = new SimulatedProvider({ latencyMs: 0, failureRate: 0.5, random: () => value, env: {} });
    const flakyServer = await serveProvider(flaky);
    try {
      const client = new HttpProvider({ url: flakyServer.url });
      await assert.rejects(client.authorize("flaky-1", charge(10)), ProviderUnavailableError);
      value = 0.9;
      const answer = await client.authorize("flaky-1", charge(10));
      const ledger = await client.ledger();
      assert.equal(ledger.entries.length, 1);
      assert.deepEqual(answer, {
        outcome: AuthorizeOutcome.Authorized,
        authorizationId: ledger.entries[0]?.authorizationId,
      });
      assert.equal(ledger.failedAfter, 1);
      assert.equal(ledger.replays, 1);
    } finally {
      await flakyServer.close();
    }
  });

  it("turns a provider that cannot be reached into a ProviderUnavailableError", async () => {
    const gone = await serveProvider(new SimulatedProvider({ latencyMs: 0, env: {} }));
    await gone.close();
    await assert.rejects(
      new HttpProvider({ url: gone.url }).authorize("gone-1", charge(11)),
      (error: unknown) => error instanceof ProviderUnavailableError && /cannot reach/.test(error.message),
    );
  });
});
