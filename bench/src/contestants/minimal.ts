import { DecisionKind } from "@drover/core";
import type { SqliteSynchronous } from "@drover/sqlite";
import { openWal } from "../database.js";
import type { EventSource, Timing } from "../measure.js";
import type { PaymentState } from "../payment-machine.js";
import { BENCH_MACHINE } from "../payment-machine.js";
import { timeSteps } from "../sqlite-steps.js";
import { stepRows } from "../step-rows.js";
import type { BenchEvent } from "../workload.js";

/**
 * The fewest B-trees that still give drover's guarantees for one step, in SQLite:
 * - `entities` keyed as it is read (machine, id), WITHOUT ROWID: the version check is its update;
 * - one `journal` row per accepted event, keyed as history reads it, WITHOUT ROWID; it is also
 *   the inbox of accepted events (a unique index on event_id, with the fingerprint in the row):
 *   the result a duplicate replays is the journal row itself, so no second copy of the state;
 * - `refusals`, the inbox of rejected events only, WITHOUT ROWID;
 * - `outbox` in commit order (the rowid, no AUTOINCREMENT and its sqlite_sequence write) with
 *   one partial index, over pending rows only, that serves both the claim in commit order
 *   and "no older pending row of this entity".
 * An accepted step writes five B-trees (entity, journal, journal_by_event, outbox,
 * outbox_pending); drover's schema of issue 15 writes nine. `inbox` is a view, so the row
 * counts of the consistency check read the same names as for drover's schema.
 */
export const MINIMAL_SCHEMA = `
  CREATE TABLE entities (
    machine TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,
    state_name TEXT, state_version INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (machine, id)
  ) WITHOUT ROWID;
  CREATE TABLE journal (
    machine TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, event_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL, event TEXT NOT NULL, event_version INTEGER NOT NULL, decision TEXT NOT NULL,
    state_version INTEGER NOT NULL, intents TEXT NOT NULL, at INTEGER NOT NULL,
    PRIMARY KEY (machine, id, version)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX journal_by_event ON journal (event_id);
  CREATE TABLE refusals (
    event_id TEXT NOT NULL PRIMARY KEY, machine TEXT NOT NULL, id TEXT NOT NULL,
    fingerprint TEXT NOT NULL, result TEXT NOT NULL, at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY, intent_id TEXT NOT NULL, machine TEXT NOT NULL, entity_id TEXT NOT NULL,
    intent TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT, lease_until INTEGER, last_error TEXT, created_at INTEGER NOT NULL
  );
  CREATE INDEX outbox_pending ON outbox (machine, entity_id, seq) WHERE status = 'pending';
  CREATE VIEW inbox AS SELECT event_id FROM journal UNION ALL SELECT event_id FROM refusals;
`;

/** How the minimal-layout contestant runs. */
export interface MinimalOptions {
  /** A new database file: the contestant creates {@link MINIMAL_SCHEMA} in it. */
  readonly path: string;
  readonly synchronous: SqliteSynchronous;
  /** Events per transaction: 1 is the per-event limit, 100 the batched one. */
  readonly batch: number;
}

/**
 * The limit of the disk for drover's guarantees: the raw contestant's step (inbox check, load,
 * decide, version-checked update, journal, inbox, one outbox row, the same JSON text) written
 * to {@link MINIMAL_SCHEMA}, hand-written with prepared statements and no schema parsing.
 */
export function runMinimal(workload: EventSource, options: MinimalOptions): Timing {
  const db = openWal(options.path, options.synchronous);
  try {
    db.exec(MINIMAL_SCHEMA);
    const sql = {
      seen: db
        .prepare<[string, string], number>(
          "SELECT 1 FROM journal WHERE event_id = ? UNION ALL SELECT 1 FROM refusals WHERE event_id = ?",
        )
        .pluck(),
      load: db.prepare<[string, string], { version: number; state: string }>(
        "SELECT version, state FROM entities WHERE machine = ? AND id = ?",
      ),
      create: db.prepare<[string, string, string, string | null, number, number]>(
        "INSERT INTO entities VALUES (?, ?, 1, ?, ?, 1, ?, ?)",
      ),
      update: db.prepare<[string, string | null, number, string, string, number]>(
        "UPDATE entities SET version = version + 1, state = ?, state_name = ?, updated_at = ? WHERE machine = ? AND id = ? AND version = ?",
      ),
      journal: db.prepare<[string, string, number, string, string, string, string, string, number]>(
        "INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?, 1, ?, 1, ?, ?)",
      ),
      refusal: db.prepare<[string, string, string, string, string, number]>(
        "INSERT INTO refusals VALUES (?, ?, ?, ?, ?, ?)",
      ),
      outbox: db.prepare<[string, string, string, string, number, number]>(
        "INSERT INTO outbox (intent_id, machine, entity_id, intent, status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
      ),
    };

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
          ? sql.create.run(BENCH_MACHINE, e.entity, rows.stateJson, null, e.at, e.at)
          : sql.update.run(rows.stateJson, null, e.at, BENCH_MACHINE, e.entity, expectedVersion);
      if (moved.changes !== 1) throw new Error(`minimal: ${e.entity} moved under us`);
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

    return timeSteps(db, workload, options.batch, step);
  } finally {
    db.close();
  }
}
