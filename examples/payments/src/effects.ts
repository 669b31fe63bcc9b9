import type { Effects } from "@drover/core";
import { defineEffects, followUp, PermanentEffectError } from "@drover/core";
import type { Mailer, VerificationQueue } from "./back-office.js";
import { payments } from "./payments.js";
import type { PaymentProvider } from "./provider.js";
import { AuthorizeOutcome, ProviderRejectedError } from "./provider.js";

/** What the payments' effect handlers talk to. */
export interface PaymentEffectsDependencies {
  readonly provider: PaymentProvider;
  readonly verifications: VerificationQueue;
  readonly mailer: Mailer;
}

/**
 * The effect handlers of the `payments` machine: every intent but `Schedule` (the scheduler
 * fires those). Each passes the intent's stable id as the idempotency key and the attempt's
 * abort signal, so a retried intent is recognised by the provider and the back office, and
 * a timed-out one stops waiting. `AuthorizeWithProvider` answers with `ProviderAuthorized`
 * or `ProviderDeclined`; the others have nothing to say back. A transient provider failure
 * throws, so the dispatcher retries the intent with backoff; a permanent refusal becomes a
 * {@link PermanentEffectError}, so the intent is dead-lettered at once for an operator.
 *
 * @example
 * const app = new App({
 *   store: SqliteStore.open({ path: "./data/drover.db" }),
 *   machines: [payments],
 *   effects: [paymentEffects({ provider: new SimulatedProvider(), verifications: new MemoryVerificationQueue(), mailer: new MemoryMailer() })],
 * });
 */
export function paymentEffects({ provider, verifications, mailer }: PaymentEffectsDependencies): Effects {
  return defineEffects(payments, {
    AuthorizeWithProvider: async ({ paymentId, amount, currency, customerId }, ctx) => {
      const answer = await permanent(
        provider.authorize(ctx.intentId, { paymentId, amount, currency, customerId }, ctx.signal),
      );
      switch (answer.outcome) {
        case AuthorizeOutcome.Authorized:
          return [
            followUp(payments, paymentId, { type: "ProviderAuthorized", authorizationId: answer.authorizationId }),
          ];
        case AuthorizeOutcome.Declined:
          return [followUp(payments, paymentId, { type: "ProviderDeclined", reason: answer.reason })];
        default: {
          const exhaustive: never = answer;
          return exhaustive;
        }
      }
    },
    CaptureWithProvider: async ({ authorizationId, amount, currency }, ctx) => {
      await permanent(provider.capture(ctx.intentId, { authorizationId, amount, currency }, ctx.signal));
    },
    VoidAuthorization: async ({ authorizationId }, ctx) => {
      await permanent(provider.void(ctx.intentId, { authorizationId }, ctx.signal));
    },
    RefundWithProvider: async ({ authorizationId, amount, currency }, ctx) => {
      await permanent(provider.refund(ctx.intentId, { authorizationId, amount, currency }, ctx.signal));
    },
    RequestVerification: async ({ paymentId, amount, currency, customerId }, ctx) => {
      await verifications.enqueue(ctx.intentId, { paymentId, amount, currency, customerId }, ctx.signal);
    },
    NotifyCustomer: async ({ paymentId, customerId, template }, ctx) => {
      await mailer.send(ctx.intentId, { paymentId, customerId, template }, ctx.signal);
    },
  });
}

/** A refusal the provider will repeat forever is not worth retrying: dead-letter it at once. */
async function permanent<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ProviderRejectedError) throw new PermanentEffectError(error.message, { cause: error });
    throw error;
  }
}
