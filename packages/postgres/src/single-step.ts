import type { AcceptedWrite } from "@drover/core";
import { entityLockSeed, quoteLiteral } from "./identifiers.js";
import type { Notice, Statement } from "./statements.js";
import type { Prepared } from "./step-batch.js";

/**
 * A lone accepted step in one call of the schema's `drover_commit_one` (migration 4; its
 * version with the step's traceparent since migration 5; see migrations.ts): one round trip and
 * one transaction, like `drover_commit`, without its per-step loop over an array of every
 * column (it takes the same advisory lock). Since migration 6 it takes the timers' keys ($21)
 * and the step's cancels ($22) too, appended to the values so the earlier ones keep their places. With one caller, `drover_commit` of one step
 * took ~0.55–0.6 ms where the hand-written statement took ~0.37–0.45 ms (bench/).
 * The answer is one row, `written`: `false` sends the step on to `drover_commit`.
 */
export function commitOneStatement(schema: string, s: string, notice: Notice): Statement {
  return {
    name: "commit_one",
    text: `SELECT ${s}.drover_commit_one($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint,
             $7::json, $8::int, $9::json, $10::text, $11::int, $12::json, $13::json, $14::text, $15::text[],
             $16::json[], $17::text[], $21::text[], $18::json[], $19::int[], $20::bigint[], $22::text[],
             ${entityLockSeed(schema)}, ${quoteLiteral(notice.channel)}, ${quoteLiteral(notice.payload)}) AS written`,
  };
}

/** The arguments of {@link commitOneStatement} for an accepted step, in its order. */
export function commitOneValues(item: Prepared, step: AcceptedWrite): unknown[] {
  return [
    step.ref.machine,
    step.ref.id,
    step.eventId,
    step.fingerprint,
    step.at,
    step.expectedVersion,
    item.event,
    step.eventVersion,
    item.state,
    step.stateName,
    step.stateVersion,
    item.intents,
    item.result,
    step.traceParent ?? null,
    item.outbox.map(([intentId]) => intentId),
    item.outbox.map(([, intent]) => intent),
    item.timers.map(([timerId]) => timerId),
    item.timers.map(([, event]) => event),
    item.timers.map(([, , eventVersion]) => eventVersion),
    item.timers.map(([, , , dueAt]) => dueAt),
    item.timers.map(([, , , , key]) => key),
    item.cancels,
  ];
}
