import { z } from "zod";
import { IntentFailedEvent } from "../intent-failed.js";
import { accept, defineMachine, reject } from "../machine.js";
import { CancelScheduleIntent, cancelSchedule, schedule, scheduleSchema, TimerKey } from "../schedule.js";

const Ring = z.strictObject({ type: z.literal("Ring"), label: z.string() });
const AlarmEvent = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("Create") }),
  z.strictObject({ type: z.literal("Arm"), at: z.number().int(), label: z.string(), key: TimerKey.optional() }),
  z.strictObject({ type: z.literal("Disarm"), key: TimerKey }),
  z.strictObject({ type: z.literal("Call"), number: z.string() }),
  Ring,
  IntentFailedEvent,
]);

const AlarmIntent = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("Dial"), number: z.string() }),
  scheduleSchema(Ring),
  CancelScheduleIntent,
]);

/**
 * A test machine for timers and dead letters: `Arm` sets a (keyed) timer that sends `Ring`,
 * `Disarm` cancels by key, `Call` asks for a `Dial` effect, and `IntentFailed` is heard and
 * recorded in the state; each `Ring` is kept, by label, in the order it came.
 */
export const alarmMachine = defineMachine({
  name: "alarm",
  id: z.string().regex(/^a_[a-z0-9]{1,24}$/),
  state: z.strictObject({
    rings: z.array(z.string()),
    failures: z.array(z.strictObject({ intentType: z.string(), attempts: z.number(), lastError: z.string() })),
  }),
  events: AlarmEvent,
  intents: AlarmIntent,
  rejections: z.enum(["exists", "nothing_to_do"]),
  creates: ["Create"],
  internal: ["Ring", "IntentFailed"],
  create: () => accept({ rings: [], failures: [] }),
  handle: (state, event) => {
    switch (event.type) {
      case "Create":
        return reject("exists", "this alarm exists");
      case "Arm": {
        const ring = { type: "Ring" as const, label: event.label };
        return accept(state, schedule(event.at, ring, event.key === undefined ? {} : { key: event.key }));
      }
      case "Disarm":
        return accept(state, cancelSchedule(event.key));
      case "Call":
        return accept(state, { type: "Dial" as const, number: event.number });
      case "Ring":
        return accept({ ...state, rings: [...state.rings, event.label] });
      case "IntentFailed":
        return accept({
          ...state,
          failures: [
            ...state.failures,
            { intentType: event.intentType, attempts: event.attempts, lastError: event.lastError },
          ],
        });
      default: {
        const exhaustive: never = event;
        return exhaustive;
      }
    }
  },
});
