import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AppOptions, Clock, MachineEventInput, TypedRunResult } from "@drover/core";
import { App, MemoryStore, RunResultKind, silentLogger } from "@drover/core";
import { seededRandom } from "@drover/core/testing";
import { MemoryMailer, MemoryVerificationQueue } from "./back-office.js";
import { paymentEffects } from "./effects.js";
import { PaymentId } from "./ids.js";
import type { PaymentState } from "./payments.js";
import { AUTHORIZATION_TTL_MS, PaymentStatus, payments } from "./payments.js";
import type { SimulatedProviderOptions } from "./provider.js";
import { ledgerByPayment, SimulatedProvider } from "./provider.js";

/** A clock that runs with the wall clock, plus whatever the test moves it forward by. */
class ShiftedClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
}

/** An App on a MemoryStore with a fast simulated provider and in-memory back office. */
function harness(options: { provider?: SimulatedProviderOptions; app?: Partial<AppOptions> } = {}) {
  const store = new MemoryStore();
  const provider = new SimulatedProvider({
    latencyMs: { min: 0, max: 2 },
    failureRate: 0,
    env: {},
    ...options.provider,
  });
  const verifications = new MemoryVerificationQueue();
  const mailer = new MemoryMailer();
  const clock = new ShiftedClock();
  const app = new App({
    store,
    machines: [payments],
    effects: [paymentEffects({ provider, verifications, mailer })],
    clock,
    logger: silentLogger,
    dispatcher: { maxAttempts: 50, backoff: { initialMs: 1, maxMs: 10 }, pollMs: 5, timeoutMs: 2_000 },
    scheduler: { pollMs: 5 },
    ...options.app,
  });
  const ref = (id: string) => ({ machine: "payments", id });
  // Typed: a test that sends an event the machine does not have does not compile.
  const client = app.for(payments);
  const send = (id: string, event: PaymentEventInput, eventId?: string): Promise<PaymentResult> =>
    client.run(id, event, eventId === undefined ? {} : { eventId });
  const state = async (id: string): Promise<PaymentState> => {
    const entity = await store.getEntity(ref(id));
    assert.ok(entity !== undefined, `${id} does not exist`);
    return entity.state as unknown as PaymentState;
  };
  const settle = (timeoutMs = 10_000): Promise<void> => app.settled({ timeoutMs });
  return { app, store, provider, verifications, mailer, clock, send, state, settle };
}

type PaymentEventInput = MachineEventInput<typeof payments>;
type PaymentResult = TypedRunResult<typeof payments>;

const request = (amount: number, customerId = "cus_42"): PaymentEventInput => ({
  type: "RequestPayment",
  amount,
  currency: "EUR",
  customerId,
});

function processed(result: PaymentResult): void {
  assert.equal(result.kind, RunResultKind.Processed, JSON.stringify(result));
}

describe("payments effects: the life of a payment through the dispatcher", () => {
  it("authorizes a small payment, captures it and refunds it in two parts", async () => {
    const { app, provider, mailer, store, send, state, settle } = harness();
    const id = "pay_effects0000000001";
    await app.start();
    try {
      processed(await send(id, request(125_000)));
      await settle();
      const authorized = await state(id);
      assert.equal(authorized.status, PaymentStatus.Authorized);
      assert.ok(authorized.status === PaymentStatus.Authorized);

      const books = ledgerByPayment(provider.ledger()).get(id);
      assert.equal(books?.authorizations.length, 1);
      assert.equal(books?.authorizations[0]?.authorizationId, authorized.authorizationId);
      assert.equal(books?.authorizations[0]?.key, `payments/${id}/1/0`, "the intent id is the idempotency key");
      const history = await store.history({ machine: "payments", id });
      assert.equal(history[1]?.eventId, `payments/${id}/1/0#0`, "the follow-up's id derives from the intent id");

      processed(await send(id, { type: "CapturePayment", amount: 100_000 }));
      processed(await send(id, { type: "RefundPayment", amount: 30_000 }));
      processed(await send(id, { type: "RefundPayment", amount: 70_000 }));
      await settle();
      assert.equal((await state(id)).status, PaymentStatus.Refunded);

      const after = ledgerByPayment(provider.ledger()).get(id);
      assert.deepEqual(
        after?.captures.map((e) => [e.authorizationId, e.amount]),
        [[authorized.authorizationId, 100_000]],
      );
      assert.deepEqual(
        after?.refunds.map((e) => e.amount),
        [30_000, 70_000],
      );
      assert.deepEqual(
        mailer.about(PaymentId.parse(id)).map((m) => m.template),
        ["authorized", "captured", "refunded", "refunded"],
      );
      assert.deepEqual(await app.deadLetters(), []);
    } finally {
      await app.stop();
    }
  });

  it("queues a large payment for verification and authorizes it once verified", async () => {
    const { provider, verifications, send, state, settle } = harness();
    const id = "pay_effects0000000002";
    processed(await send(id, request(1_500_000)));
    await settle();
    assert.equal((await state(id)).status, PaymentStatus.AwaitingVerification);
    assert.deepEqual(
      verifications.pending().map((v) => [v.paymentId, v.amount, v.key]),
      [[id, 1_500_000, `payments/${id}/1/0`]],
    );
    assert.equal(ledgerByPayment(provider.ledger()).get(id), undefined, "sent to the provider before verification");

    processed(await send(id, { type: "VerifyPayment", verifiedBy: "ops_7" }));
    await settle();
    const verified = await state(id);
    assert.equal(verified.status, PaymentStatus.Authorized);
    assert.equal(verified.verifiedBy, "ops_7");
    assert.equal(ledgerByPayment(provider.ledger()).get(id)?.authorizations.length, 1);
  });

  it("declines a cus_decline customer and tells them", async () => {
    const { mailer, send, state, settle } = harness();
    const id = "pay_effects0000000003";
    processed(await send(id, request(2_000, "cus_decline_1")));
    await settle();
    const declined = await state(id);
    assert.equal(declined.status, PaymentStatus.Declined);
    assert.ok(declined.status === PaymentStatus.Declined && /declined/.test(declined.declineReason));
    assert.deepEqual(
      mailer.about(PaymentId.parse(id)).map((m) => m.template),
      ["declined"],
    );
  });

  it("voids the hold of a payment cancelled while the provider was authorizing", async () => {
    // Not started: nothing runs until `settle`, so the cancel lands before the provider's answer.
    const { provider, send, state, settle } = harness();
    const id = "pay_effects0000000004";
    processed(await send(id, request(5_000)));
    processed(await send(id, { type: "CancelPayment" }));
    await settle();
    const cancelled = await state(id);
    assert.equal(cancelled.status, PaymentStatus.Cancelled);
    assert.ok(cancelled.status === PaymentStatus.Cancelled && cancelled.authorizationId !== undefined);
    const books = ledgerByPayment(provider.ledger()).get(id);
    assert.equal(books?.authorizations.length, 1);
    assert.deepEqual(
      books?.voids.map((e) => e.authorizationId),
      [cancelled.authorizationId],
    );
  });

  it("dead-letters at once an intent the provider refuses for good", async () => {
    const { app, send, settle } = harness();
    const id = "pay_refused0000000001";
    processed(await send(id, request(5_000)));
    // An authorization the provider never made (as if another provider account had made it).
    processed(await send(id, { type: "ProviderAuthorized", authorizationId: "auth_elsewhere" }));
    processed(await send(id, { type: "CapturePayment", amount: 5_000 }));
    await settle();
    const dead = await app.deadLetters();
    assert.deepEqual(
      dead.map((row) => [(row.intent as { type: string }).type, row.attempts]),
      [["CaptureWithProvider", 1]],
    );
    assert.match(dead[0]?.lastError ?? "", /PermanentEffectError: .*unknown_authorization/);
  });

  it("converges with a flaky provider: every payment settles, with one charge each", async () => {
    const { app, provider, send, state, settle } = harness({
      provider: { latencyMs: { min: 0, max: 2 }, failureRate: 0.3, random: seededRandom(2024) },
    });
    const ids = Array.from({ length: 24 }, (_, i) => `pay_flaky${String(i).padStart(12, "0")}`);
    await app.start();
    try {
      await Promise.all(
        ids.map(async (id, i) => {
          processed(
            await send(id, request(i % 3 === 0 ? 1_500_000 : 10_000 + i, i % 4 === 1 ? "cus_decline_x" : "cus_7")),
          );
          if (i % 3 === 0) processed(await send(id, { type: "VerifyPayment", verifiedBy: "ops_1" }));
        }),
      );
      await settle();
      const capturable = [];
      for (const id of ids) {
        const payment = await state(id);
        assert.ok(
          payment.status === PaymentStatus.Authorized || payment.status === PaymentStatus.Declined,
          `${id} is ${payment.status}`,
        );
        if (payment.status === PaymentStatus.Authorized) capturable.push(id);
      }
      for (const id of capturable) processed(await send(id, { type: "CapturePayment", amount: 5_000 }));
      for (const id of capturable) processed(await send(id, { type: "RefundPayment", amount: 5_000 }));
      await settle();

      const ledger = provider.ledger();
      assert.ok(ledger.failedBefore + ledger.failedAfter > 10, "the provider hardly failed: the test proves little");
      assert.ok(ledger.failedAfter > 0 && ledger.replays > 0, "no lost answer was retried");
      const books = ledgerByPayment(ledger);
      for (const id of ids) {
        const payment = await state(id);
        const entries = books.get(id);
        assert.equal((entries?.authorizations.length ?? 0) + (entries?.declines.length ?? 0), 1, `${id}: one decision`);
        if (payment.status === PaymentStatus.Declined) continue;
        assert.equal(payment.status, PaymentStatus.Refunded, id);
        assert.equal(entries?.captures.length, 1, `${id}: one capture`);
        assert.equal(entries?.refunds.length, 1, `${id}: one refund`);
      }
      assert.deepEqual(await app.deadLetters(), []);
    } finally {
      await app.stop();
    }
  });

  it("expires an authorization that is not captured within 7 days", async () => {
    const { app, clock, mailer, send, state, settle } = harness();
    const id = "pay_effects0000000005";
    await app.start();
    try {
      processed(await send(id, request(5_000)));
      await settle();
      assert.equal((await state(id)).status, PaymentStatus.Authorized);

      clock.offset = AUTHORIZATION_TTL_MS - 60_000;
      await settle();
      assert.equal((await state(id)).status, PaymentStatus.Authorized, "expired a minute early");

      clock.offset = AUTHORIZATION_TTL_MS + 1;
      await settle();
      assert.equal((await state(id)).status, PaymentStatus.Expired);
      assert.deepEqual(
        mailer.about(PaymentId.parse(id)).map((m) => m.template),
        ["authorized", "expired"],
      );
    } finally {
      await app.stop();
    }
  });

  it("sends nothing twice when an event is delivered again", async () => {
    const { provider, send, settle } = harness();
    const id = "pay_effects0000000006";
    processed(await send(id, request(5_000), "evt-request-6"));
    assert.equal((await send(id, request(5_000), "evt-request-6")).kind, RunResultKind.Duplicate);
    await settle();
    assert.equal(ledgerByPayment(provider.ledger()).get(id)?.authorizations.length, 1);
    assert.equal(provider.ledger().requests.authorize, 1);
  });
});
