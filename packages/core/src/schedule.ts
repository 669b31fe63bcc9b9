import { z } from "zod";
import type { Typed } from "./machine.js";

/** The intent type the runtime turns into a durable timer instead of an outbox row. */
export const SCHEDULE = "Schedule" as const;

/** The intent type that cancels pending timers of the same entity. */
export const CANCEL_SCHEDULE = "CancelSchedule" as const;

/**
 * An intent asking drover to send `event` to the same entity at time `at` (epoch ms); with a
 * `key`, it replaces the entity's pending timer of that key.
 */
export interface Schedule<Event extends Typed = Typed> {
  readonly type: typeof SCHEDULE;
  readonly at: number;
  readonly event: Event;
  readonly key?: string;
}

/** An intent cancelling the entity's pending timer named `key` (a timer key or a timer id). */
export interface CancelSchedule {
  readonly type: typeof CANCEL_SCHEDULE;
  readonly key: string;
}

/** A timer key: what `schedule(…, { key })` and `cancelSchedule(key)` name a timer by. */
export const TimerKey = z.string().min(1).max(200);

/**
 * The schema of the `CancelSchedule` intent; put it in a machine's intent union so the
 * machine may cancel its timers.
 *
 * @example
 * const intents = z.discriminatedUnion("type", [
 *   scheduleSchema(z.object({ type: z.literal("AutoClose") })),
 *   CancelScheduleIntent,
 * ]);
 */
export const CancelScheduleIntent = z.strictObject({ type: z.literal(CANCEL_SCHEDULE), key: TimerKey });

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
  return z.object({ type: z.literal(SCHEDULE), at: Instant, event: events, key: TimerKey.optional() });
}

/**
 * Ask for `event` to be delivered to this entity at `at`. The timer's id is the intent's id,
 * so a timer fires its event at most once. With `key`, the timer replaces the entity's
 * pending timer of that key (if any) and can be cancelled by it ({@link cancelSchedule}).
 *
 * @example
 * return accept(state, schedule(ctx.at + 60_000, { type: "AutoClose" }, { key: "auto-close" }));
 */
export function schedule<const Event extends Typed>(
  at: number,
  event: Event,
  options: { readonly key?: string } = {},
): Schedule<Event> {
  return options.key === undefined ? { type: SCHEDULE, at, event } : { type: SCHEDULE, at, event, key: options.key };
}

/**
 * Cancel this entity's pending timer named `key` (its key, or its timer id): it never fires
 * and shows as `cancelled`. Nothing happens if no such timer is pending. Applied with the
 * step, before the step's own new timers.
 *
 * @example
 * return accept({ ...state, status: "captured" }, cancelSchedule("expiry"));
 */
export function cancelSchedule(key: string): CancelSchedule {
  return { type: CANCEL_SCHEDULE, key };
}

/** True for the intents the runtime stores as timers. */
export function isSchedule(intent: Typed): intent is Schedule {
  return intent.type === SCHEDULE;
}

/** True for the intents that cancel timers. */
export function isCancelSchedule(intent: Typed): intent is CancelSchedule {
  return intent.type === CANCEL_SCHEDULE;
}

/** True for the intents the runtime handles itself (timers), which no effect handler serves. */
export function isTimerIntent(type: string): boolean {
  return type === SCHEDULE || type === CANCEL_SCHEDULE;
}
