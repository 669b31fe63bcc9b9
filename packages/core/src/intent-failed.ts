import { z } from "zod";
import { declaredEventTypes } from "./effects.js";
import type { AnyMachine } from "./machine.js";

/** The type of the event drover sends an entity when one of its intents is dead-lettered. */
export const INTENT_FAILED = "IntentFailed" as const;

/** The longest `lastError` an `IntentFailed` event carries (longer messages are cut). */
export const INTENT_FAILED_ERROR_MAX = 2000;

/**
 * The event an entity receives when one of its intents ran out of attempts (or failed for
 * good): put it in a machine's event union (and its `internal` list) to hear about failures
 * and decide what they mean, e.g. `authorizing` → `failed`. Sent once per dead-lettering, with
 * event id `<intentId>#failed`, at the time the intent was given up.
 *
 * @example
 * const events = z.discriminatedUnion("type", [
 *   z.object({ type: z.literal("Install") }),
 *   IntentFailedEvent,
 * ]);
 */
export const IntentFailedEvent = z.strictObject({
  type: z.literal(INTENT_FAILED),
  /** The dead intent's id (`machine/entityId/version/index`). */
  intentId: z.string().min(1).max(1000),
  /** The dead intent's type, e.g. "AuthorizeWithProvider". */
  intentType: z.string().min(1).max(200),
  /** How many attempts were made. */
  attempts: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** The last attempt's error message (cut at {@link INTENT_FAILED_ERROR_MAX} characters). */
  lastError: z.string().max(INTENT_FAILED_ERROR_MAX),
});
export type IntentFailed = z.infer<typeof IntentFailedEvent>;

/** The event id of the `IntentFailed` event for a dead intent: derived, so it is applied once. */
export function intentFailedEventId(intentId: string): string {
  return `${intentId}#failed`;
}

/** True when a machine's events include `IntentFailed`: drover then tells it about dead letters. */
export function hearsIntentFailures(machine: AnyMachine): boolean {
  return declaredEventTypes(machine)?.includes(INTENT_FAILED) ?? false;
}

/** The `IntentFailed` event for a dead intent. */
export function intentFailed(intentId: string, intentType: string, attempts: number, lastError: string): IntentFailed {
  return {
    type: INTENT_FAILED,
    intentId,
    intentType,
    attempts,
    lastError:
      lastError.length > INTENT_FAILED_ERROR_MAX ? `${lastError.slice(0, INTENT_FAILED_ERROR_MAX - 1)}…` : lastError,
  };
}
