import type { Migrations } from "@drover/core";
import { Instant } from "@drover/core";
import { z } from "zod";
import { AuthorizationId, CustomerId, OperatorId } from "./ids.js";
import { Currency, MinorUnits, PositiveMinorUnits } from "./money.js";

/** Where a payment is in its life: the `status` of its state. **contract** */
export const PaymentStatus = {
  AwaitingVerification: "awaiting_verification",
  Authorizing: "authorizing",
  Authorized: "authorized",
  Captured: "captured",
  PartiallyRefunded: "partially_refunded",
  Refunded: "refunded",
  Declined: "declined",
  Cancelled: "cancelled",
  Expired: "expired",
  /** drover gave up the authorization (the provider stayed unreachable): see `FailureReason`. */
  Failed: "failed",
} as const;
export type PaymentStatus = (typeof PaymentStatus)[keyof typeof PaymentStatus];

/** Why a payment is `failed`: a smart enum. **contract** */
export const FailureReason = {
  /** The authorization ran out of attempts (or was refused for good) at the provider. */
  ProviderUnavailable: "provider_unavailable",
} as const;
export type FailureReason = (typeof FailureReason)[keyof typeof FailureReason];

/** The provider's reason for a decline, as it gave it. */
export const DeclineReason = z.string().min(1).max(500);

/** What every payment has, whatever its status. */
const common = {
  /** The requested (and authorized) amount. */
  amount: PositiveMinorUnits,
  currency: Currency,
  customerId: CustomerId,
  /** Captured so far (0 until captured). */
  captured: MinorUnits,
  /** Refunded so far, at most `captured`. */
  refunded: MinorUnits,
  /** How many refunds were made: the next refund is number `refunds + 1`. */
  refunds: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** The operator who verified a payment above the threshold. */
  verifiedBy: OperatorId.optional(),
};

function stateOf<const S extends PaymentStatus, Extra extends z.ZodRawShape = Record<never, never>>(
  status: S,
  extra?: Extra,
) {
  return z.strictObject({ status: z.literal(status), ...common, ...(extra ?? ({} as Extra)) });
}

const authorized = {
  authorizationId: AuthorizationId,
  /**
   * When the provider authorized, epoch ms (since state version 2); `null` for a payment
   * authorized before version 2 of this machine, which did not keep it.
   */
  authorizedAt: Instant.nullable(),
};

/**
 * A payment as stored (state version {@link PAYMENT_STATE_VERSION}): a JSON object whose
 * `status` says which fields it has. **contract**
 * `{ status, amount, currency, customerId, captured, refunded }` always (`refunds`, the
 * number of refunds, too), plus `authorizationId` and `authorizedAt` once the provider
 * authorized, `verifiedBy` once an operator verified, `declineReason` when declined,
 * `failureReason` when drover gave the authorization up (`failed`).
 * The schema also holds the invariant `refunded ≤ captured ≤ amount`.
 */
export const PaymentState = z
  .discriminatedUnion("status", [
    stateOf(PaymentStatus.AwaitingVerification),
    stateOf(PaymentStatus.Authorizing),
    stateOf(PaymentStatus.Authorized, authorized),
    stateOf(PaymentStatus.Captured, authorized),
    stateOf(PaymentStatus.PartiallyRefunded, authorized),
    stateOf(PaymentStatus.Refunded, authorized),
    stateOf(PaymentStatus.Declined, { declineReason: DeclineReason }),
    // Cancelled before or after the provider authorized: the id is there only if it had.
    stateOf(PaymentStatus.Cancelled, {
      authorizationId: AuthorizationId.optional(),
      authorizedAt: authorized.authorizedAt.optional(),
    }),
    stateOf(PaymentStatus.Expired, authorized),
    stateOf(PaymentStatus.Failed, { failureReason: z.enum(FailureReason) }),
  ])
  .refine((state) => state.refunded <= state.captured && state.captured <= state.amount, {
    message: "a payment must keep refunded ≤ captured ≤ amount",
  });
export type PaymentState = z.infer<typeof PaymentState>;

/** The version of {@link PaymentState}: 2 since payments keep the time of their authorization. */
export const PAYMENT_STATE_VERSION = 2;

/** A payment as version 1 stored it: what its migration reads (every other field is kept as it is). */
export interface PaymentStateV1 {
  readonly status: PaymentStatus;
  readonly authorizationId?: string;
}

/**
 * How a payment stored by an older version becomes the current {@link PaymentState}:
 * version 1 → 2 adds `authorizedAt`, unknown (`null`) for a payment already authorized.
 */
export const paymentStateMigrations: Migrations = {
  1: (state: PaymentStateV1) => (state.authorizationId === undefined ? state : { ...state, authorizedAt: null }),
};
