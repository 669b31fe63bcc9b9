/**
 * The reference drover domain: a payment state machine and its value objects.
 *
 * @example
 * import { MemoryStore, Runtime } from "@drover/core";
 * import { payments } from "@drover/example-payments";
 *
 * const runtime = new Runtime({ store: new MemoryStore(), machines: [payments] });
 * const result = await runtime.run(
 *   { machine: "payments", id: "pay_2x8kQm4Lr7Tz9WcB" },
 *   { type: "RequestPayment", amount: 125000, currency: "EUR", customerId: "cus_42" },
 * );
 * // result.kind === "processed", result.state.status === "authorizing"
 */
export { AuthorizationId, CustomerId, OperatorId, PaymentId } from "./ids.js";
export type { Allotment, CurrencyExponent, MoneyError, MoneyResult, Ordering } from "./money.js";
export {
  add,
  addWithin,
  CURRENCY_EXPONENT,
  Currency,
  compare,
  exponentOf,
  format,
  isZero,
  MinorUnits,
  Money,
  MoneyErrorKind,
  majorUnits,
  money,
  NO_MINOR_UNITS,
  PositiveMinorUnits,
  subtract,
  zero,
} from "./money.js";
export {
  AUTHORIZATION_TTL_MS,
  AuthorizationExpired,
  AuthorizeWithProvider,
  CancelPayment,
  CapturePayment,
  CaptureWithProvider,
  NotificationTemplate,
  NotifyCustomer,
  needsVerification,
  PaymentEvent,
  PaymentIntent,
  PaymentRejection,
  PaymentState,
  PaymentStatus,
  ProviderAuthorized,
  ProviderDeclined,
  payments,
  RefundPayment,
  RefundWithProvider,
  RequestPayment,
  RequestVerification,
  VERIFICATION_THRESHOLD,
  VerifyPayment,
  VoidAuthorization,
} from "./payments.js";
