import { CancelScheduleIntent, IntentFailedEvent, scheduleSchema } from "@drover/core";
import { z } from "zod";
import { AuthorizationId, CustomerId, OperatorId, PaymentId } from "./ids.js";
import { Currency, PositiveMinorUnits } from "./money.js";
import { DeclineReason } from "./payment-state.js";

// The messages of the payments machine: its events, its intents, and the smart enums they
// carry. The rules that take them live in payments.ts, which exports all of this too.

/** Why the payments machine refused an event. **contract** */
export const PaymentRejection = {
  /** `RequestPayment` to an id that already has a payment. */
  AlreadyExists: "already_exists",
  /** The event makes no sense in the payment's current status. */
  InvalidTransition: "invalid_transition",
  /** A capture above the authorized amount. */
  AmountExceedsAuthorized: "amount_exceeds_authorized",
  /** A refund above what is left of the captured total. */
  RefundExceedsCaptured: "refund_exceeds_captured",
  /** A capture or refund in another currency than the payment's. */
  CurrencyMismatch: "currency_mismatch",
} as const;
export type PaymentRejection = (typeof PaymentRejection)[keyof typeof PaymentRejection];

/** Which message `NotifyCustomer` sends. */
export const NotificationTemplate = {
  Authorized: "authorized",
  Declined: "declined",
  Captured: "captured",
  Refunded: "refunded",
  Cancelled: "cancelled",
  Expired: "expired",
  Failed: "failed",
} as const;
export type NotificationTemplate = (typeof NotificationTemplate)[keyof typeof NotificationTemplate];

// ─── Events ────────────────────────────────────────────────────────────────────────────

/** A customer asks to pay: creates the payment. The only event that does. **contract** */
export const RequestPayment = z.strictObject({
  type: z.literal("RequestPayment"),
  amount: PositiveMinorUnits,
  currency: Currency,
  customerId: CustomerId,
});
export type RequestPayment = z.infer<typeof RequestPayment>;
/** An operator verified a payment above the threshold. **contract** */
export const VerifyPayment = z.strictObject({ type: z.literal("VerifyPayment"), verifiedBy: OperatorId });
export type VerifyPayment = z.infer<typeof VerifyPayment>;
/** The provider put a hold on the funds (from the `AuthorizeWithProvider` effect). */
export const ProviderAuthorized = z.strictObject({
  type: z.literal("ProviderAuthorized"),
  authorizationId: AuthorizationId,
});
export type ProviderAuthorized = z.infer<typeof ProviderAuthorized>;
/** The provider refused the payment (from the `AuthorizeWithProvider` effect). */
export const ProviderDeclined = z.strictObject({ type: z.literal("ProviderDeclined"), reason: DeclineReason });
export type ProviderDeclined = z.infer<typeof ProviderDeclined>;
/** Take (part of) the authorized amount; `currency`, if given, must be the payment's. **contract** */
export const CapturePayment = z.strictObject({
  type: z.literal("CapturePayment"),
  amount: PositiveMinorUnits,
  currency: Currency.optional(),
});
export type CapturePayment = z.infer<typeof CapturePayment>;
/** Give (part of) the captured amount back; `currency`, if given, must be the payment's. **contract** */
export const RefundPayment = z.strictObject({
  type: z.literal("RefundPayment"),
  amount: PositiveMinorUnits,
  currency: Currency.optional(),
});
export type RefundPayment = z.infer<typeof RefundPayment>;
/** Call the payment off before capture. **contract** */
export const CancelPayment = z.strictObject({ type: z.literal("CancelPayment") });
export type CancelPayment = z.infer<typeof CancelPayment>;
/** The authorization's timer ran out (from the `Schedule` intent). */
export const AuthorizationExpired = z.strictObject({ type: z.literal("AuthorizationExpired") });
export type AuthorizationExpired = z.infer<typeof AuthorizationExpired>;

// drover gave up an intent of this payment: `IntentFailed`, the event of @drover/core.
export type { IntentFailed } from "@drover/core";

/** Every event the payments machine takes: flat JSON objects told apart by `type`. **contract** */
export const PaymentEvent = z.discriminatedUnion("type", [
  RequestPayment,
  VerifyPayment,
  ProviderAuthorized,
  ProviderDeclined,
  CapturePayment,
  RefundPayment,
  CancelPayment,
  AuthorizationExpired,
  IntentFailedEvent,
]);
export type PaymentEvent = z.infer<typeof PaymentEvent>;

// ─── Intents ───────────────────────────────────────────────────────────────────────────

const charge = {
  paymentId: PaymentId,
  amount: PositiveMinorUnits,
  currency: Currency,
  customerId: CustomerId,
};

/** Ask the provider to authorize (hold) the amount. */
export const AuthorizeWithProvider = z.strictObject({ type: z.literal("AuthorizeWithProvider"), ...charge });
export type AuthorizeWithProvider = z.infer<typeof AuthorizeWithProvider>;
/** Ask an operator to verify a payment above the threshold. */
export const RequestVerification = z.strictObject({ type: z.literal("RequestVerification"), ...charge });
export type RequestVerification = z.infer<typeof RequestVerification>;
/** Tell the customer what happened. */
export const NotifyCustomer = z.strictObject({
  type: z.literal("NotifyCustomer"),
  paymentId: PaymentId,
  customerId: CustomerId,
  template: z.enum(NotificationTemplate),
});
export type NotifyCustomer = z.infer<typeof NotifyCustomer>;
/** Ask the provider to take `amount` of the authorization (the rest is released). */
export const CaptureWithProvider = z.strictObject({
  type: z.literal("CaptureWithProvider"),
  paymentId: PaymentId,
  authorizationId: AuthorizationId,
  amount: PositiveMinorUnits,
  currency: Currency,
});
export type CaptureWithProvider = z.infer<typeof CaptureWithProvider>;
/** Ask the provider to release the hold. */
export const VoidAuthorization = z.strictObject({
  type: z.literal("VoidAuthorization"),
  paymentId: PaymentId,
  authorizationId: AuthorizationId,
});
export type VoidAuthorization = z.infer<typeof VoidAuthorization>;
/** Ask the provider to give `amount` back; `refundNumber` (1, 2, …) keys it per payment. */
export const RefundWithProvider = z.strictObject({
  type: z.literal("RefundWithProvider"),
  paymentId: PaymentId,
  authorizationId: AuthorizationId,
  refundNumber: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  amount: PositiveMinorUnits,
  currency: Currency,
});
export type RefundWithProvider = z.infer<typeof RefundWithProvider>;

/** Every side effect the payments machine may ask for. */
export const PaymentIntent = z.discriminatedUnion("type", [
  AuthorizeWithProvider,
  RequestVerification,
  NotifyCustomer,
  CaptureWithProvider,
  VoidAuthorization,
  RefundWithProvider,
  scheduleSchema(AuthorizationExpired),
  CancelScheduleIntent,
]);
export type PaymentIntent = z.infer<typeof PaymentIntent>;
