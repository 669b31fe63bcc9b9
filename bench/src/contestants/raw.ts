import { DecisionKind } from "@drover/core";
import type { SqliteSynchronous } from "@drover/sqlite";
import type Database from "better-sqlite3";
import { openWal } from "../database.js";
import { droverRowStatements } from "../drover-rows.js";
import type { EventSource, Timing } from "../measure.js";
import type { PaymentState } from "../payment-machine.js";
import { BENCH_MACHINE } from "../payment-machine.js";
import { timeSteps } from "../sqlite-steps.js";
import { stepRows } from "../step-rows.js";
import type { BenchEvent } from "../workload.js";

/** How the raw contestant runs. */
export interface RawOptions {
  /** A database file with drover's schema (see `createDroverSchema`). */
  readonly path: string;
  readonly synchronous: SqliteSynchronous;
  /** Events per transaction: 1 is the per-event limit, 100 "raw batched". */
  readonly batch: number;
}

/**
 * The limit: the step drover makes, written by hand with better-sqlite3 — inbox check, load,
 * decide, version-checked update, journal row (which is also the inbox record of an accepted
 * event; a rejected one writes a refusals row instead), one outbox row — in one transaction
 * per event (or per `batch` events). It writes exactly the rows drover writes (same JSON text,
 * same fingerprint, same intent ids), with prepared statements and no schema parsing.
 *
 * In batched form an event's latency runs until its batch commits: only then is it durable.
 */
export function runRaw(workload: EventSource, options: RawOptions): Timing {
  const db = openWal(options.path, options.synchronous);
  try {
    return timeSteps(db, workload, options.batch, rawStep(db));
  } finally {
    db.close();
  }
}

/**
 * The raw contestant's step on `db` (drover's schema), to be run inside a transaction: also
 * the bare HTTP baseline's request handler (`http-baseline.ts`).
 */
export function rawStep(db: Database.Database): (e: BenchEvent) => void {
  const sql = droverRowStatements(db);

  const step = (e: BenchEvent): void => {
    if (sql.seen.get(e.eventId, e.eventId) !== undefined) return;
    const row = sql.load.get(BENCH_MACHINE, e.entity);
    const current = row === undefined ? undefined : (JSON.parse(row.state) as PaymentState);
    const expectedVersion = row?.version ?? 0;
    const rows = stepRows(e, current, expectedVersion);
    if (rows.kind === DecisionKind.Rejected) {
      sql.refusal.run(e.eventId, BENCH_MACHINE, e.entity, rows.fingerprint, rows.result, e.at);
      return;
    }
    const moved =
      expectedVersion === 0
        ? sql.create.run(BENCH_MACHINE, e.entity, rows.stateJson, e.at, e.at)
        : sql.update.run(rows.stateJson, e.at, BENCH_MACHINE, e.entity, expectedVersion);
    if (moved.changes !== 1) throw new Error(`raw: ${e.entity} moved under us`);
    sql.journal.run(
      BENCH_MACHINE,
      e.entity,
      rows.version,
      e.eventId,
      rows.fingerprint,
      rows.eventJson,
      rows.stateJson,
      rows.intents,
      e.at,
    );
    sql.outbox.run(rows.intentId, BENCH_MACHINE, e.entity, rows.intent, e.at, e.at);
  };
  return step;
}
