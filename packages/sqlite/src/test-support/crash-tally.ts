/**
 * The machine of the crash tests (crash-child.ts, crash.test.ts), in a module of its own:
 * a machine's module does no I/O, and the child that drives it does.
 */
import { accept, defineMachine, reject, schedule, scheduleSchema } from "@drover/core";
import { z } from "zod";

/** Why the crash test's tally refuses an event: a smart enum. */
export const CrashTallyRejection = { AlreadyOpen: "already_open" } as const;
export type CrashTallyRejection = (typeof CrashTallyRejection)[keyof typeof CrashTallyRejection];

const Open = z.strictObject({ type: z.literal("Open") });
const Add = z.strictObject({ type: z.literal("Add"), n: z.number().int().min(1).max(100) });
const Tick = z.strictObject({ type: z.literal("Tick") });

const TallyIntent = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("Noted"), n: z.number().int() }),
  scheduleSchema(Tick),
]);
type TallyIntent = z.infer<typeof TallyIntent>;

/**
 * `Open` creates a tally at 0 (and is refused once open), `Add {n}` adds n and asks for a
 * `Noted` intent, every 5th add also schedules a `Tick`; `Tick` counts ticks.
 */
export const tally = defineMachine({
  name: "tally",
  id: z.string().regex(/^c_\d{2,6}$/),
  state: z.strictObject({ total: z.number().int(), adds: z.number().int(), ticks: z.number().int() }),
  events: z.discriminatedUnion("type", [Open, Add, Tick]),
  intents: TallyIntent,
  rejections: z.enum(CrashTallyRejection),
  creates: ["Open"],
  create: () => accept({ total: 0, adds: 0, ticks: 0 }),
  handle: (state, event, ctx) => {
    switch (event.type) {
      case "Open":
        return reject(CrashTallyRejection.AlreadyOpen, "this tally is already open");
      case "Add": {
        const next = { ...state, total: state.total + event.n, adds: state.adds + 1 };
        const intents: TallyIntent[] = [{ type: "Noted", n: event.n }];
        if (next.adds % 5 === 0) intents.push(schedule(ctx.at + 60_000, { type: "Tick" as const }));
        return accept(next, ...intents);
      }
      case "Tick":
        return accept({ ...state, ticks: state.ticks + 1 });
      default: {
        const exhaustive: never = event;
        return exhaustive;
      }
    }
  },
});
