import type { Decision } from "@drover/core";
import { DecisionKind, defineMachine, readState } from "@drover/core";
import { z } from "zod";
import { PaymentId } from "../ids.js";
import type { PaymentIntent, PaymentRejection, PaymentState } from "../payments.js";
import {
  PaymentEvent,
  PaymentIntent as PaymentIntentSchema,
  paymentStateMigrations,
  payments,
  PaymentRejection as Rejections,
} from "../payments.js";

type V1State = Readonly<Record<string, unknown>>;

/** The version 1 shape of a decided state: the rules are the same, `authorizedAt` was not kept. */
function asVersion1(decision: Decision<PaymentState, PaymentIntent, PaymentRejection>) {
  if (decision.kind !== DecisionKind.Accepted) return decision;
  const { authorizedAt: _, ...state } = decision.state as PaymentState & { authorizedAt?: unknown };
  return { ...decision, state: state as V1State };
}

/**
 * Version 1 of the payments machine — state version 1, before payments kept `authorizedAt` —
 * for tests of data written by that code: the same rules, the same events and intents, the
 * state without the field. A state is valid for it when version 2 can read it.
 *
 * @example
 * const old = new App({ store, machines: [paymentsV1], effects });
 */
export const paymentsV1 = defineMachine({
  name: "payments",
  id: PaymentId,
  state: z.custom<V1State>((value) => readState(payments, value, 1).ok, "not a payment of state version 1"),
  events: PaymentEvent,
  intents: PaymentIntentSchema,
  rejections: z.enum(Rejections),
  creates: ["RequestPayment"],
  internal: [...payments.internal],
  create: (event, ctx) => asVersion1(payments.create(event, ctx)),
  handle: (state, event, ctx) => {
    const current = paymentStateMigrations[1]?.(state) as PaymentState;
    return asVersion1(payments.handle(current, event, ctx));
  },
});
