// A machine that proves order, for transports' tests (NATS ingress, multi-process runs):
// `Append { seq }` is accepted only when seq is the next number the ledger expects, so an event
// run before an earlier one shows up as a rejection. Every tenth append asks for an `Announce`
// intent (egress tests publish it).
import { z } from "zod";
import { accept, defineMachine, reject } from "../machine.js";

export const LedgerRejection = { OutOfOrder: "out_of_order" } as const;

export const LedgerId = z.string().regex(/^l_[a-z0-9]{1,24}$/);

/**
 * `Open` creates a ledger at `{ next: 1 }`; `Append { seq }` with seq = next moves it on, any
 * other seq is rejected `out_of_order`.
 *
 * @example
 * await app.run({ machine: "ledger", id: "l_a" }, { type: "Append", seq: 1 });
 */
export const ledgerMachine = defineMachine({
  name: "ledger",
  id: LedgerId,
  state: z.strictObject({ next: z.number().int() }),
  events: z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("Open") }),
    z.strictObject({ type: z.literal("Append"), seq: z.number().int().min(1) }),
  ]),
  intents: z.strictObject({ type: z.literal("Announce"), seq: z.number().int() }),
  rejections: z.enum(LedgerRejection),
  creates: ["Open"],
  create: () => accept({ next: 1 }),
  handle: (state, event) => {
    if (event.type === "Open") return accept(state);
    if (event.seq !== state.next) {
      return reject(LedgerRejection.OutOfOrder, `expected ${state.next}, got ${event.seq}`);
    }
    const next = { next: state.next + 1 };
    return event.seq % 10 === 0 ? accept(next, { type: "Announce" as const, seq: event.seq }) : accept(next);
  },
});
