import { accept, CancelScheduleIntent, cancelSchedule, defineMachine, schedule, scheduleSchema } from "@drover/core";
import { z } from "zod";

// The `alarms` machine of the operator-surface tests: `Set { at }` creates an alarm, asks for
// a `Beep` intent and schedules `Ring` at `at` under the key "ring" (a second `Set` replaces
// the pending timer); `Snooze` cancels it. `alarmsWithoutRing` is the same machine after a
// deploy that dropped `Ring`: a `Ring` timer then no longer fits and is dead at once.

const AlarmId = z.string().regex(/^a_[a-z0-9]{1,24}$/);
const SetAlarm = z.strictObject({ type: z.literal("Set"), at: z.number().int().nonnegative() });
const Snooze = z.strictObject({ type: z.literal("Snooze") });
const Ring = z.strictObject({ type: z.literal("Ring") });
const Beep = z.strictObject({ type: z.literal("Beep"), alarm: z.string() });
/** The alarms machine never refuses: it has no rejection reason to give. */
const AlarmRejection = { Never: "never" } as const;
const State = z.strictObject({ status: z.enum(["set", "snoozed", "rung"]), at: z.number().int() });

function alarmsOf(ring: boolean) {
  return defineMachine({
    name: "alarms",
    id: AlarmId,
    state: State,
    // Typed as the full union either way: only what the schema accepts differs.
    events: (ring
      ? z.discriminatedUnion("type", [SetAlarm, Snooze, Ring])
      : z.discriminatedUnion("type", [SetAlarm, Snooze])) as z.ZodType<
      z.output<typeof SetAlarm> | z.output<typeof Snooze> | z.output<typeof Ring>
    >,
    intents: z.discriminatedUnion("type", [Beep, scheduleSchema(Ring), CancelScheduleIntent]),
    rejections: z.enum(AlarmRejection),
    creates: ["Set"],
    internal: ring ? ["Ring"] : [],
    create: (event) =>
      accept(
        { status: "set" as const, at: event.type === "Set" ? event.at : 0 },
        { type: "Beep" as const, alarm: "created" },
        schedule(event.type === "Set" ? event.at : 0, { type: "Ring" as const }, { key: "ring" }),
      ),
    handle: (state, event, ctx) => {
      switch (event.type) {
        case "Set":
          return accept(
            { status: "set" as const, at: event.at },
            { type: "Beep" as const, alarm: ctx.entityId },
            schedule(event.at, { type: "Ring" as const }, { key: "ring" }),
          );
        case "Snooze":
          return accept({ ...state, status: "snoozed" as const }, cancelSchedule("ring"));
        default:
          return accept({ ...state, status: "rung" as const });
      }
    },
  });
}

/** The alarms machine. */
export const alarms = alarmsOf(true);
/** The alarms machine after a deploy that dropped its `Ring` event. */
export const alarmsWithoutRing = alarmsOf(false);
