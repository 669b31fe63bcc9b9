import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { exploreMachine } from "@drover/core/graph";
import { recordTransitions, SCENARIO_EPOCH, scenario } from "@drover/core/testing";
import type { z } from "zod";
import { OperatorId, PaymentId } from "./ids.js";
import type { Currency } from "./money.js";
import { MinorUnits } from "./money.js";
import type { NotificationTemplate } from "./payments.js";
import {
  AUTHORIZATION_TTL_MS,
  EXPIRY_TIMER,
  FailureReason,
  PaymentEvent,
  PaymentIntent,
  PaymentRejection,
  PaymentState,
  PaymentStatus,
  payments,
} from "./payments.js";

// Fixtures are written as wire-format literals and parsed here, so an invalid one fails
// where it is written rather than inside a scenario.
const event = (input: z.input<typeof PaymentEvent>): PaymentEvent => PaymentEvent.parse(input);
const intent = (input: z.input<typeof PaymentIntent>): PaymentIntent => PaymentIntent.parse(input);
const units = (n: number): MinorUnits => MinorUnits.parse(n);

const ID = PaymentId.parse("pay_0123456789abcdef");
// Every scenario runs through a recorder, so the last test can check the diagram against them.
const recorder = recordTransitions(payments);
const payment = () => scenario(recorder.machine, ID);

const request = (amount: number, currency: Currency = "EUR") =>
  event({ type: "RequestPayment", amount, currency, customerId: "cus_42" });
const small = request(125_000);
const large = request(1_000_001);
const verify = event({ type: "VerifyPayment", verifiedBy: "ops_7" });
const authorized = event({ type: "ProviderAuthorized", authorizationId: "auth_1" });
const declined = event({ type: "ProviderDeclined", reason: "insufficient funds" });
const capture = (amount: number, currency?: Currency) =>
  event(currency === undefined ? { type: "CapturePayment", amount } : { type: "CapturePayment", amount, currency });
const refund = (amount: number, currency?: Currency) =>
  event(currency === undefined ? { type: "RefundPayment", amount } : { type: "RefundPayment", amount, currency });
const cancel = event({ type: "CancelPayment" });
const expired = event({ type: "AuthorizationExpired" });
const failedIntent = (intentType: string) =>
  event({
    type: "IntentFailed",
    intentId: `payments/${ID}/1/0`,
    intentType,
    attempts: 10,
    lastError: "provider unavailable (503)",
  });
const authorizationFailed = failedIntent("AuthorizeWithProvider");
const notificationFailed = failedIntent("NotifyCustomer");
const cancelExpiry = intent({ type: "CancelSchedule", key: EXPIRY_TIMER });

const notify = (template: NotificationTemplate) =>
  intent({ type: "NotifyCustomer", paymentId: ID, customerId: "cus_42", template });

describe("payments: requesting a payment", () => {
  it("sends a payment of exactly 10,000.00 EUR straight to the provider", () => {
    payment()
      .when(request(1_000_000))
      .accepted({ status: PaymentStatus.Authorizing })
      .intents([
        intent({
          type: "AuthorizeWithProvider",
          paymentId: ID,
          amount: 1_000_000,
          currency: "EUR",
          customerId: "cus_42",
        }),
      ]);
  });

  it("holds a payment of 10,000.01 EUR for verification", () => {
    payment()
      .when(request(1_000_001))
      .accepted({ status: PaymentStatus.AwaitingVerification })
      .intents([
        intent({
          type: "RequestVerification",
          paymentId: ID,
          amount: 1_000_001,
          currency: "EUR",
          customerId: "cus_42",
        }),
      ]);
  });

  it("counts the threshold in whole yen for JPY, which has no minor unit", () => {
    payment().when(request(10_000, "JPY")).accepted({ status: PaymentStatus.Authorizing });
    payment().when(request(10_001, "JPY")).accepted({ status: PaymentStatus.AwaitingVerification });
  });

  it("counts the threshold in fils for BHD, which has three decimals", () => {
    payment().when(request(10_000_000, "BHD")).accepted({ status: PaymentStatus.Authorizing });
    payment().when(request(10_000_001, "BHD")).accepted({ status: PaymentStatus.AwaitingVerification });
  });

  it("starts a payment with its amount, currency and customer, nothing captured or refunded", () => {
    const state = payment().when(small).state;
    assert.deepEqual(state, {
      status: "authorizing",
      amount: 125_000,
      currency: "EUR",
      customerId: "cus_42",
      captured: 0,
      refunded: 0,
      refunds: 0,
    });
  });

  it("rejects a second payment request to an existing payment with already_exists", () => {
    payment().given(small).when(small).rejected(PaymentRejection.AlreadyExists);
  });

  it("answers not_found to every other event for a payment that does not exist", () => {
    for (const other of [verify, authorized, declined, capture(1), refund(1), cancel, expired]) {
      payment().when(other).notFound();
    }
  });
});

describe("payments: verification", () => {
  it("sends a verified payment to the provider and records who verified it", () => {
    payment()
      .given(large)
      .when(verify)
      .accepted({ status: PaymentStatus.Authorizing, verifiedBy: OperatorId.parse("ops_7") })
      .intents([
        intent({
          type: "AuthorizeWithProvider",
          paymentId: ID,
          amount: 1_000_001,
          currency: "EUR",
          customerId: "cus_42",
        }),
      ]);
  });

  it("rejects verifying a payment that does not await verification", () => {
    payment().given(small).when(verify).rejected(PaymentRejection.InvalidTransition);
  });
});

describe("payments: the provider's answer", () => {
  it("authorizes, schedules the expiry seven days later and notifies the customer", () => {
    const at = SCENARIO_EPOCH + 60_000;
    payment()
      .given(small)
      .when(authorized, { at })
      .accepted({ status: PaymentStatus.Authorized })
      .intents([
        intent({
          type: "Schedule",
          at: at + AUTHORIZATION_TTL_MS,
          event: { type: "AuthorizationExpired" },
          key: EXPIRY_TIMER,
        }),
        notify("authorized"),
      ]);
  });

  it("records the provider's authorization id", () => {
    const state = payment().given(small).when(authorized).state;
    assert.equal(state.status === PaymentStatus.Authorized && state.authorizationId, "auth_1");
  });

  it("sets the expiry to exactly seven days", () => {
    assert.equal(AUTHORIZATION_TTL_MS, 604_800_000);
  });

  it("declines with the provider's reason and notifies the customer", () => {
    const then = payment()
      .given(small)
      .when(declined)
      .accepted({ status: PaymentStatus.Declined })
      .intents([notify("declined")]);
    assert.equal(then.state.status === PaymentStatus.Declined && then.state.declineReason, "insufficient funds");
  });

  it("voids an authorization that arrives after the customer cancelled", () => {
    const then = payment()
      .given(small, cancel)
      .when(authorized)
      .accepted({ status: PaymentStatus.Cancelled })
      .intents([intent({ type: "VoidAuthorization", paymentId: ID, authorizationId: "auth_1" })]);
    assert.equal(then.state.status === PaymentStatus.Cancelled && then.state.authorizationId, "auth_1");
  });

  it("rejects a second authorization for a payment cancelled after it was authorized", () => {
    payment().given(small, authorized, cancel).when(authorized).rejected(PaymentRejection.InvalidTransition);
  });

  it("rejects an authorization for a payment still awaiting verification", () => {
    payment().given(large).when(authorized).rejected(PaymentRejection.InvalidTransition);
  });

  it("rejects a second authorization for an authorized payment", () => {
    payment().given(small, authorized).when(authorized).rejected(PaymentRejection.InvalidTransition);
  });

  it("rejects a decline for a payment the provider already authorized", () => {
    payment().given(small, authorized).when(declined).rejected(PaymentRejection.InvalidTransition);
  });

  it("rejects a decline for a cancelled payment", () => {
    payment().given(small, cancel).when(declined).rejected(PaymentRejection.InvalidTransition);
  });
});

describe("payments: capture", () => {
  it("captures the full authorized amount, cancels the expiry and tells the provider and the customer", () => {
    payment()
      .given(small, authorized)
      .when(capture(125_000))
      .accepted({ status: PaymentStatus.Captured, captured: units(125_000), refunded: units(0) })
      .intents([
        cancelExpiry,
        intent({
          type: "CaptureWithProvider",
          paymentId: ID,
          authorizationId: "auth_1",
          amount: 125_000,
          currency: "EUR",
        }),
        notify("captured"),
      ]);
  });

  it("captures less than authorized as a partial capture", () => {
    payment()
      .given(small, authorized)
      .when(capture(50_000))
      .accepted({ status: PaymentStatus.Captured, amount: units(125_000), captured: units(50_000) })
      .intents(["CancelSchedule", "CaptureWithProvider", "NotifyCustomer"]);
  });

  it("accepts a capture that names the payment's own currency", () => {
    payment().given(small, authorized).when(capture(1, "EUR")).accepted({ status: PaymentStatus.Captured });
  });

  it("rejects a capture above the authorized amount", () => {
    payment().given(small, authorized).when(capture(125_001)).rejected(PaymentRejection.AmountExceedsAuthorized);
  });

  it("rejects a capture in another currency", () => {
    payment().given(small, authorized).when(capture(1, "USD")).rejected(PaymentRejection.CurrencyMismatch);
  });

  it("reports a currency mismatch before looking at the amount", () => {
    payment().given(small, authorized).when(capture(999_999_999, "USD")).rejected(PaymentRejection.CurrencyMismatch);
  });

  it("rejects capturing a payment that is still authorizing, and says why", () => {
    const then = payment().given(small).when(capture(1)).rejected(PaymentRejection.InvalidTransition);
    assert.deepEqual(then.outcome, {
      kind: "rejected",
      reason: "invalid_transition",
      detail: "cannot CapturePayment a payment that is authorizing",
    });
  });

  it("rejects capturing a payment twice", () => {
    payment().given(small, authorized, capture(1)).when(capture(1)).rejected(PaymentRejection.InvalidTransition);
  });

  it("explains an amount above the authorization with both amounts", () => {
    const then = payment().given(small, authorized).when(capture(125_001)).outcome;
    assert.equal(then.kind === "rejected" && then.detail, "cannot capture 1250.01 EUR: only 1250.00 EUR is authorized");
  });
});

describe("payments: refunds", () => {
  const capturedPayment = () => payment().given(small, authorized, capture(100_000));

  it("refunds part of the captured amount", () => {
    capturedPayment()
      .when(refund(30_000))
      .accepted({
        status: PaymentStatus.PartiallyRefunded,
        captured: units(100_000),
        refunded: units(30_000),
        refunds: 1,
      })
      .intents([
        intent({
          type: "RefundWithProvider",
          paymentId: ID,
          authorizationId: "auth_1",
          refundNumber: 1,
          amount: 30_000,
          currency: "EUR",
        }),
        notify("refunded"),
      ]);
  });

  it("becomes refunded when the refunds reach the captured total", () => {
    capturedPayment()
      .given(refund(30_000))
      .when(refund(70_000))
      .accepted({ status: PaymentStatus.Refunded, refunded: units(100_000), refunds: 2 });
  });

  it("refunds everything at once", () => {
    capturedPayment()
      .when(refund(100_000, "EUR"))
      .accepted({ status: PaymentStatus.Refunded, refunded: units(100_000) });
  });

  it("numbers refunds 1, 2, 3 in order", () => {
    capturedPayment()
      .given(refund(1), refund(1))
      .when(refund(1))
      .accepted({ refunds: 3 })
      .intents([
        intent({
          type: "RefundWithProvider",
          paymentId: ID,
          authorizationId: "auth_1",
          refundNumber: 3,
          amount: 1,
          currency: "EUR",
        }),
        notify("refunded"),
      ]);
  });

  it("limits refunds to the captured amount after a partial capture, not the authorized one", () => {
    capturedPayment().when(refund(100_001)).rejected(PaymentRejection.RefundExceedsCaptured);
  });

  it("rejects a refund above what is left after earlier refunds", () => {
    capturedPayment().given(refund(60_000)).when(refund(40_001)).rejected(PaymentRejection.RefundExceedsCaptured);
  });

  it("rejects a refund in another currency", () => {
    capturedPayment().when(refund(1, "USD")).rejected(PaymentRejection.CurrencyMismatch);
  });

  it("rejects a refund before capture", () => {
    payment().given(small, authorized).when(refund(1)).rejected(PaymentRejection.InvalidTransition);
  });

  it("rejects a refund of a fully refunded payment", () => {
    capturedPayment().given(refund(100_000)).when(refund(1)).rejected(PaymentRejection.InvalidTransition);
  });
});

describe("payments: cancellation", () => {
  it("cancels a payment awaiting verification and tells the customer", () => {
    payment()
      .given(large)
      .when(cancel)
      .accepted({ status: PaymentStatus.Cancelled })
      .intents([notify("cancelled")]);
  });

  it("cancels a payment while the provider is authorizing it", () => {
    payment()
      .given(small)
      .when(cancel)
      .accepted({ status: PaymentStatus.Cancelled })
      .intents([notify("cancelled")]);
  });

  it("cancels an authorized payment and voids its authorization", () => {
    payment()
      .given(small, authorized)
      .when(cancel)
      .accepted({ status: PaymentStatus.Cancelled })
      .intents([
        cancelExpiry,
        intent({ type: "VoidAuthorization", paymentId: ID, authorizationId: "auth_1" }),
        notify("cancelled"),
      ]);
  });

  it("rejects cancelling a captured payment", () => {
    payment().given(small, authorized, capture(1)).when(cancel).rejected(PaymentRejection.InvalidTransition);
  });

  it("rejects cancelling a declined payment", () => {
    payment().given(small, declined).when(cancel).rejected(PaymentRejection.InvalidTransition);
  });
});

describe("payments: an intent drover gave up", () => {
  it("fails a payment whose authorization ran out of attempts and tells the customer", () => {
    const then = payment()
      .given(small)
      .when(authorizationFailed)
      .accepted({ status: PaymentStatus.Failed })
      .intents([notify("failed")]);
    assert.equal(
      then.state.status === PaymentStatus.Failed && then.state.failureReason,
      FailureReason.ProviderUnavailable,
    );
  });

  it("authorizes a failed payment when an operator's retry of the authorization goes through", () => {
    const then = payment().given(small, authorizationFailed).when(authorized).accepted({
      status: PaymentStatus.Authorized,
    });
    assert.equal("failureReason" in then.state, false);
  });

  it("declines a failed payment when an operator's retry is declined", () => {
    payment().given(small, authorizationFailed).when(declined).accepted({ status: PaymentStatus.Declined });
  });

  it("keeps the status when another intent fails (a notification)", () => {
    payment().given(small, authorized).when(notificationFailed).rejected(PaymentRejection.InvalidTransition);
  });

  it("ignores a failed authorization of a payment that moved on (cancelled meanwhile)", () => {
    payment().given(small, cancel).when(authorizationFailed).rejected(PaymentRejection.InvalidTransition);
  });
});

describe("payments: expiry", () => {
  it("expires an authorized payment when its timer fires and tells the customer", () => {
    payment()
      .given(small, authorized)
      .when(expired)
      .accepted({ status: PaymentStatus.Expired })
      .intents([notify("expired")]);
  });

  it("rejects the expiry timer of a payment captured in time", () => {
    payment().given(small, authorized, capture(1)).when(expired).rejected(PaymentRejection.InvalidTransition);
  });

  it("rejects an expiry for a payment that was never authorized", () => {
    payment().given(small).when(expired).rejected(PaymentRejection.InvalidTransition);
  });

  it("rejects capturing an expired payment", () => {
    payment().given(small, authorized, expired).when(capture(1)).rejected(PaymentRejection.InvalidTransition);
  });
});

describe("payments: the whole transition table", () => {
  const reach: Record<PaymentStatus, PaymentEvent[]> = {
    awaiting_verification: [large],
    authorizing: [small],
    authorized: [small, authorized],
    captured: [small, authorized, capture(100_000)],
    partially_refunded: [small, authorized, capture(100_000), refund(1)],
    refunded: [small, authorized, capture(100_000), refund(100_000)],
    declined: [small, declined],
    cancelled: [small, cancel],
    expired: [small, authorized, expired],
    failed: [small, authorizationFailed],
  };
  const allowed: Record<PaymentStatus, readonly PaymentEvent["type"][]> = {
    awaiting_verification: ["VerifyPayment", "CancelPayment"],
    authorizing: ["ProviderAuthorized", "ProviderDeclined", "CancelPayment"],
    authorized: ["CapturePayment", "CancelPayment", "AuthorizationExpired"],
    captured: ["RefundPayment"],
    partially_refunded: ["RefundPayment"],
    refunded: [],
    declined: [],
    cancelled: ["ProviderAuthorized"],
    expired: [],
    failed: ["ProviderAuthorized", "ProviderDeclined"],
  };
  const every = [small, verify, authorized, declined, capture(1), refund(1), cancel, expired];
  // IntentFailed is accepted only for AuthorizeWithProvider in `authorizing` (its own tests).
  const everyWithFailure = [...every, authorizationFailed, notificationFailed];

  it("reaches each status through the events that lead to it", () => {
    for (const [status, history] of Object.entries(reach)) {
      assert.equal(payment().given(...history).state?.status, status);
    }
  });

  it("accepts exactly the allowed events and rejects every other with invalid_transition", () => {
    for (const status of Object.values(PaymentStatus)) {
      for (const next of everyWithFailure) {
        const then = payment()
          .given(...reach[status])
          .when(next);
        const expected =
          next.type === "RequestPayment"
            ? PaymentRejection.AlreadyExists
            : allowed[status].includes(next.type) ||
                (next === authorizationFailed && status === PaymentStatus.Authorizing)
              ? "accepted"
              : PaymentRejection.InvalidTransition;
        const actual = then.outcome.kind === "rejected" ? then.outcome.reason : then.outcome.kind;
        assert.equal(actual, expected, `${next.type} in ${status}`);
      }
    }
  });
});

describe("payments: wire format", () => {
  it("parses the events of the contract", () => {
    for (const body of [
      { type: "RequestPayment", amount: 125000, currency: "EUR", customerId: "cus_42" },
      { type: "VerifyPayment", verifiedBy: "ops_7" },
      { type: "CapturePayment", amount: 5000 },
      { type: "RefundPayment", amount: 1000 },
      { type: "CancelPayment" },
    ]) {
      assert.equal(PaymentEvent.safeParse(body).success, true, JSON.stringify(body));
    }
  });

  it("refuses an unknown currency", () => {
    assert.equal(PaymentEvent.safeParse({ ...small, currency: "XYZ" }).success, false);
  });

  it("refuses a lower-case currency code", () => {
    assert.equal(PaymentEvent.safeParse({ ...small, currency: "eur" }).success, false);
  });

  it("refuses a fractional amount", () => {
    assert.equal(PaymentEvent.safeParse({ ...small, amount: 1250.5 }).success, false);
    assert.equal(PaymentEvent.safeParse({ type: "CapturePayment", amount: 0.1 }).success, false);
  });

  it("refuses a zero or negative amount", () => {
    assert.equal(PaymentEvent.safeParse({ ...small, amount: 0 }).success, false);
    assert.equal(PaymentEvent.safeParse({ ...small, amount: -100 }).success, false);
    assert.equal(PaymentEvent.safeParse({ type: "RefundPayment", amount: 0 }).success, false);
  });

  it("refuses an amount beyond the safe integers", () => {
    assert.equal(PaymentEvent.safeParse({ ...small, amount: Number.MAX_SAFE_INTEGER + 1 }).success, false);
  });

  it("refuses an amount given as a string", () => {
    assert.equal(PaymentEvent.safeParse({ ...small, amount: "125000" }).success, false);
  });

  it("refuses an extra field", () => {
    assert.equal(PaymentEvent.safeParse({ ...small, note: "hi" }).success, false);
    assert.equal(PaymentEvent.safeParse({ type: "CancelPayment", reason: "changed my mind" }).success, false);
  });

  it("refuses an unknown event type", () => {
    assert.equal(PaymentEvent.safeParse({ type: "ChargeBack", amount: 100 }).success, false);
  });

  it("refuses a missing field", () => {
    assert.equal(PaymentEvent.safeParse({ type: "RequestPayment", amount: 100, currency: "EUR" }).success, false);
  });

  it("refuses a malformed customer id", () => {
    assert.equal(PaymentEvent.safeParse({ ...small, customerId: "42" }).success, false);
  });

  it("refuses a malformed payment id", () => {
    assert.equal(PaymentId.safeParse("pay_short").success, false);
    assert.equal(PaymentId.safeParse("pay_0123456789abcdef").success, true);
    assert.equal(PaymentId.safeParse(`pay_${"a".repeat(33)}`).success, false);
  });

  it("keeps a state whose refunds exceed its captures out of storage", () => {
    const state = { ...payment().given(small, authorized, capture(10)).state, refunded: 11 };
    assert.equal(PaymentState.safeParse(state).success, false);
  });

  it("refuses a stray field in a state", () => {
    const state = { ...payment().given(small).state, declineReason: "no" };
    assert.equal(PaymentState.safeParse(state).success, false);
  });
});

// Runs last (node:test runs a file's top-level tests in order), after every scenario above.
describe("payments: the diagram", () => {
  it("has every transition the scenarios above take", () => {
    const taken = recorder.transitions();
    assert.ok(taken.length >= 15, `the scenarios took only ${taken.length} transitions`);
    const graph = exploreMachine(payments);
    const drawn = new Set(graph.transitions.map((t) => `${t.from ?? "[*]"} --${t.event}--> ${t.to}`));
    const missing = taken.map((t) => `${t.from ?? "[*]"} --${t.event}--> ${t.to}`).filter((t) => !drawn.has(t));
    assert.deepEqual(missing, []);
  });
});
