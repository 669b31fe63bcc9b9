import type { LeaseRelease, TimerQuery } from "@drover/core";
import { TimerStatus } from "@drover/core";
import * as sql from "@drover/core/sql";
import type Database from "better-sqlite3";
import type { ClaimParams } from "./claim-params.js";

/** The columns of a timer row, in the order the statements read and write them. */
export const timerColumns =
  "timer_id, timer_key, machine, entity_id, event, event_version, due_at, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, trace_parent";

/** The timer statements of the work queue and of the read side, compiled once per connection (part of `Statements`). */
export interface TimerStatements {
  /** Timer listings, soonest due first (ties by timer id), up to a limit: all of them… */
  readonly timers: Database.Statement<[limit: number], sql.TimerRow<string>>;
  /** …those in one status… */
  readonly timersIn: Database.Statement<[status: string, limit: number], sql.TimerRow<string>>;
  /** …those of one entity… */
  readonly timersOf: Database.Statement<[machine: string, entityId: string, limit: number], sql.TimerRow<string>>;
  /** …and those of one entity in one status. */
  readonly timersOfIn: Database.Statement<
    [machine: string, entityId: string, status: string, limit: number],
    sql.TimerRow<string>
  >;
  readonly timer: Database.Statement<[timerId: string], sql.TimerRow<string>>;
  readonly timerStats: Database.Statement<[], sql.StatusCountRow>;
  readonly claimTimers: Database.Statement<[ClaimParams], sql.Claimed<sql.TimerRow<string>>>;
  readonly completeTimer: Database.Statement<[timerId: string, owner: string]>;
  readonly retryTimer: Database.Statement<
    [retryAt: number, error: string, refund: number, timerId: string, owner: string]
  >;
  readonly buryTimer: Database.Statement<[error: string, refund: number, timerId: string, owner: string]>;
  readonly reviveTimer: Database.Statement<[now: number, timerId: string]>;
  readonly renewTimerLeases: Database.Statement<[until: number, owner: string, ids: string], string>;
  readonly releaseTimerLeases: Database.Statement<[LeaseRelease]>;
}

/** The listing statement of a timer query and its parameters (LIMIT -1 is SQLite for "no limit"). */
export function timerListing(statements: TimerStatements, query: TimerQuery): sql.TimerRow<string>[] {
  const limit = query.limit ?? -1;
  const { status, entity } = query;
  if (entity === undefined) {
    return status === undefined ? statements.timers.all(limit) : statements.timersIn.all(status, limit);
  }
  return status === undefined
    ? statements.timersOf.all(entity.machine, entity.id, limit)
    : statements.timersOfIn.all(entity.machine, entity.id, status, limit);
}

export function prepareTimerStatements(db: Database.Database): TimerStatements {
  // Statuses are literals in the SQL, as in statements.ts: a partial index only serves a query
  // whose WHERE names its status literally.
  const timerPending = `'${TimerStatus.Pending}'`;
  const timerDead = `'${TimerStatus.Dead}'`;
  const timerOrder = "ORDER BY due_at, timer_id LIMIT ?";
  const settle = sql.settleStatements("", () => "?");
  return {
    // Read-side listings (operators, the dashboard), sorted as read: one status is found through
    // timers_claim (status, next_attempt_at); an entity's timers by a scan, since an index of
    // every timer by entity would be written by every step that sets one.
    timers: db.prepare<[number], sql.TimerRow<string>>(`SELECT ${timerColumns} FROM timers ${timerOrder}`),
    timersIn: db.prepare<[string, number], sql.TimerRow<string>>(
      `SELECT ${timerColumns} FROM timers WHERE status = ? ${timerOrder}`,
    ),
    timersOf: db.prepare<[string, string, number], sql.TimerRow<string>>(
      `SELECT ${timerColumns} FROM timers WHERE machine = ? AND entity_id = ? ${timerOrder}`,
    ),
    timersOfIn: db.prepare<[string, string, string, number], sql.TimerRow<string>>(
      `SELECT ${timerColumns} FROM timers WHERE machine = ? AND entity_id = ? AND status = ? ${timerOrder}`,
    ),
    timer: db.prepare<[string], sql.TimerRow<string>>(`SELECT ${timerColumns} FROM timers WHERE timer_id = ?`),
    // Counted from timers_claim, whose first column is the status.
    timerStats: db.prepare<[], sql.StatusCountRow>("SELECT status, count(*) AS n FROM timers GROUP BY status"),
    claimTimers: db.prepare<[ClaimParams], sql.Claimed<sql.TimerRow<string>>>(
      `UPDATE timers SET attempts = attempts + 1, lease_owner = @owner, lease_until = @leaseUntil
        WHERE rowid IN (
          SELECT rowid FROM timers
           WHERE status = ${timerPending} AND next_attempt_at <= @now
             AND (lease_until IS NULL OR lease_until <= @now)
           ORDER BY due_at, rowid LIMIT @limit)
        RETURNING rowid AS seq, ${timerColumns}`,
    ),
    completeTimer: db.prepare(settle.timers.complete),
    retryTimer: db.prepare(settle.timers.retry),
    buryTimer: db.prepare<[string, number, string, string]>(
      `UPDATE timers SET status = ${timerDead}, last_error = ?, attempts = attempts - ?, lease_owner = NULL, lease_until = NULL
        WHERE timer_id = ? AND lease_owner = ? AND status = ${timerPending}`,
    ),
    // The last error stays, to show what killed the timer before; so does its due time.
    reviveTimer: db.prepare<[number, string]>(
      `UPDATE timers SET status = ${timerPending}, attempts = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
        WHERE timer_id = ? AND status = ${timerDead}`,
    ),
    renewTimerLeases: db
      .prepare<[number, string, string], string>(
        `UPDATE timers SET lease_until = ?
          WHERE lease_owner = ? AND status = ${timerPending} AND timer_id IN (SELECT value FROM json_each(?))
          RETURNING timer_id`,
      )
      .pluck(),
    releaseTimerLeases: db.prepare<[LeaseRelease]>(
      `UPDATE timers SET lease_owner = NULL, lease_until = NULL
        WHERE status = ${timerPending} AND lease_owner IS NOT NULL
          AND substr(lease_owner, 1, length(@ownerPrefix)) = @ownerPrefix
          AND substr(lease_owner, 1, length(@keepPrefix)) <> @keepPrefix`,
    ),
  };
}
