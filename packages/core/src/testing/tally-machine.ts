import { z } from "zod";
import { accept, defineMachine, reject } from "../machine.js";
import { schedule, scheduleSchema } from "../schedule.js";

/** Ids of the tally fixture: `t_` and 1–24 lower-case letters or digits. */
export const TallyId = z
  .string()
  .regex(/^t_[a-z0-9]{1,24}$/)
  .brand<"TallyId">();
export type TallyId = z.infer<typeof TallyId>;

/** Why the tally fixture refuses an event. */
export const TallyRejection = {
  AlreadyOpen: "already_open",
  Closed: "closed",
  LimitExceeded: "limit_exceeded",
} as const;
export type TallyRejection = (typeof TallyRejection)[keyof typeof TallyRejection];

/** The largest total a tally accepts. */
export const TALLY_LIMIT = 1_000_000;

const Open = z.strictObject({ type: z.literal("Open") });
const Add = z.strictObject({ type: z.literal("Add"), n: z.number().int().min(1).max(1000) });
const Close = z.strictObject({ type: z.literal("Close") });
const TallyEvent = z.discriminatedUnion("type", [Open, Add, Close]);

const TallyIntent = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("Noted"), tally: TallyId, n: z.number().int(), total: z.number().int() }),
  scheduleSchema(Close),
]);

/**
 * A tiny machine for testing runtimes and stores, free of any real domain: `Open` creates a
 * tally at 0, `Add {n}` adds n (below {@link TALLY_LIMIT}) and asks for a `Noted` intent, the
 * 10th `Add` also schedules a `Close`; `Close` closes it. Everything else is refused.
 */
export const tallyMachine = defineMachine({
  name: "tally",
  id: TallyId,
  state: z.strictObject({ open: z.boolean(), total: z.number().int(), adds: z.number().int() }),
  events: TallyEvent,
  intents: TallyIntent,
  rejections: z.enum(TallyRejection),
  creates: ["Open"],
  create: () => accept({ open: true, total: 0, adds: 0 }),
  handle: (state, event, ctx) => {
    switch (event.type) {
      case "Open":
        return reject(TallyRejection.AlreadyOpen, "this tally is already open");
      case "Add": {
        if (!state.open) return reject(TallyRejection.Closed, "cannot add to a closed tally");
        if (event.n > TALLY_LIMIT - state.total)
          return reject(TallyRejection.LimitExceeded, `the total may not exceed ${TALLY_LIMIT}`);
        const next = { open: true, total: state.total + event.n, adds: state.adds + 1 };
        const noted = { type: "Noted" as const, tally: ctx.entityId, n: event.n, total: next.total };
        return next.adds % 10 === 0
          ? accept(next, noted, schedule(ctx.at + 60_000, { type: "Close" as const }))
          : accept(next, noted);
      }
      case "Close":
        return state.open
          ? accept({ ...state, open: false })
          : reject(TallyRejection.Closed, "this tally is already closed");
      default: {
        const exhaustive: never = event;
        return exhaustive;
      }
    }
  },
});
