import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RunResult } from "@drover/core";
import { RunResultKind } from "@drover/core";
import type { TestApp } from "@drover/core/testing";
import { SCENARIO_EPOCH, seededRandom, testApp } from "@drover/core/testing";
import { MemoryMailer, MemoryVerificationQueue } from "./back-office.js";
import { paymentEffects } from "./effects.js";
import { AUTHORIZATION_TTL_MS, PaymentStatus, payments } from "./payments.js";
import type {
  AuthorizeRequest,
  AuthorizeResult,
  CaptureRequest,
  PaymentProvider,
  ProviderReceipt,
  RefundRequest,
  VoidRequest,
} from "./provider.js";
import { ledgerByPayment, ProviderUnavailableError, SimulatedProvider } from "./provider.js";

// The payments machine on virtual time: its 7-day expiry timer and the dispatcher's retries
// run at the instants production would run them, in milliseconds of real time.

const T0 = SCENARIO_EPOCH;
const ID = "pay_virtualtime00000001";
const REF = { machine: "payments", id: ID };
const REQUEST = { type: "RequestPayment", amount: 5_000, currency: "EUR", customerId: "cus_42" } as const;
/** The dispatcher's default: what the payments service runs with. */
const MAX_ATTEMPTS = 10;

/** A provider that is unavailable for its first `failures` authorizations, then is `inner`. */
class FailingFirstProvider implements PaymentProvider {
  readonly #inner: PaymentProvider;
  #failures: number;

  constructor(inner: PaymentProvider, failures: number) {
    this.#inner = inner;
    this.#failures = failures;
  }

  authorize(key: string, request: AuthorizeRequest, signal?: AbortSignal): Promise<AuthorizeResult> {
    if (this.#failures <= 0) return this.#inner.authorize(key, request, signal);
    this.#failures -= 1;
    return Promise.reject(new ProviderUnavailableError(`the provider is down (${this.#failures} failures to go)`));
  }

  capture(key: string, request: CaptureRequest, signal?: AbortSignal): Promise<ProviderReceipt> {
    return this.#inner.capture(key, request, signal);
  }

  void(key: string, request: VoidRequest, signal?: AbortSignal): Promise<ProviderReceipt> {
    return this.#inner.void(key, request, signal);
  }

  refund(key: string, request: RefundRequest, signal?: AbortSignal): Promise<ProviderReceipt> {
    return this.#inner.refund(key, request, signal);
  }
}

/** The simulated provider without latency; `failureRate` 1 makes every call fail, transiently. */
function simulated(failureRate = 0): SimulatedProvider {
  return new SimulatedProvider({ latencyMs: 0, failureRate, random: seededRandom(19), env: {} });
}

/** The payments app on virtual time, with the real effect handlers around `provider`. */
function paymentsApp(provider: PaymentProvider = simulated(), options: { record?: string[] } = {}) {
  const mailer = new MemoryMailer();
  const app = testApp({
    machines: [payments],
    effects: [paymentEffects({ provider, verifications: new MemoryVerificationQueue(), mailer })],
    ...options,
  });
  return { app, mailer };
}

function processed(result: RunResult): void {
  assert.equal(result.kind, RunResultKind.Processed, JSON.stringify(result));
}

async function statusOf(app: TestApp): Promise<string | undefined> {
  return (await app.state(payments, ID))?.status;
}

/** The longest backoff after failed attempt `attempt` (default backoff: 500 ms doubling to 60 s). */
function fullBackoff(attempt: number): number {
  return Math.min(60_000, 500 * 2 ** (attempt - 1));
}

describe("payments on virtual time", () => {
  describe("the 7-day authorization expiry", () => {
    it("expires an authorization never captured, by its timer, 7 days after it was authorized", async () => {
      const { app } = paymentsApp(simulated(), { record: ["NotifyCustomer"] });
      processed(await app.run(REF, REQUEST));
      await app.advance(0);
      assert.equal(await statusOf(app), PaymentStatus.Authorized);
      const [timer] = await app.timers(REF);
      assert.equal(timer?.dueAt, T0 + AUTHORIZATION_TTL_MS);

      await app.advance(AUTHORIZATION_TTL_MS - 1);
      assert.equal(await statusOf(app), PaymentStatus.Authorized, "expired a millisecond early");
      await app.advance(1);
      assert.equal(await statusOf(app), PaymentStatus.Expired);

      const last = (await app.history(REF)).at(-1);
      assert.deepEqual(
        [last?.event, last?.eventId, last?.at],
        [{ type: "AuthorizationExpired" }, timer?.timerId, T0 + AUTHORIZATION_TTL_MS],
      );
      assert.deepEqual(
        app.handled("NotifyCustomer").map((h) => [h.intent.template, h.at - T0, h.outcome]),
        [
          ["authorized", 0, "done"],
          ["expired", AUTHORIZATION_TTL_MS, "done"],
        ],
      );
    });

    it("lets the timer of a payment captured within the 7 days fire into a refusal", async () => {
      const { app, mailer } = paymentsApp();
      processed(await app.run(REF, REQUEST));
      await app.advance(3 * 24 * 3_600_000);
      processed(await app.run(REF, { type: "CapturePayment", amount: 5_000 }));
      await app.advance(5 * 24 * 3_600_000);

      assert.equal(await statusOf(app), PaymentStatus.Captured);
      assert.deepEqual(await app.timers(), [], "the timer fired");
      assert.deepEqual(
        (await app.history(REF)).map((entry) => (entry.event as { type: string }).type),
        ["RequestPayment", "ProviderAuthorized", "CapturePayment"],
        "the machine refused the expiry: nothing journaled",
      );
      assert.deepEqual(
        mailer.sent().map((message) => message.template),
        ["authorized", "captured"],
      );
    });
  });

  describe("retries and dead letters", () => {
    it("retries an authorization the provider fails 3 times at its backoff instants, then authorizes", async () => {
      const provider = simulated();
      const { app } = paymentsApp(new FailingFirstProvider(provider, 3));
      processed(await app.run(REF, REQUEST));
      await app.advance(0);
      for (let attempt = 2; attempt <= 4; attempt++) {
        const [row] = await app.outbox.pending();
        const retryAt = row?.nextAttemptAt ?? 0;
        const delay = retryAt - app.clock.now();
        const full = fullBackoff(attempt - 1);
        assert.ok(delay >= full / 2 && delay <= full, `backoff ${delay} ms after attempt ${attempt - 1}`);

        await app.advanceTo(retryAt - 1);
        assert.equal(app.handled("AuthorizeWithProvider").length, attempt - 1, `attempt ${attempt} ran early`);
        await app.advanceTo(retryAt);
        assert.equal(app.handled("AuthorizeWithProvider").at(-1)?.at, retryAt);
      }

      const attempts = app.handled("AuthorizeWithProvider");
      assert.deepEqual(
        attempts.map((h) => [h.attempt, h.outcome]),
        [
          [1, "retry"],
          [2, "retry"],
          [3, "retry"],
          [4, "done"],
        ],
      );
      for (const failed of attempts.slice(0, 3)) assert.match(failed.error ?? "", /^ProviderUnavailableError: /);
      assert.equal(await statusOf(app), PaymentStatus.Authorized);
      const authorizedAt = (await app.history(REF)).at(-1)?.at;
      assert.equal(authorizedAt, attempts[3]?.at, "authorized at the instant of the successful attempt");
      assert.equal(ledgerByPayment(provider.ledger()).get(ID)?.authorizations.length, 1);
      assert.deepEqual(
        (await app.timers(REF)).map((t) => t.dueAt),
        [(authorizedAt ?? 0) + AUTHORIZATION_TTL_MS],
      );
    });

    it("dead-letters an authorization the provider keeps failing after maxAttempts: the payment fails", async () => {
      const provider = simulated(1);
      const { app } = paymentsApp(provider);
      processed(await app.run(REF, REQUEST));
      await app.advance(3_600_000);

      const attempts = app.handled("AuthorizeWithProvider");
      assert.deepEqual(
        attempts.map((h) => [h.attempt, h.outcome]),
        Array.from({ length: MAX_ATTEMPTS }, (_, i) => [i + 1, i + 1 < MAX_ATTEMPTS ? "retry" : "dead"]),
      );
      attempts.slice(1).forEach((h, i) => {
        const delay = h.at - (attempts[i]?.at ?? 0);
        const full = fullBackoff(i + 1);
        assert.ok(delay >= full / 2 && delay <= full, `attempt ${h.attempt} came ${delay} ms after the one before`);
      });
      const [dead] = await app.outbox.dead();
      assert.equal(dead?.attempts, MAX_ATTEMPTS);
      assert.equal(dead?.lastError, attempts.at(-1)?.error, "the last attempt's error is kept");
      assert.match(dead?.lastError ?? "", /^ProviderUnavailableError: /);
      assert.equal(provider.ledger().requests.authorize, MAX_ATTEMPTS);

      // The payment hears that drover gave its authorization up: failed, the customer told.
      assert.equal(await statusOf(app), PaymentStatus.Failed);
      const failed = (await app.history(REF)).find(
        (entry) => (entry.event as { type: string }).type === "IntentFailed",
      );
      assert.deepEqual(failed?.event, {
        type: "IntentFailed",
        intentId: dead?.intentId,
        intentType: "AuthorizeWithProvider",
        attempts: MAX_ATTEMPTS,
        lastError: dead?.lastError,
      });
      assert.deepEqual(
        app.handled("NotifyCustomer").map((h) => (h.intent as unknown as { template: string }).template),
        ["failed"],
      );
      assert.equal(await app.nextDueAt(), undefined, "nothing left to run");
      processed(await app.run(REF, { type: "CancelPayment" }));
      assert.equal(await statusOf(app), PaymentStatus.Cancelled);
    });
  });
});
