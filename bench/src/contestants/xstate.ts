import { createHash } from "node:crypto";
import type { SqliteSynchronous } from "@drover/sqlite";
import type { Snapshot } from "xstate";
import { assign, createActor, emit, setup } from "xstate";
import { openWal } from "../database.js";
import { droverRowStatements } from "../drover-rows.js";
import type { Timing } from "../measure.js";
import { driveSync } from "../measure.js";
import type { PaymentEvent, PaymentIntent } from "../payment-machine.js";
import { BENCH_MACHINE } from "../payment-machine.js";
import type { BenchEvent, Workload } from "../workload.js";

/** How the XState contestant runs. */
export interface XStateOptions {
  /** A database file with drover's schema (see `createDroverSchema`). */
  readonly path: string;
  readonly synchronous: SqliteSynchronous;
  /**
   * `same-as-drover` (default): snapshot, journal, inbox and outbox rows, drover's guarantees by
   * hand. `snapshot-only`: just the persisted snapshot, version-checked — the least a user
   * would write (no idempotency, no durable intents).
   */
  readonly rows?: "same-as-drover" | "snapshot-only";
}

interface PaymentContext {
  readonly id: string;
  readonly amount: number;
  readonly captured: number;
  readonly refunded: number;
}

/**
 * The payment as an XState v5 machine: the same rules, intents as emitted events. A guard
 * that fails leaves the event unhandled, which is XState's way of refusing it.
 */
export const paymentLogic = setup({
  types: {
    context: {} as PaymentContext,
    input: {} as { readonly id: string },
    events: {} as PaymentEvent,
    emitted: {} as PaymentIntent,
  },
  guards: {
    canCapture: ({ context, event }) => event.type === "Capture" && context.captured + event.amount <= context.amount,
    canRefund: ({ context, event }) => event.type === "Refund" && context.refunded + event.amount <= context.captured,
  },
}).createMachine({
  id: BENCH_MACHINE,
  initial: "new",
  context: ({ input }) => ({ id: input.id, amount: 0, captured: 0, refunded: 0 }),
  states: {
    new: {
      on: {
        RequestPayment: {
          target: "requested",
          actions: [
            assign({ amount: ({ event }) => event.amount }),
            emit(({ context, event }) => ({ type: "Authorize" as const, payment: context.id, amount: event.amount })),
          ],
        },
      },
    },
    requested: {
      on: {
        Capture: {
          guard: "canCapture",
          actions: [
            assign({ captured: ({ context, event }) => context.captured + event.amount }),
            emit(({ context, event }) => ({
              type: "SettleCapture" as const,
              payment: context.id,
              amount: event.amount,
            })),
          ],
        },
        Refund: {
          guard: "canRefund",
          actions: [
            assign({ refunded: ({ context, event }) => context.refunded + event.amount }),
            emit(({ context, event }) => ({ type: "SendRefund" as const, payment: context.id, amount: event.amount })),
          ],
        },
      },
    },
  },
});

/**
 * XState v5 with persistence, as a user would write it for the same guarantees: per event,
 * in one SQLite transaction (WAL, same durability as drover) — inbox check, load the
 * persisted snapshot, restore an actor from it, send the event, save the new persisted
 * snapshot (version-checked), a journal row (the inbox record of an accepted event, as in
 * drover's tables; a rejection writes a refusals row) and the emitted intent as an outbox row. The actor lives for one step, like drover's loaded state.
 */
export function runXState(workload: Workload, options: XStateOptions): Timing {
  const db = openWal(options.path, options.synchronous);
  try {
    const sql = droverRowStatements(db);
    const snapshotOnly = options.rows === "snapshot-only";
    const step = db.transaction((e: BenchEvent): void => {
      if (!snapshotOnly && sql.seen.get(e.eventId, e.eventId) !== undefined) return;
      const row = sql.load.get(BENCH_MACHINE, e.entity);
      const actor =
        row === undefined
          ? createActor(paymentLogic, { input: { id: e.entity } })
          : createActor(paymentLogic, {
              input: { id: e.entity },
              snapshot: JSON.parse(row.state) as Snapshot<unknown>,
            });
      const intents: PaymentIntent[] = [];
      actor.on("*", (intent) => {
        intents.push(intent);
      });
      actor.start();
      actor.send(e.event);
      const snapshot = JSON.stringify(actor.getPersistedSnapshot());
      actor.stop();
      if (snapshotOnly) {
        const moved =
          row === undefined
            ? sql.create.run(BENCH_MACHINE, e.entity, snapshot, e.at, e.at)
            : sql.update.run(snapshot, e.at, BENCH_MACHINE, e.entity, row.version);
        if (moved.changes !== 1) throw new Error(`xstate: ${e.entity} moved under us`);
        return;
      }
      const fingerprint = createHash("sha256")
        .update(JSON.stringify([BENCH_MACHINE, e.entity, e.event]))
        .digest("hex");
      const [intent] = intents;
      const expectedVersion = row?.version ?? 0;
      if (intent === undefined) {
        const result = JSON.stringify({ kind: "rejected", eventId: e.eventId, version: expectedVersion });
        sql.refusal.run(e.eventId, BENCH_MACHINE, e.entity, fingerprint, result, e.at);
        return;
      }
      const version = expectedVersion + 1;
      const moved =
        row === undefined
          ? sql.create.run(BENCH_MACHINE, e.entity, snapshot, e.at, e.at)
          : sql.update.run(snapshot, e.at, BENCH_MACHINE, e.entity, expectedVersion);
      if (moved.changes !== 1) throw new Error(`xstate: ${e.entity} moved under us`);
      const intentId = `${BENCH_MACHINE}/${e.entity}/${version}/0`;
      const intentJson = JSON.stringify(intent);
      const intentsJson = `[{"id":"${intentId}","intent":${intentJson}}]`;
      sql.journal.run(
        BENCH_MACHINE,
        e.entity,
        version,
        e.eventId,
        fingerprint,
        JSON.stringify(e.event),
        snapshot,
        intentsJson,
        e.at,
      );
      sql.outbox.run(intentId, BENCH_MACHINE, e.entity, intentJson, e.at, e.at);
    }).immediate;
    return driveSync(workload, step);
  } finally {
    db.close();
  }
}
