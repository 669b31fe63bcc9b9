import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigurationError } from "@drover/core";
import { seededRandom } from "@drover/core/testing";
import { AuthorizationId, CustomerId, PaymentId } from "./ids.js";
import { Currency, MinorUnits } from "./money.js";
import type { AuthorizeRequest, AuthorizeResult, ProviderLedger, Sleep } from "./provider.js";
import {
  AuthorizeOutcome,
  LedgerOutcome,
  ledgerByKey,
  ledgerByPayment,
  ProviderErrorCode,
  ProviderRejectedError,
  ProviderUnavailableError,
  providerSettingsFromEnv,
  SimulatedProvider,
} from "./provider.js";

const PAY = PaymentId.parse("pay_provider0000000001");
const units = (n: number) => MinorUnits.parse(n);
const EUR = Currency.parse("EUR");
const charge = (overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest => ({
  paymentId: PAY,
  amount: units(125_000),
  currency: EUR,
  customerId: CustomerId.parse("cus_42"),
  ...overrides,
});

/** A sleep that returns at once and remembers what it was asked to wait. */
function recordingSleep(): { sleep: Sleep; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      waits.push(ms);
    },
  };
}

/** A provider with no latency whose random numbers are whatever `random.value` says. */
function controlled(failureRate = 0) {
  const random = { value: 0.99 };
  const provider = new SimulatedProvider({ latencyMs: 0, failureRate, random: () => random.value, env: {} });
  return { provider, random };
}

async function authorized(provider: SimulatedProvider, key: string, request = charge()): Promise<AuthorizationId> {
  const answer = await provider.authorize(key, request);
  assert.equal(answer.outcome, AuthorizeOutcome.Authorized);
  return (answer as Extract<AuthorizeResult, { outcome: "authorized" }>).authorizationId;
}

function rejection(code: ProviderErrorCode) {
  return (error: unknown) => {
    assert.ok(error instanceof ProviderRejectedError, `expected a ProviderRejectedError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, /permanent/);
    return true;
  };
}

function onlyEntries(ledger: ProviderLedger) {
  return ledger.entries.map(({ operation, outcome, key, amount }) => ({ operation, outcome, key, amount }));
}

describe("SimulatedProvider: authorizing", () => {
  it("authorizes after its latency, spent half before and half after acting", async () => {
    const { sleep, waits } = recordingSleep();
    const provider = new SimulatedProvider({ latencyMs: 50, sleep, env: {} });
    const id = await authorized(provider, "k1");
    assert.match(id, /^auth_[0-9a-z]{13,}$/);
    assert.deepEqual(waits, [25, 25]);
  });

  it("draws each call's latency from a range", async () => {
    const { sleep, waits } = recordingSleep();
    const provider = new SimulatedProvider({ latencyMs: { min: 2, max: 10 }, sleep, random: seededRandom(1), env: {} });
    for (let i = 0; i < 20; i++) await authorized(provider, `k${i}`);
    const totals = waits.flatMap((ms, i) => (i % 2 === 0 ? [ms + (waits[i + 1] ?? 0)] : []));
    assert.ok(
      totals.every((ms) => ms >= 2 && ms <= 10),
      `latencies ${totals}`,
    );
    assert.ok(new Set(totals).size > 1, "the latency never varied");
  });

  it("really waits its latency", async () => {
    const provider = new SimulatedProvider({ latencyMs: 30, env: {} });
    const started = performance.now();
    await authorized(provider, "k1");
    assert.ok(performance.now() - started >= 25, "answered before its latency");
  });

  it("declines every customer whose id starts with cus_decline", async () => {
    const { provider } = controlled();
    const answer = await provider.authorize("k1", charge({ customerId: CustomerId.parse("cus_decline_7") }));
    assert.equal(answer.outcome, AuthorizeOutcome.Declined);
    assert.match((answer as { reason: string }).reason, /declined/);
    assert.deepEqual(onlyEntries(provider.ledger()), [
      { operation: "authorize", outcome: LedgerOutcome.Declined, key: "k1", amount: null },
    ]);
  });

  it("gives a different authorization to each key", async () => {
    const { provider } = controlled();
    const first = await authorized(provider, "k1");
    const second = await authorized(provider, "k2", charge({ paymentId: PaymentId.parse("pay_provider0000000002") }));
    assert.notEqual(first, second);
  });
});

describe("SimulatedProvider: idempotency keys", () => {
  it("answers a key's second request with the first answer, and holds the funds once", async () => {
    const { provider } = controlled();
    const first = await provider.authorize("k1", charge());
    const again = await provider.authorize("k1", charge());
    assert.deepEqual(again, first);
    const ledger = provider.ledger();
    assert.equal(ledger.entries.length, 1);
    assert.equal(ledger.requests.authorize, 2);
    assert.equal(ledger.replays, 1);
  });

  it("refuses a key reused for a different request, and says so", async () => {
    const { provider } = controlled();
    await authorized(provider, "k1");
    await assert.rejects(
      provider.authorize("k1", charge({ amount: units(125_001) })),
      (error: unknown) =>
        rejection(ProviderErrorCode.IdempotencyKeyReused)(error) &&
        /was used for an authorization of 1250\.00 EUR/.test((error as Error).message),
    );
    const id = await authorized(provider, "k2");
    await provider.capture("k3", { authorizationId: id, amount: units(100), currency: EUR });
    await assert.rejects(
      provider.refund("k3", { authorizationId: id, amount: units(100), currency: EUR }),
      rejection(ProviderErrorCode.IdempotencyKeyReused),
    );
    assert.equal(provider.ledger().entries.length, 3);
  });

  it("replays a refusal too: the same request under the same key is refused the same way", async () => {
    const { provider } = controlled();
    const id = await authorized(provider, "k1");
    const tooMuch = { authorizationId: id, amount: units(125_001), currency: EUR };
    await assert.rejects(provider.capture("k2", tooMuch), rejection(ProviderErrorCode.CaptureExceedsAuthorized));
    await assert.rejects(provider.capture("k2", tooMuch), rejection(ProviderErrorCode.CaptureExceedsAuthorized));
    assert.equal(provider.ledger().refusals, 2);
  });

  it("refuses a key that is not 1 to 255 printable ASCII characters", async () => {
    const { provider } = controlled();
    await assert.rejects(provider.authorize("", charge()), rejection(ProviderErrorCode.InvalidRequest));
    await assert.rejects(provider.authorize("a key", charge()), rejection(ProviderErrorCode.InvalidRequest));
    assert.equal(provider.ledger().entries.length, 0);
  });

  it("does one thing for two concurrent requests with one key", async () => {
    const provider = new SimulatedProvider({ latencyMs: { min: 0, max: 6 }, random: seededRandom(3), env: {} });
    const answers = await Promise.all(Array.from({ length: 5 }, () => provider.authorize("k1", charge())));
    assert.equal(new Set(answers.map((answer) => JSON.stringify(answer))).size, 1);
    assert.equal(provider.ledger().entries.length, 1);
  });
});

describe("SimulatedProvider: transient failures", () => {
  it("fails before doing anything in half of the failures", async () => {
    const { provider, random } = controlled(0.5);
    random.value = 0.2; // below failureRate / 2
    await assert.rejects(provider.authorize("k1", charge()), ProviderUnavailableError);
    let ledger = provider.ledger();
    assert.equal(ledger.failedBefore, 1);
    assert.equal(ledger.entries.length, 0);

    random.value = 0.99; // above failureRate: no failure
    await authorized(provider, "k1");
    ledger = provider.ledger();
    assert.equal(ledger.entries.length, 1);
    assert.equal(ledger.replays, 0, "the retry did the work: nothing had been done before");
  });

  it("does the work and loses the answer in the other half, so a retry with the same key gets it", async () => {
    const { provider, random } = controlled(0.5);
    random.value = 0.4; // between failureRate / 2 and failureRate
    await assert.rejects(provider.authorize("k1", charge()), ProviderUnavailableError);
    assert.equal(provider.ledger().failedAfter, 1);
    assert.equal(provider.ledger().entries.length, 1, "the authorization was made although its answer was lost");
    const lost = provider.ledger().entries[0]?.authorizationId;

    random.value = 0.99; // above failureRate: no failure
    assert.equal(await authorized(provider, "k1"), lost);
    assert.equal(provider.ledger().entries.length, 1);
  });

  it("fails about failureRate of the calls, evenly before and after, with one charge per key in the end", async () => {
    const provider = new SimulatedProvider({ latencyMs: 0, failureRate: 0.3, random: seededRandom(11), env: {} });
    for (let i = 0; i < 200; i++) {
      const key = `k${i}`;
      const request = charge({ paymentId: PaymentId.parse(`pay_provider${String(i).padStart(10, "0")}`) });
      for (;;) {
        try {
          await provider.authorize(key, request);
          break;
        } catch (error) {
          assert.ok(error instanceof ProviderUnavailableError);
        }
      }
    }
    const ledger = provider.ledger();
    const failures = ledger.failedBefore + ledger.failedAfter;
    const rate = failures / ledger.requests.authorize;
    assert.ok(rate > 0.2 && rate < 0.4, `failure rate ${rate}`);
    assert.ok(ledger.failedBefore > 10 && ledger.failedAfter > 10, `${ledger.failedBefore} / ${ledger.failedAfter}`);
    assert.equal(ledger.entries.length, 200);
    assert.ok([...ledgerByKey(ledger).values()].every((entries) => entries.length === 1));
    assert.ok([...ledgerByPayment(ledger).values()].every((books) => books.authorizations.length === 1));
  });
});

describe("SimulatedProvider: abort signals", () => {
  it("does nothing when aborted on the way in", async () => {
    const provider = new SimulatedProvider({ latencyMs: 200, env: {} });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("gave up")), 10);
    await assert.rejects(provider.authorize("k1", charge(), controller.signal), /gave up/);
    assert.equal(provider.ledger().entries.length, 0);
  });

  it("keeps the work done when aborted on the way back: a lost answer", async () => {
    const waits: number[] = [];
    const controller = new AbortController();
    const sleep: Sleep = async (ms, signal) => {
      waits.push(ms);
      if (waits.length === 2) controller.abort(new Error("timed out"));
      signal?.throwIfAborted();
    };
    const provider = new SimulatedProvider({ latencyMs: 10, sleep, env: {} });
    await assert.rejects(provider.authorize("k1", charge(), controller.signal), /timed out/);
    assert.equal(provider.ledger().entries.length, 1);
  });

  it("rejects at once with an already aborted signal", async () => {
    const { provider } = controlled();
    await assert.rejects(provider.authorize("k1", charge(), AbortSignal.abort(new Error("too late"))), /too late/);
    assert.equal(provider.ledger().entries.length, 0);
  });
});

describe("SimulatedProvider: capture, void and refund", () => {
  const money = (amount: number) => ({ amount: units(amount), currency: EUR });

  it("captures, refunds in parts, and keeps it all in the ledger per payment", async () => {
    const { provider } = controlled();
    const id = await authorized(provider, "a");
    await provider.capture("c", { authorizationId: id, ...money(100_000) });
    await provider.refund("r1", { authorizationId: id, ...money(30_000) });
    await provider.refund("r2", { authorizationId: id, ...money(70_000) });
    const books = ledgerByPayment(provider.ledger()).get(PAY);
    assert.equal(books?.authorizations.length, 1);
    assert.deepEqual(
      books?.captures.map((e) => e.amount),
      [100_000],
    );
    assert.deepEqual(
      books?.refunds.map((e) => [e.key, e.amount]),
      [
        ["r1", 30_000],
        ["r2", 70_000],
      ],
    );
  });

  it("refuses a capture above the authorized amount, for good", async () => {
    const { provider } = controlled();
    const id = await authorized(provider, "a");
    await assert.rejects(
      provider.capture("c", { authorizationId: id, ...money(125_001) }),
      rejection(ProviderErrorCode.CaptureExceedsAuthorized),
    );
  });

  it("refuses a second capture under another key", async () => {
    const { provider } = controlled();
    const id = await authorized(provider, "a");
    await provider.capture("c1", { authorizationId: id, ...money(100) });
    await assert.rejects(
      provider.capture("c2", { authorizationId: id, ...money(100) }),
      rejection(ProviderErrorCode.AlreadyCaptured),
    );
  });

  it("refuses to capture a voided authorization", async () => {
    const { provider } = controlled();
    const id = await authorized(provider, "a");
    await provider.void("v", { authorizationId: id });
    await assert.rejects(
      provider.capture("c", { authorizationId: id, ...money(100) }),
      rejection(ProviderErrorCode.AuthorizationVoided),
    );
    await assert.rejects(
      provider.void("v2", { authorizationId: id }),
      rejection(ProviderErrorCode.AuthorizationVoided),
    );
  });

  it("refuses to void a captured authorization", async () => {
    const { provider } = controlled();
    const id = await authorized(provider, "a");
    await provider.capture("c", { authorizationId: id, ...money(100) });
    await assert.rejects(provider.void("v", { authorizationId: id }), rejection(ProviderErrorCode.AlreadyCaptured));
  });

  it("refuses refunds above what is left of the capture, and refunds before any capture", async () => {
    const { provider } = controlled();
    const id = await authorized(provider, "a");
    await assert.rejects(
      provider.refund("r0", { authorizationId: id, ...money(1) }),
      rejection(ProviderErrorCode.NotCaptured),
    );
    await provider.capture("c", { authorizationId: id, ...money(1_000) });
    await provider.refund("r1", { authorizationId: id, ...money(600) });
    await assert.rejects(
      provider.refund("r2", { authorizationId: id, ...money(401) }),
      rejection(ProviderErrorCode.RefundExceedsCaptured),
    );
    await provider.refund("r3", { authorizationId: id, ...money(400) });
  });

  it("refuses unknown authorizations and other currencies", async () => {
    const { provider } = controlled();
    const id = await authorized(provider, "a");
    await assert.rejects(
      provider.capture("c", { authorizationId: AuthorizationId.parse("auth_nope"), ...money(1) }),
      rejection(ProviderErrorCode.UnknownAuthorization),
    );
    await assert.rejects(
      provider.capture("c2", { authorizationId: id, amount: units(1), currency: Currency.parse("USD") }),
      rejection(ProviderErrorCode.CurrencyMismatch),
    );
  });
});

describe("SimulatedProvider: settings", () => {
  it("reads PAYMENTS_PROVIDER_LATENCY_MS and PAYMENTS_PROVIDER_FAILURE_RATE, 50 ms and 0 by default", () => {
    assert.deepEqual(providerSettingsFromEnv({}), { latencyMs: 50, failureRate: 0 });
    assert.deepEqual(
      providerSettingsFromEnv({ PAYMENTS_PROVIDER_LATENCY_MS: "5", PAYMENTS_PROVIDER_FAILURE_RATE: "0.25" }),
      { latencyMs: 5, failureRate: 0.25 },
    );
  });

  it("names the variable and the value when a setting is wrong", () => {
    for (const rate of ["abc", "1.5", "-0.1", "NaN", "50%"]) {
      assert.throws(
        () => providerSettingsFromEnv({ PAYMENTS_PROVIDER_FAILURE_RATE: rate }),
        (error: unknown) =>
          error instanceof ConfigurationError &&
          error.message.includes("PAYMENTS_PROVIDER_FAILURE_RATE must be a number from 0 to 1") &&
          error.message.includes(JSON.stringify(rate)),
      );
    }
    for (const latency of ["fast", "-1", "2.5", "1e9"]) {
      assert.throws(
        () => providerSettingsFromEnv({ PAYMENTS_PROVIDER_LATENCY_MS: latency }),
        /PAYMENTS_PROVIDER_LATENCY_MS must be a whole number of milliseconds/,
      );
    }
  });

  it("takes its defaults from the environment, and refuses a bad one when it needs it", () => {
    assert.throws(
      () => new SimulatedProvider({ env: { PAYMENTS_PROVIDER_FAILURE_RATE: "2" } }),
      /PAYMENTS_PROVIDER_FAILURE_RATE/,
    );
    // An explicit option wins; the bad variable is never read.
    new SimulatedProvider({ failureRate: 0, latencyMs: 0, env: { PAYMENTS_PROVIDER_FAILURE_RATE: "2" } });
    assert.throws(() => new SimulatedProvider({ failureRate: 1.5, env: {} }), ConfigurationError);
    assert.throws(() => new SimulatedProvider({ latencyMs: { min: 5, max: 1 }, env: {} }), ConfigurationError);
  });
});
