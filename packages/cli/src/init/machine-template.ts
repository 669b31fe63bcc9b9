// The domain `drover init` scaffolds: a subscriptions machine with value objects, smart-enum
// rejections, one effect (a welcome mail) and one timer (the trial's end). Kept as text so the
// CLI ships it without a templates folder; `init.e2e.test.ts` compiles and runs what it writes.

/** `src/subscriptions.ts` of a new application. */
export const MACHINE = `// The subscriptions machine: pure, synchronous, no I/O. It decides; drover does the rest.
import { accept, defineMachine, reject, schedule, scheduleSchema } from "@drover/core";
import { z } from "zod";

/** A subscription's id: \`sub_\` and 8 to 32 url-safe characters. */
export const SubscriptionId = z
  .string()
  .regex(/^sub_[A-Za-z0-9_-]{8,32}$/)
  .brand<"SubscriptionId">();
export type SubscriptionId = z.infer<typeof SubscriptionId>;

/** A customer's e-mail address. */
export const Email = z.email().brand<"Email">();
export type Email = z.infer<typeof Email>;

/** The plans, a smart enum. */
export const Plan = { Basic: "basic", Pro: "pro" } as const;
export type Plan = (typeof Plan)[keyof typeof Plan];

/** Why the machine refuses an event, a smart enum: callers switch on these. */
export const SubscriptionRejection = {
  AlreadySubscribed: "already_subscribed",
  AlreadyCancelled: "already_cancelled",
} as const;
export type SubscriptionRejection = (typeof SubscriptionRejection)[keyof typeof SubscriptionRejection];

/** How long a trial lasts before the subscription turns active. */
export const TRIAL_MS = 14 * 24 * 60 * 60 * 1000;

const Subscribe = z.strictObject({ type: z.literal("Subscribe"), plan: z.enum(Plan), email: Email });
const Cancel = z.strictObject({ type: z.literal("Cancel") });
const TrialEnded = z.strictObject({ type: z.literal("TrialEnded") });
const SendWelcome = z.strictObject({ type: z.literal("SendWelcome"), email: Email, plan: z.enum(Plan) });

export const subscriptions = defineMachine({
  name: "subscriptions",
  id: SubscriptionId,
  state: z.strictObject({
    status: z.enum(["trialing", "active", "cancelled"]),
    plan: z.enum(Plan),
    email: Email,
  }),
  events: z.discriminatedUnion("type", [Subscribe, Cancel, TrialEnded]),
  intents: z.discriminatedUnion("type", [SendWelcome, scheduleSchema(TrialEnded)]),
  rejections: z.enum(SubscriptionRejection),
  creates: ["Subscribe"],
  // Sent by drover itself (the timer), never by callers.
  internal: ["TrialEnded"],
  create: (event, ctx) =>
    accept(
      { status: "trialing" as const, plan: event.plan, email: event.email },
      { type: "SendWelcome" as const, email: event.email, plan: event.plan },
      schedule(ctx.at + TRIAL_MS, { type: "TrialEnded" as const }),
    ),
  handle: (state, event) => {
    switch (event.type) {
      case "Subscribe":
        return reject(SubscriptionRejection.AlreadySubscribed, "this subscription exists already");
      case "Cancel":
        return state.status === "cancelled"
          ? reject(SubscriptionRejection.AlreadyCancelled, "this subscription is cancelled already")
          : accept({ ...state, status: "cancelled" as const });
      case "TrialEnded":
        // A subscription cancelled during its trial stays cancelled: the timer changes nothing.
        return accept(state.status === "trialing" ? { ...state, status: "active" as const } : state);
      default: {
        const exhaustive: never = event;
        return exhaustive;
      }
    }
  },
});
`;

/** \`src/effects.ts\`: the one effect handler, with the mailer as a port. */
export const EFFECTS = `// Effects: where the outside world is touched. drover retries a handler that throws (with
// backoff) and never runs a successful one twice; pass ctx.intentId on as an idempotency key.
import { defineEffects } from "@drover/core";
import type { Email, Plan } from "./subscriptions.js";
import { subscriptions } from "./subscriptions.js";

/** Sends mail; swap in your provider's client. */
export interface Mailer {
  send(message: { readonly to: Email; readonly subject: string; readonly idempotencyKey: string }): Promise<void>;
}

/** A mailer that writes to the log, for development. */
export const logMailer = (log: (line: string) => void): Mailer => ({
  async send(message) {
    log(\`mail to \${message.to}: \${message.subject}\`);
  },
});

export const subscriptionEffects = (mailer: Mailer) =>
  defineEffects(subscriptions, {
    SendWelcome: async (intent, ctx) => {
      await mailer.send({ to: intent.email, subject: welcome(intent.plan), idempotencyKey: ctx.intentId });
    },
  });

function welcome(plan: Plan): string {
  return \`Welcome to the \${plan} plan\`;
}
`;

/** \`src/subscriptions.test.ts\`: given/when/then with the testing kit. */
export const TESTS = `import { describe, it } from "node:test";
import { scenario } from "@drover/core/testing";
import { Plan, SubscriptionId, SubscriptionRejection, subscriptions, TRIAL_MS } from "./subscriptions.js";

const id = SubscriptionId.parse("sub_0123456789");
const subscribe = { type: "Subscribe", plan: Plan.Pro, email: "ada@example.com" } as const;

describe("subscriptions", () => {
  it("starts a trial, sends a welcome mail and sets the trial's end", () => {
    scenario(subscriptions, id)
      .when(subscribe)
      .accepted({ status: "trialing", plan: Plan.Pro })
      .intents(["SendWelcome", "Schedule"]);
  });

  it("turns active when the trial ends", () => {
    scenario(subscriptions, id).given(subscribe).when({ type: "TrialEnded" }, { at: TRIAL_MS }).accepted({ status: "active" });
  });

  it("stays cancelled when the trial ends after a cancellation", () => {
    scenario(subscriptions, id).given(subscribe, { type: "Cancel" }).when({ type: "TrialEnded" }).accepted({ status: "cancelled" });
  });

  it("refuses a second cancellation", () => {
    scenario(subscriptions, id)
      .given(subscribe, { type: "Cancel" })
      .when({ type: "Cancel" })
      .rejected(SubscriptionRejection.AlreadyCancelled);
  });
});
`;
