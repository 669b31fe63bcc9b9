import { z } from "zod";
import type { Typed } from "./machine.js";

/** The intent type the runtime turns into a durable timer instead of an outbox row. */
export const SCHEDULE = "Schedule" as const;

/** An intent asking drover to send `event` to the same entity at time `at` (epoch ms). */
export interface Schedule<Event extends Typed = Typed> {
  readonly type: typeof SCHEDULE;
  readonly at: number;
  readonly event: Event;
}

/** The latest event time drover accepts: 9999-12-31T23:59:59.999Z. */
export const MAX_EVENT_TIME = 253_402_300_799_999;

/**
 * Milliseconds since the Unix epoch, as an integer. Timers may lie beyond the latest event
 * time (up to JavaScript's last date), so `at + a long delay` never breaks a schema.
 */
export const Instant = z.number().int().nonnegative().max(8_640_000_000_000_000);

/**
 * The schema of a `Schedule` intent carrying one of `events`; put it in a machine's intent
 * union so the machine may ask for timers.
 *
 * @example
 * const intents = z.discriminatedUnion("type", [
 *   z.object({ type: z.literal("Ring") }),
 *   scheduleSchema(z.object({ type: z.literal("AutoClose") })),
 * ]);
 */
export function scheduleSchema<EventSchema extends z.ZodType<Typed>>(events: EventSchema) {
  return z.object({ type: z.literal(SCHEDULE), at: Instant, event: events });
}

/**
 * Ask for `event` to be delivered to this entity at `at`. The timer's id is the intent's id,
 * so a timer fires its event at most once.
 *
 * @example
 * return accept(state, schedule(ctx.at + 60_000, { type: "AutoClose" }));
 */
export function schedule<const Event extends Typed>(at: number, event: Event): Schedule<Event> {
  return { type: SCHEDULE, at, event };
}

/** True for the intents the runtime stores as timers. */
export function isSchedule(intent: Typed): intent is Schedule {
  return intent.type === SCHEDULE;
}
