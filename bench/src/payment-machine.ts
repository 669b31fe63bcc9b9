import { accept, defineMachine, reject } from "@drover/core";
import { z } from "zod";

/**
 * The benchmark's machine: payments-shaped, one intent per accepted step. `RequestPayment`
 * creates a payment, `Capture` and `Refund` move money within it. Every contestant decides
 * exactly this way (the raw contestants by hand), so they all write the same rows.
 */
export const BENCH_MACHINE = "payment";

/** Ids of the benchmark's payments: `pay_` and digits. */
export const BenchPaymentId = z
  .string()
  .regex(/^pay_[0-9]{1,12}$/)
  .brand<"BenchPaymentId">();

/** Why a payment refuses an event. */
export const PaymentRejection = {
  AlreadyRequested: "already_requested",
  OverCapture: "over_capture",
  OverRefund: "over_refund",
} as const;
export type PaymentRejection = (typeof PaymentRejection)[keyof typeof PaymentRejection];

const Amount = z.number().int().min(1).max(100_000_000);
const RequestPayment = z.strictObject({ type: z.literal("RequestPayment"), amount: Amount });
const Capture = z.strictObject({ type: z.literal("Capture"), amount: Amount });
const Refund = z.strictObject({ type: z.literal("Refund"), amount: Amount });

/** The events, flat `{ type, amount }` objects. */
export type PaymentEvent = z.infer<typeof PaymentEvent>;
export const PaymentEvent = z.discriminatedUnion("type", [RequestPayment, Capture, Refund]);

/** A payment's state. Keys in this order: the raw contestants write the same JSON text. */
export interface PaymentState {
  readonly amount: number;
  readonly captured: number;
  readonly refunded: number;
}

/** The intents, one per accepted step: `Authorize`, `SettleCapture`, `SendRefund`. */
export type PaymentIntent =
  | { readonly type: "Authorize"; readonly payment: string; readonly amount: number }
  | { readonly type: "SettleCapture"; readonly payment: string; readonly amount: number }
  | { readonly type: "SendRefund"; readonly payment: string; readonly amount: number };

const intent = <T extends string>(type: T) =>
  z.strictObject({ type: z.literal(type), payment: z.string(), amount: z.number().int() });

/** The machine drover runs. */
export const paymentMachine = defineMachine({
  name: BENCH_MACHINE,
  id: BenchPaymentId,
  state: z.strictObject({ amount: z.number().int(), captured: z.number().int(), refunded: z.number().int() }),
  events: PaymentEvent,
  intents: z.discriminatedUnion("type", [intent("Authorize"), intent("SettleCapture"), intent("SendRefund")]),
  rejections: z.enum(PaymentRejection),
  creates: ["RequestPayment"],
  create: (event, ctx) =>
    accept(
      { amount: event.amount, captured: 0, refunded: 0 },
      { type: "Authorize" as const, payment: ctx.entityId, amount: event.amount },
    ),
  handle: (state, event, ctx) => {
    switch (event.type) {
      case "RequestPayment":
        return reject(PaymentRejection.AlreadyRequested);
      case "Capture":
        if (state.captured + event.amount > state.amount) return reject(PaymentRejection.OverCapture);
        return accept(
          { ...state, captured: state.captured + event.amount },
          { type: "SettleCapture" as const, payment: ctx.entityId, amount: event.amount },
        );
      case "Refund":
        if (state.refunded + event.amount > state.captured) return reject(PaymentRejection.OverRefund);
        return accept(
          { ...state, refunded: state.refunded + event.amount },
          { type: "SendRefund" as const, payment: ctx.entityId, amount: event.amount },
        );
      default: {
        const exhaustive: never = event;
        return exhaustive;
      }
    }
  },
});

/**
 * The same decision, by hand, for the contestants that do not run drover: the next state
 * and its one intent, or the rejection. No schema parsing: the raw limit trusts its input.
 */
export function decidePayment(
  state: PaymentState | undefined,
  event: PaymentEvent,
  payment: string,
): { readonly state: PaymentState; readonly intent: PaymentIntent } | { readonly rejected: PaymentRejection } {
  if (state === undefined) {
    if (event.type !== "RequestPayment") throw new Error(`no payment ${payment} for ${event.type}`);
    return {
      state: { amount: event.amount, captured: 0, refunded: 0 },
      intent: { type: "Authorize", payment, amount: event.amount },
    };
  }
  switch (event.type) {
    case "RequestPayment":
      return { rejected: PaymentRejection.AlreadyRequested };
    case "Capture":
      if (state.captured + event.amount > state.amount) return { rejected: PaymentRejection.OverCapture };
      return {
        state: { ...state, captured: state.captured + event.amount },
        intent: { type: "SettleCapture", payment, amount: event.amount },
      };
    case "Refund":
      if (state.refunded + event.amount > state.captured) return { rejected: PaymentRejection.OverRefund };
      return {
        state: { ...state, refunded: state.refunded + event.amount },
        intent: { type: "SendRefund", payment, amount: event.amount },
      };
    default: {
      const exhaustive: never = event;
      return exhaustive;
    }
  }
}
