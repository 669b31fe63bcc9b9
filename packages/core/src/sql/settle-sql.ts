import type { AttemptFailure } from "../ports.js";
import { OutboxStatus, TimerStatus } from "../ports.js";

/** How a dialect writes the n-th (1-based) parameter: `?` for SQLite, `$n` for PostgreSQL. */
export type Placeholder = (n: number) => string;

/** A leased work queue's table, as the settling statements need it. */
interface QueueTable {
  readonly table: string;
  readonly key: string;
  readonly pending: string;
  readonly settled: string;
}

/**
 * The statements that settle a leased row, shared by the outbox and the timers of both SQL
 * adapters so that a lease is honoured the same way everywhere: a row is settled only by the
 * owner of its lease and only while it is pending, and settling it frees the lease.
 * Parameters, each used once and in the order it appears in the text (SQLite's `?` binds by
 * position): complete (key, owner); retry (retryAt, error, refund, key, owner), where refund
 * is 1 for an attempt that only waited (`AttemptFailure.counts: false`) and is given back, else 0.
 */
export interface SettleSql {
  readonly complete: string;
  readonly retry: string;
}

function settleSql(queue: QueueTable, at: Placeholder): SettleSql {
  const leased = `${queue.key} = ${at(1)} AND lease_owner = ${at(2)} AND status = ${queue.pending}`;
  const leasedAfterRetry = `${queue.key} = ${at(4)} AND lease_owner = ${at(5)} AND status = ${queue.pending}`;
  return {
    complete: `UPDATE ${queue.table} SET status = ${queue.settled}, lease_owner = NULL, lease_until = NULL
        WHERE ${leased}`,
    retry: `UPDATE ${queue.table}
          SET next_attempt_at = ${at(1)}, last_error = ${at(2)}, attempts = attempts - ${at(3)},
              lease_owner = NULL, lease_until = NULL
        WHERE ${leasedAfterRetry}`,
  };
}

// Statuses are literals in the SQL: a partial index on status only serves a query that
// names its value.
const literal = (status: string): string => `'${status}'`;

/**
 * The settling statements of the outbox and the timers, for a schema-qualified table prefix
 * (`""` for SQLite, `"drover."` for PostgreSQL) and a dialect's placeholder.
 *
 * @example
 * settleStatements("", () => "?").outbox.complete;
 * // UPDATE outbox SET status = 'done', … WHERE intent_id = ? AND lease_owner = ? AND status = 'pending'
 */
export function settleStatements(prefix: string, at: Placeholder): { outbox: SettleSql; timers: SettleSql } {
  return {
    outbox: settleSql(
      {
        table: `${prefix}outbox`,
        key: "intent_id",
        pending: literal(OutboxStatus.Pending),
        settled: literal(OutboxStatus.Done),
      },
      at,
    ),
    timers: settleSql(
      {
        table: `${prefix}timers`,
        key: "timer_id",
        pending: literal(TimerStatus.Pending),
        settled: literal(TimerStatus.Fired),
      },
      at,
    ),
  };
}

/** The `refund` parameter of a retry: 1 gives back an attempt that only waited. */
export function refundOf(failure: AttemptFailure): 0 | 1 {
  return failure.counts === false ? 1 : 0;
}
