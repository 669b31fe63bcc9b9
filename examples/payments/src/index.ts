/**
 * The reference drover domain: a payment state machine, its value objects, its effect
 * handlers and the simulated payment provider they talk to.
 *
 * @example
 * import { App, MemoryStore } from "@drover/core";
 * import { MemoryMailer, MemoryVerificationQueue, paymentEffects, payments, SimulatedProvider } from "@drover/example-payments";
 *
 * const provider = new SimulatedProvider({ latencyMs: 5 });
 * const effects = paymentEffects({ provider, verifications: new MemoryVerificationQueue(), mailer: new MemoryMailer() });
 * const app = new App({ store: new MemoryStore(), machines: [payments], effects: [effects] });
 * await app.start();
 * await app.run(
 *   { machine: "payments", id: "pay_2x8kQm4Lr7Tz9WcB" },
 *   { type: "RequestPayment", amount: 125000, currency: "EUR", customerId: "cus_42" },
 * ); // processed: "authorizing", with an AuthorizeWithProvider intent
 * await app.idle(); // the dispatcher asked the provider; the payment is now "authorized"
 */

export type { Random } from "@drover/core/testing";
export { seededRandom } from "@drover/core/testing";
export type {
  CustomerMessage,
  Mailer,
  QueuedVerification,
  SentMessage,
  VerificationQueue,
  VerificationRequest,
} from "./back-office.js";
export { MemoryMailer, MemoryVerificationQueue } from "./back-office.js";
export type { PaymentEffectsDependencies } from "./effects.js";
export { paymentEffects } from "./effects.js";
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
  EXPIRY_TIMER,
  FailureReason,
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
export type {
  AuthorizeRequest,
  AuthorizeResult,
  CaptureRequest,
  LedgerEntry,
  PaymentLedger,
  PaymentProvider,
  ProviderLedger,
  ProviderReceipt,
  ProviderSettings,
  RefundRequest,
  SimulatedProviderOptions,
  Sleep,
  VoidRequest,
} from "./provider.js";
export {
  AuthorizeOutcome,
  DECLINED_CUSTOMER_PREFIX,
  LedgerOutcome,
  ledgerByKey,
  ledgerByPayment,
  ProviderErrorCode,
  ProviderOperation,
  ProviderRejectedError,
  ProviderUnavailableError,
  providerSettingsFromEnv,
  SimulatedProvider,
} from "./provider.js";
export type { HttpProviderOptions, ProviderServer, ServeProviderOptions } from "./provider-http.js";
export { HttpProvider, serveProvider } from "./provider-http.js";
