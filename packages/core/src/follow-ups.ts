import type { Context } from "@opentelemetry/api";
import type { FollowUp } from "./effects.js";
import { FollowUpError } from "./errors.js";
import { intentFailed, intentFailedEventId } from "./intent-failed.js";
import type { Logger } from "./logger.js";
import type { OutboxRecord } from "./ports.js";
import { RunResultKind } from "./result.js";
import type { RunFunction } from "./run-options.js";

/** A follow-up's entity cannot be read by this code (see `RunResultKind.Unreadable`): the intent waits. */
export class UnreadableFollowUp extends Error {}

/**
 * Apply the follow-up events an effect handler returned, each with an event id derived from
 * the intent's (`<intentId>#<index>`), so running the intent again never applies one twice.
 * Throws when one cannot be applied now, so the attempt fails and is retried.
 */
export async function applyFollowUps(
  run: RunFunction,
  logger: Logger,
  row: OutboxRecord,
  followUps: readonly FollowUp[],
  traced: Context,
): Promise<void> {
  if (!Array.isArray(followUps))
    throw new FollowUpError("an effect handler must resolve to nothing or an array of follow-ups");
  for (const [index, followUp] of followUps.entries()) {
    const eventId = `${row.intentId}#${index}`;
    const result = await run({ machine: followUp.machine, id: followUp.id }, followUp.event, {
      eventId,
      trace: traced,
    });
    const log = { intentId: row.intentId, eventId, machine: followUp.machine, entityId: followUp.id };
    switch (result.kind) {
      case RunResultKind.Processed:
      case RunResultKind.Duplicate:
        break;
      case RunResultKind.Rejected:
        logger.info({ ...log, reason: result.reason }, "dispatcher: a follow-up event was rejected by its machine");
        break;
      case RunResultKind.NotFound:
        logger.warn(log, "dispatcher: a follow-up event was sent to an entity that does not exist");
        break;
      case RunResultKind.Invalid:
        throw new FollowUpError(
          `follow-up #${index} to ${followUp.machine}/${followUp.id} is invalid: ${result.message}`,
        );
      case RunResultKind.Conflict:
        throw new FollowUpError(`follow-up #${index} to ${followUp.machine}/${followUp.id} kept conflicting`);
      case RunResultKind.Unreadable:
        throw new UnreadableFollowUp(`follow-up #${index} waits: ${result.message}`);
      default: {
        const exhaustive: never = result;
        throw new FollowUpError(`unknown result ${JSON.stringify(exhaustive)}`);
      }
    }
  }
}

/**
 * Tell an entity that one of its intents was given up: the `IntentFailed` event, with an id
 * derived from the intent's, so telling it again (after a crash) is answered as a duplicate.
 * Throws when the event cannot be applied now (conflict, unreadable, the store is down).
 */
export async function tellIntentFailed(
  run: RunFunction,
  logger: Logger,
  row: OutboxRecord,
  failure: { readonly intentType: string; readonly attempts: number; readonly error: string },
  traced: Context,
): Promise<void> {
  const { intentType, attempts, error } = failure;
  const eventId = intentFailedEventId(row.intentId);
  const event = intentFailed(row.intentId, intentType, attempts, error);
  const result = await run({ machine: row.machine, id: row.entityId }, event, { eventId, trace: traced });
  const log = { intentId: row.intentId, eventId, machine: row.machine, entityId: row.entityId };
  switch (result.kind) {
    case RunResultKind.Processed:
    case RunResultKind.Duplicate:
      break;
    case RunResultKind.Rejected:
      logger.info({ ...log, reason: result.reason }, "dispatcher: its machine rejected IntentFailed");
      break;
    case RunResultKind.NotFound:
      logger.warn(log, "dispatcher: the entity of a dead intent does not exist");
      break;
    case RunResultKind.Invalid:
      logger.error({ ...log, error: result.message }, "dispatcher: its machine's schema refused IntentFailed");
      break;
    case RunResultKind.Conflict:
    case RunResultKind.Unreadable:
      throw new FollowUpError(`IntentFailed for ${row.intentId} could not be applied: ${result.kind}`);
    default: {
      const exhaustive: never = result;
      throw new FollowUpError(`unknown result ${JSON.stringify(exhaustive)}`);
    }
  }
}
