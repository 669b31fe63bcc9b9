import { createHash } from "node:crypto";
import { DecisionKind } from "@drover/core";
import type { PaymentEvent, PaymentState } from "./payment-machine.js";
import { BENCH_MACHINE, decidePayment } from "./payment-machine.js";
import type { BenchEvent } from "./workload.js";

/** The column values of one step's rows, as drover writes them (the raw contestants' part). */
export type StepRows =
  | {
      readonly kind: typeof DecisionKind.Rejected;
      readonly fingerprint: string;
      /** The inbox row's result (JSON text). */
      readonly result: string;
    }
  | {
      readonly kind: typeof DecisionKind.Accepted;
      readonly fingerprint: string;
      readonly result: string;
      /** The entity's new version (`expected + 1`). */
      readonly version: number;
      readonly state: PaymentState;
      /** The state, the event, the journal's intents and the outbox row's intent, as JSON text. */
      readonly stateJson: string;
      readonly eventJson: string;
      readonly intents: string;
      readonly intentId: string;
      readonly intent: string;
    };

/**
 * Decide `e` by hand on `current` (at `expectedVersion`) and build the text of every row the
 * step writes: exactly what drover writes (same JSON text, fingerprint and intent id), with no
 * schema parsing. Shared by the raw contestants, so that SQLite and PostgreSQL ones agree.
 */
export function stepRows(e: BenchEvent, current: PaymentState | undefined, expectedVersion: number): StepRows {
  const decided = decidePayment(current, e.event, e.entity);
  const print = fingerprint(e.entity, e.event);
  if ("rejected" in decided) {
    return {
      kind: DecisionKind.Rejected,
      fingerprint: print,
      result: `{"kind":"rejected","machine":"${BENCH_MACHINE}","id":"${e.entity}","eventId":${JSON.stringify(e.eventId)},"version":${expectedVersion},"reason":"${decided.rejected}"}`,
    };
  }
  const version = expectedVersion + 1;
  const stateJson = JSON.stringify(decided.state);
  const intentId = `${BENCH_MACHINE}/${e.entity}/${version}/0`;
  const intent = JSON.stringify(decided.intent);
  const intents = `[{"id":"${intentId}","intent":${intent}}]`;
  return {
    kind: DecisionKind.Accepted,
    fingerprint: print,
    result: `{"kind":"processed","machine":"${BENCH_MACHINE}","id":"${e.entity}","eventId":${JSON.stringify(e.eventId)},"version":${version},"state":${stateJson},"intents":${intents}}`,
    version,
    state: decided.state,
    stateJson,
    eventJson: JSON.stringify(e.event),
    intents,
    intentId,
    intent,
  };
}

/**
 * drover's fingerprint of a request: sha-256 of the stable JSON of (machine, id, event),
 * object keys sorted. Written out by hand here (`amount` sorts before `type`).
 */
export function fingerprint(entity: string, event: PaymentEvent): string {
  const text = `["${BENCH_MACHINE}","${entity}",{"amount":${event.amount},"type":"${event.type}"}]`;
  return createHash("sha256").update(text).digest("hex");
}
