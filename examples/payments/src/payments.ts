import type { Decision, Machine, StepContext } from "@drover/core";
import { accept, cancelSchedule, defineMachine, reject, schedule } from "@drover/core";
import { z } from "zod";
import { PaymentId } from "./ids.js";
import type { Money } from "./money.js";
import { addWithin, compare, format, isZero, MoneyErrorKind, majorUnits, money, NO_MINOR_UNITS } from "./money.js";
import type {
  AuthorizationExpired,
  CancelPayment,
  CapturePayment,
  IntentFailed,
  ProviderAuthorized,
  ProviderDeclined,
  RefundPayment,
  RequestPayment,
  VerifyPayment,
} from "./payment-messages.js";
import { NotificationTemplate, PaymentEvent, PaymentIntent, PaymentRejection } from "./payment-messages.js";
import {
  FailureReason,
  PAYMENT_STATE_VERSION,
  PaymentState,
  PaymentStatus,
  paymentStateMigrations,
} from "./payment-state.js";

// ─── Rules' constants ──────────────────────────────────────────────────────────────────

/** How long an authorization holds before it expires unless captured: 7 days, in ms. */
export const AUTHORIZATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** Payments strictly above this many major units (10,000.00 in their currency) need verification. */
export const VERIFICATION_THRESHOLD = 10_000;

// ─── Messages and state ────────────────────────────────────────────────────────────────

export type { IntentFailed } from "./payment-messages.js";
// The events, intents, rejections and notification templates live in payment-messages.ts.
export {
  AuthorizationExpired,
  AuthorizeWithProvider,
  CancelPayment,
  CapturePayment,
  CaptureWithProvider,
  NotificationTemplate,
  NotifyCustomer,
  PaymentEvent,
  PaymentIntent,
  PaymentRejection,
  ProviderAuthorized,
  ProviderDeclined,
  RefundPayment,
  RefundWithProvider,
  RequestPayment,
  RequestVerification,
  VerifyPayment,
  VoidAuthorization,
} from "./payment-messages.js";
// The state and its versions live in payment-state.ts; they are part of this module's surface.
export type { PaymentStateV1 } from "./payment-state.js";
export {
  FailureReason,
  PAYMENT_STATE_VERSION,
  PaymentState,
  PaymentStatus,
  paymentStateMigrations,
} from "./payment-state.js";

// ─── Rules ─────────────────────────────────────────────────────────────────────────────

type PaymentContext = StepContext<PaymentId>;
type PaymentDecision = Decision<PaymentState, PaymentIntent, PaymentRejection>;

// Typed up front: `schedule` would widen an inline `{ type: "AuthorizationExpired" }` to `string`.
const EXPIRY: AuthorizationExpired = { type: "AuthorizationExpired" };
/** The key of a payment's expiry timer: capture and cancellation cancel it by this name. */
export const EXPIRY_TIMER = "authorization-expiry";

/** True when `requested` is above 10,000.00 in its own currency. */
export function needsVerification(requested: Money): boolean {
  const order = compare(requested, money(majorUnits(VERIFICATION_THRESHOLD, requested.currency), requested.currency));
  // Both sides share a currency, so `ok` is always true; were it not, verifying is the safe side.
  return !order.ok || order.value > 0;
}

function create(event: RequestPayment, ctx: PaymentContext): PaymentDecision {
  const base = {
    amount: event.amount,
    currency: event.currency,
    customerId: event.customerId,
    captured: NO_MINOR_UNITS,
    refunded: NO_MINOR_UNITS,
    refunds: 0,
  };
  if (needsVerification(money(event.amount, event.currency))) {
    return accept(
      { status: PaymentStatus.AwaitingVerification, ...base },
      { type: "RequestVerification", ...chargeOf(base, ctx) },
    );
  }
  return accept(
    { status: PaymentStatus.Authorizing, ...base },
    { type: "AuthorizeWithProvider", ...chargeOf(base, ctx) },
  );
}

function handle(state: PaymentState, event: PaymentEvent, ctx: PaymentContext): PaymentDecision {
  switch (event.type) {
    case "RequestPayment":
      return reject(PaymentRejection.AlreadyExists, `payment ${ctx.entityId} already exists (it is ${state.status})`);
    case "VerifyPayment":
      return verify(state, event, ctx);
    case "ProviderAuthorized":
      return authorize(state, event, ctx);
    case "ProviderDeclined":
      return decline(state, event, ctx);
    case "CapturePayment":
      return capture(state, event, ctx);
    case "RefundPayment":
      return refund(state, event, ctx);
    case "CancelPayment":
      return cancel(state, event, ctx);
    case "AuthorizationExpired":
      return expire(state, event, ctx);
    case "IntentFailed":
      return fail(state, event, ctx);
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

function verify(state: PaymentState, event: VerifyPayment, ctx: PaymentContext): PaymentDecision {
  if (state.status !== PaymentStatus.AwaitingVerification) return invalidTransition(event, state);
  return accept(
    { ...state, status: PaymentStatus.Authorizing, verifiedBy: event.verifiedBy },
    { type: "AuthorizeWithProvider", ...chargeOf(state, ctx) },
  );
}

function authorize(state: PaymentState, event: ProviderAuthorized, ctx: PaymentContext): PaymentDecision {
  switch (state.status) {
    case PaymentStatus.Authorizing:
    case PaymentStatus.Failed: {
      // From `failed`: an operator retried the dead authorization and the provider said yes.
      return accept(
        {
          ...withoutFailure(state),
          status: PaymentStatus.Authorized,
          authorizationId: event.authorizationId,
          authorizedAt: ctx.at,
        },
        schedule(ctx.at + AUTHORIZATION_TTL_MS, EXPIRY, { key: EXPIRY_TIMER }),
        notify(state, NotificationTemplate.Authorized, ctx),
      );
    }
    case PaymentStatus.Cancelled:
      // The customer cancelled while the provider was authorizing: release the late hold.
      // A payment cancelled after authorization already voided its hold; a second one is odd.
      if (state.authorizationId !== undefined) return invalidTransition(event, state);
      return accept(
        { ...state, authorizationId: event.authorizationId, authorizedAt: ctx.at },
        { type: "VoidAuthorization", paymentId: ctx.entityId, authorizationId: event.authorizationId },
      );
    default:
      return invalidTransition(event, state);
  }
}

function decline(state: PaymentState, event: ProviderDeclined, ctx: PaymentContext): PaymentDecision {
  if (state.status !== PaymentStatus.Authorizing && state.status !== PaymentStatus.Failed) {
    return invalidTransition(event, state);
  }
  return accept(
    { ...withoutFailure(state), status: PaymentStatus.Declined, declineReason: event.reason },
    notify(state, NotificationTemplate.Declined, ctx),
  );
}

/**
 * drover gave up an intent. Only a failed authorization changes the payment: it is `failed`
 * (the customer is told) rather than `authorizing` forever. An operator may still retry the
 * dead intent; the provider's answer then moves the payment on (see `authorize`, `decline`).
 * Other intents failing (a notification, a capture already taken) leave the status as it is.
 */
function fail(state: PaymentState, event: IntentFailed, ctx: PaymentContext): PaymentDecision {
  if (event.intentType !== "AuthorizeWithProvider" || state.status !== PaymentStatus.Authorizing) {
    return invalidTransition(event, state);
  }
  return accept(
    { ...state, status: PaymentStatus.Failed, failureReason: FailureReason.ProviderUnavailable },
    notify(state, NotificationTemplate.Failed, ctx),
  );
}

function capture(state: PaymentState, event: CapturePayment, ctx: PaymentContext): PaymentDecision {
  if (state.status !== PaymentStatus.Authorized) return invalidTransition(event, state);
  const requested = money(event.amount, event.currency ?? state.currency);
  const authorizedAmount = money(state.amount, state.currency);
  const order = compare(requested, authorizedAmount);
  if (!order.ok) {
    return reject(PaymentRejection.CurrencyMismatch, `this payment is in ${state.currency}, not ${requested.currency}`);
  }
  if (order.value > 0) {
    return reject(
      PaymentRejection.AmountExceedsAuthorized,
      `cannot capture ${format(requested)}: only ${format(authorizedAmount)} is authorized`,
    );
  }
  // A capture below the authorized amount is a partial capture: the provider releases the rest.
  // Captured, the authorization cannot expire any more: its timer goes.
  return accept(
    { ...state, status: PaymentStatus.Captured, captured: requested.amount },
    cancelSchedule(EXPIRY_TIMER),
    {
      type: "CaptureWithProvider",
      paymentId: ctx.entityId,
      authorizationId: state.authorizationId,
      amount: event.amount,
      currency: state.currency,
    },
    notify(state, NotificationTemplate.Captured, ctx),
  );
}

function refund(state: PaymentState, event: RefundPayment, ctx: PaymentContext): PaymentDecision {
  if (state.status !== PaymentStatus.Captured && state.status !== PaymentStatus.PartiallyRefunded) {
    return invalidTransition(event, state);
  }
  const requested = money(event.amount, event.currency ?? state.currency);
  const refunded = addWithin(money(state.refunded, state.currency), requested, money(state.captured, state.currency));
  if (!refunded.ok) {
    return refunded.error.kind === MoneyErrorKind.CurrencyMismatch
      ? reject(PaymentRejection.CurrencyMismatch, `this payment is in ${state.currency}, not ${requested.currency}`)
      : reject(PaymentRejection.RefundExceedsCaptured, `cannot refund ${format(requested)}: ${refunded.error.message}`);
  }
  const refundNumber = state.refunds + 1;
  return accept(
    {
      ...state,
      status: isZero(refunded.value.remaining) ? PaymentStatus.Refunded : PaymentStatus.PartiallyRefunded,
      refunded: refunded.value.total.amount,
      refunds: refundNumber,
    },
    {
      type: "RefundWithProvider",
      paymentId: ctx.entityId,
      authorizationId: state.authorizationId,
      refundNumber,
      amount: event.amount,
      currency: state.currency,
    },
    notify(state, NotificationTemplate.Refunded, ctx),
  );
}

function cancel(state: PaymentState, event: CancelPayment, ctx: PaymentContext): PaymentDecision {
  switch (state.status) {
    case PaymentStatus.AwaitingVerification:
    case PaymentStatus.Authorizing:
    case PaymentStatus.Failed:
      // A failed payment may still be authorized by an operator's retry: cancelled, a late
      // authorization is voided (see `authorize`).
      return accept(
        { ...withoutFailure(state), status: PaymentStatus.Cancelled },
        notify(state, NotificationTemplate.Cancelled, ctx),
      );
    case PaymentStatus.Authorized:
      return accept(
        { ...state, status: PaymentStatus.Cancelled },
        cancelSchedule(EXPIRY_TIMER),
        { type: "VoidAuthorization", paymentId: ctx.entityId, authorizationId: state.authorizationId },
        notify(state, NotificationTemplate.Cancelled, ctx),
      );
    default:
      return invalidTransition(event, state);
  }
}

function expire(state: PaymentState, event: AuthorizationExpired, ctx: PaymentContext): PaymentDecision {
  if (state.status !== PaymentStatus.Authorized) return invalidTransition(event, state);
  return accept({ ...state, status: PaymentStatus.Expired }, notify(state, NotificationTemplate.Expired, ctx));
}

/** A payment without the reason of an earlier failure (it moves on after an operator's retry). */
function withoutFailure(state: PaymentState) {
  if (state.status !== PaymentStatus.Failed) return state;
  const { failureReason: _failed, ...payment } = state;
  return payment;
}

function invalidTransition(event: PaymentEvent, state: PaymentState): PaymentDecision {
  return reject(PaymentRejection.InvalidTransition, `cannot ${event.type} a payment that is ${state.status}`);
}

function chargeOf(payment: Pick<PaymentState, "amount" | "currency" | "customerId">, ctx: PaymentContext) {
  return {
    paymentId: ctx.entityId,
    amount: payment.amount,
    currency: payment.currency,
    customerId: payment.customerId,
  };
}

function notify(state: PaymentState, template: NotificationTemplate, ctx: PaymentContext) {
  return { type: "NotifyCustomer" as const, paymentId: ctx.entityId, customerId: state.customerId, template };
}

/**
 * The payments machine: requests, verification of large amounts, authorization, capture,
 * refunds, cancellation and expiry. Pure: time arrives as `ctx.at`, ids in events.
 *
 * @example
 * const runtime = new Runtime({ store: new MemoryStore(), machines: [payments] });
 * await runtime.run(
 *   { machine: "payments", id: "pay_2x8kQm4Lr7Tz9WcB" },
 *   { type: "RequestPayment", amount: 125000, currency: "EUR", customerId: "cus_42" },
 * ); // processed; 1,250.00 EUR is not above 10,000.00, so the state's status is "authorizing"
 */
export const payments: Machine<
  "payments",
  PaymentId,
  PaymentState,
  PaymentEvent,
  PaymentIntent,
  PaymentRejection,
  z.input<typeof PaymentEvent>
> = defineMachine({
  name: "payments",
  id: PaymentId,
  state: PaymentState,
  events: PaymentEvent,
  intents: PaymentIntent,
  rejections: z.enum(PaymentRejection),
  version: PAYMENT_STATE_VERSION,
  migrations: paymentStateMigrations,
  creates: ["RequestPayment"],
  // Sent by the effect handlers, the expiry timer and drover (a dead intent), never by callers.
  internal: ["ProviderAuthorized", "ProviderDeclined", "AuthorizationExpired", "IntentFailed"],
  create,
  handle,
});
