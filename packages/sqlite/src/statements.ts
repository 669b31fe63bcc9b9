import type { LeaseRelease } from "@drover/core";
import { OutboxStatus, TimerStatus } from "@drover/core";
import * as sql from "@drover/core/sql";
import type Database from "better-sqlite3";
import type { RewriteParams } from "./rows.js";
import type { TimerStatements } from "./timer-statements.js";
import { prepareTimerStatements, timerColumns } from "./timer-statements.js";

/** Named parameters of the filtered entity listing; `null`: no such filter. */
export interface EntityFilter {
  machine: string;
  after: string | null;
  prefix: string | null;
  stateName: string | null;
  limit: number;
}

/** A pending outbox row as the claim walk reads it (outbox-claim.ts). */
export type PendingHead = [
  seq: number,
  machine: string,
  entityId: string,
  nextAttemptAt: number,
  leaseUntil: number | null,
];

/** A pending outbox row as the claim walk reads it while some intent type is paused: with its type. */
export type TypedPendingHead = [...PendingHead, intentType: unknown];

/** Named parameters of `load`: the entity and the event whose inbox record is looked up with it. */
export interface LoadParams {
  machine: string;
  id: string;
  eventId: string;
}

/** Every statement the store runs, compiled once per connection (the timers' in timer-statements.ts). */
export interface Statements extends TimerStatements {
  readonly schemaVersion: Database.Statement<[], number | null>;
  readonly journalMode: Database.Statement<[], string>;
  /** 1 for NORMAL, 2 for FULL. */
  readonly synchronous: Database.Statement<[], number>;
  readonly load: Database.Statement<[LoadParams], sql.LoadRow<string>>;
  readonly entity: Database.Statement<[machine: string, id: string], sql.EntityRow<string>>;
  readonly version: Database.Statement<[machine: string, id: string], number>;
  /** The inbox record of an event: its journal row if accepted, else its refusal. */
  readonly inbox: Database.Statement<[eventId: string, sameEventId: string], sql.InboxRow<string>>;
  readonly createEntity: Database.Statement<
    [
      machine: string,
      id: string,
      state: string,
      stateName: string | null,
      stateVersion: number,
      createdAt: number,
      updatedAt: number,
    ]
  >;
  readonly updateEntity: Database.Statement<
    [
      state: string,
      stateName: string | null,
      stateVersion: number,
      updatedAt: number,
      machine: string,
      id: string,
      expectedVersion: number,
    ]
  >;
  readonly rewriteState: Database.Statement<RewriteParams>;
  readonly insertJournal: Database.Statement<
    [
      machine: string,
      id: string,
      version: number,
      eventId: string,
      fingerprint: string,
      event: string,
      eventVersion: number,
      decision: string,
      stateVersion: number,
      intents: string,
      at: number,
    ]
  >;
  readonly insertRefusal: Database.Statement<
    [eventId: string, machine: string, id: string, fingerprint: string, result: string, at: number]
  >;
  readonly insertOutbox: Database.Statement<
    [
      intentId: string,
      machine: string,
      entityId: string,
      intent: string,
      status: string,
      nextAttemptAt: number,
      createdAt: number,
      traceParent: string | null,
    ]
  >;
  readonly insertTimer: Database.Statement<
    [
      timerId: string,
      key: string | null,
      machine: string,
      entityId: string,
      event: string,
      eventVersion: number,
      dueAt: number,
      nextAttemptAt: number,
      traceParent: string | null,
    ]
  >;
  readonly entities: Database.Statement<[machine: string, limit: number], sql.EntityRow<string>>;
  readonly entitiesAfter: Database.Statement<[machine: string, after: string, limit: number], sql.EntityRow<string>>;
  readonly entitiesFiltered: Database.Statement<[EntityFilter], sql.EntityRow<string>>;
  readonly entityCounts: Database.Statement<[machine: string], sql.StateNameCountRow>;
  readonly stateVersionCounts: Database.Statement<[machine: string], sql.StateVersionCountRow>;
  readonly journal: Database.Statement<[machine: string, id: string], sql.JournalRow<string>>;
  readonly outbox: Database.Statement<[limit: number], sql.OutboxRow<string>>;
  readonly outboxPending: Database.Statement<[limit: number], sql.OutboxRow<string>>;
  readonly outboxDone: Database.Statement<[limit: number], sql.OutboxRow<string>>;
  readonly outboxDead: Database.Statement<[limit: number], sql.OutboxRow<string>>;
  readonly outboxRow: Database.Statement<[intentId: string], sql.OutboxRow<string>>;
  readonly outboxStats: Database.Statement<[], sql.StatusCountRow>;
  /** Cancel one pending timer of an entity by its timer id. */
  readonly cancelTimerById: Database.Statement<[timerId: string, machine: string, entityId: string]>;
  /** Cancel the pending timers of an entity with a key (one, unless an operator revived another). */
  readonly cancelTimersByKey: Database.Statement<[machine: string, entityId: string, key: string]>;
  /** The pending rows in commit order, as the claim walks them. */
  readonly pendingHeads: Database.Statement<[], PendingHead>;
  /** The same walk with each row's intent type, for a claim while some type is paused. */
  readonly typedPendingHeads: Database.Statement<[], TypedPendingHead>;
  /** The names of the paused intent types, read by each claim. */
  readonly pausedTypeNames: Database.Statement<[], string>;
  /** Lease one pending row by seq: its new attempt, owner and lease, and the row. */
  readonly leaseOutbox: Database.Statement<
    [owner: string, leaseUntil: number, seq: number],
    sql.Claimed<sql.OutboxRow<string>>
  >;
  readonly completeOutbox: Database.Statement<[intentId: string, owner: string]>;
  readonly retryOutbox: Database.Statement<
    [retryAt: number, error: string, refund: number, intentId: string, owner: string]
  >;
  readonly buryOutbox: Database.Statement<[error: string, intentId: string, owner: string]>;
  readonly reviveOutbox: Database.Statement<[now: number, intentId: string]>;
  /** The heartbeat: move the leases an owner still holds among some ids (a JSON array); the ids held. */
  readonly renewOutboxLeases: Database.Statement<[until: number, owner: string, ids: string], string>;
  /** Free the pending rows leased to an instance's earlier incarnations (owner prefix, kept prefix). */
  readonly releaseOutboxLeases: Database.Statement<[LeaseRelease]>;
}

/** The listing statement for a status: each status has its own, to read its own index. */
export function outboxListing(
  statements: Statements,
  status: OutboxStatus | undefined,
): Statements["outbox"] | undefined {
  switch (status) {
    case undefined:
      return statements.outbox;
    case OutboxStatus.Pending:
      return statements.outboxPending;
    case OutboxStatus.Done:
      return statements.outboxDone;
    case OutboxStatus.Dead:
      return statements.outboxDead;
    default: {
      // Only an untyped caller gets here; no row has another status, so none matches.
      const _exhaustive: never = status;
      return _exhaustive && undefined;
    }
  }
}

export function prepare(db: Database.Database): Statements {
  const entityColumns = "machine, id, version, state, state_name, state_version, created_at, updated_at";
  const outboxColumns =
    "intent_id, machine, entity_id, intent, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at, trace_parent";
  const journalColumns = "machine, id, version, event_id, event, event_version, decision, state_version, intents, at";
  // An accepted event's inbox record is its journal row (migration 5): the `processed` result
  // in core's key order, built from the columns. Each arm of an inbox lookup names the event
  // id itself, so that each is a point lookup, never a scan of the view's union.
  const processed = `json_object('kind', 'processed', 'machine', machine, 'id', id, 'eventId', event_id,
      'version', version, 'state', json(decision), 'intents', json(intents))`;
  const inboxOf = (eventId: string): string =>
    `SELECT event_id, machine, id, fingerprint, ${processed} AS result, at FROM journal WHERE event_id = ${eventId}
     UNION ALL
     SELECT event_id, machine, id, fingerprint, result, at FROM refusals WHERE event_id = ${eventId}`;
  // Statuses are literals in the SQL: a partial index (outbox_pending, outbox_dead) only serves
  // a query whose WHERE names its status literally.
  const pending = `'${OutboxStatus.Pending}'`;
  const dead = `'${OutboxStatus.Dead}'`;
  const done = `'${OutboxStatus.Done}'`;
  const timerPending = `'${TimerStatus.Pending}'`;
  // A cancelled timer's lease is freed: whoever had claimed it can no longer settle it.
  const cancel = `UPDATE timers SET status = '${TimerStatus.Cancelled}', lease_owner = NULL, lease_until = NULL`;
  const settle = sql.settleStatements("", () => "?");
  return Object.freeze({
    ...prepareTimerStatements(db),
    schemaVersion: db.prepare<[], number | null>("SELECT max(version) FROM drover_migrations").pluck(),
    journalMode: db.prepare<[], string>("PRAGMA journal_mode").pluck(),
    synchronous: db.prepare<[], number>("PRAGMA synchronous").pluck(),
    // Always one row: the LEFT JOINs leave the columns of what is missing NULL.
    load: db.prepare<[LoadParams], sql.LoadRow<string>>(
      `SELECT e.version, e.state, e.state_name, e.state_version, e.created_at, e.updated_at,
              i.machine AS inbox_machine, i.id AS inbox_id, i.fingerprint, i.result, i.at
         FROM (SELECT 1) AS one
         LEFT JOIN entities AS e ON e.machine = @machine AND e.id = @id
         LEFT JOIN (${inboxOf("@eventId")}) AS i`,
    ),
    entity: db.prepare<[string, string], sql.EntityRow<string>>(
      `SELECT ${entityColumns} FROM entities WHERE machine = ? AND id = ?`,
    ),
    version: db.prepare<[string, string], number>("SELECT version FROM entities WHERE machine = ? AND id = ?").pluck(),
    // `?` binds by position: the caller passes the event id once per arm.
    inbox: db.prepare<[string, string], sql.InboxRow<string>>(inboxOf("?")),
    createEntity: db.prepare<[string, string, string, string | null, number, number, number]>(
      `INSERT INTO entities (${entityColumns}) VALUES (?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    updateEntity: db.prepare<[string, string | null, number, number, string, string, number]>(
      `UPDATE entities SET version = version + 1, state = ?, state_name = ?, state_version = ?, updated_at = ?
        WHERE machine = ? AND id = ? AND version = ?`,
    ),
    // A rewrite is no step: the entity version and updated_at stay, and a step decided on the
    // state before it still commits, having decided on the same state migrated the same way.
    rewriteState: db.prepare<[string, string | null, number, string, string, number, number]>(
      `UPDATE entities SET state = ?, state_name = ?, state_version = ?
        WHERE machine = ? AND id = ? AND version = ? AND state_version < ?`,
    ),
    insertJournal: db.prepare<[string, string, number, string, string, string, number, string, number, string, number]>(
      `INSERT INTO journal (machine, id, version, event_id, fingerprint, event, event_version, decision, state_version, intents, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertRefusal: db.prepare<[string, string, string, string, string, number]>(
      "INSERT INTO refusals (event_id, machine, id, fingerprint, result, at) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    insertOutbox: db.prepare<[string, string, string, string, string, number, number, string | null]>(
      `INSERT INTO outbox (${outboxColumns}) VALUES (?, ?, ?, ?, ?, 0, ?, NULL, NULL, NULL, ?, ?)`,
    ),
    // A timer is first claimable when it is due.
    insertTimer: db.prepare<[string, string | null, string, string, string, number, number, number, string | null]>(
      `INSERT INTO timers (${timerColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ${timerPending}, 0, ?, NULL, NULL, NULL, ?)`,
    ),
    entities: db.prepare<[string, number], sql.EntityRow<string>>(
      `SELECT ${entityColumns} FROM entities WHERE machine = ? ORDER BY id LIMIT ?`,
    ),
    entitiesAfter: db.prepare<[string, string, number], sql.EntityRow<string>>(
      `SELECT ${entityColumns} FROM entities WHERE machine = ? AND id > ? ORDER BY id LIMIT ?`,
    ),
    // Range bounds on id keep the primary key usable; substr() does the exact prefix test.
    entitiesFiltered: db.prepare<[EntityFilter], sql.EntityRow<string>>(
      `SELECT ${entityColumns} FROM entities
        WHERE machine = @machine AND id > coalesce(@after, '') AND id >= coalesce(@prefix, '')
          AND (@prefix IS NULL OR substr(id, 1, length(@prefix)) = @prefix)
          AND (@stateName IS NULL OR state_name = @stateName)
        ORDER BY id LIMIT @limit`,
    ),
    entityCounts: db.prepare<[string], sql.StateNameCountRow>(
      "SELECT state_name, count(*) AS n FROM entities WHERE machine = ? GROUP BY state_name",
    ),
    // Scans the machine's part of the primary key: a count at start-up and before an upgrade.
    stateVersionCounts: db.prepare<[string], sql.StateVersionCountRow>(
      "SELECT state_version, count(*) AS n FROM entities WHERE machine = ? GROUP BY state_version",
    ),
    journal: db.prepare<[string, string], sql.JournalRow<string>>(
      `SELECT ${journalColumns} FROM journal WHERE machine = ? AND id = ? ORDER BY version`,
    ),
    outbox: db.prepare<[number], sql.OutboxRow<string>>(`SELECT ${outboxColumns} FROM outbox ORDER BY seq LIMIT ?`),
    // Pending and dead rows are read from their partial indexes, in commit order, up to the
    // limit; done rows are the history, read in commit order until the limit.
    outboxPending: db.prepare<[number], sql.OutboxRow<string>>(
      `SELECT ${outboxColumns} FROM outbox INDEXED BY outbox_pending
        WHERE status = ${pending} ORDER BY seq LIMIT ?`,
    ),
    outboxDone: db.prepare<[number], sql.OutboxRow<string>>(
      `SELECT ${outboxColumns} FROM outbox WHERE status = ${done} ORDER BY seq LIMIT ?`,
    ),
    outboxDead: db.prepare<[number], sql.OutboxRow<string>>(
      `SELECT ${outboxColumns} FROM outbox WHERE status = ${dead} ORDER BY seq LIMIT ?`,
    ),
    outboxRow: db.prepare<[string], sql.OutboxRow<string>>(`SELECT ${outboxColumns} FROM outbox WHERE intent_id = ?`),
    // Pending and dead are counted from their partial indexes, done as the rest: no index
    // by status is kept up to date on every step for this count.
    outboxStats: db.prepare<[], sql.StatusCountRow>(
      `WITH n AS MATERIALIZED (
         SELECT (SELECT count(*) FROM outbox WHERE status = ${pending}) AS pending,
                (SELECT count(*) FROM outbox WHERE status = ${dead}) AS dead,
                (SELECT count(*) FROM outbox) AS total)
       SELECT ${pending} AS status, pending AS n FROM n
       UNION ALL SELECT ${dead}, dead FROM n
       UNION ALL SELECT ${done}, total - pending - dead FROM n`,
    ),
    cancelTimerById: db.prepare<[string, string, string]>(
      `${cancel} WHERE timer_id = ? AND machine = ? AND entity_id = ? AND status = ${timerPending}`,
    ),
    // Through timers_pending_by_key: `timer_key = ?` implies the index's `timer_key IS NOT NULL`.
    cancelTimersByKey: db.prepare<[string, string, string]>(
      `${cancel} WHERE machine = ? AND entity_id = ? AND timer_key = ? AND status = ${timerPending}`,
    ),
    // Due, unleased (or lease expired), and no older pending row of the same entity, whether
    // that one is due, leased or backing off: an entity's intents run in commit order. The IN
    // list is computed before any row changes. It walks the pending rows only (the backlog, not
    // the history) in commit order from their partial index and stops at the limit; INDEXED BY,
    // since the planner may not see that the partial index covers `status = 'pending'`.
    pendingHeads: db
      .prepare(
        `SELECT seq, machine, entity_id, next_attempt_at, lease_until FROM outbox INDEXED BY outbox_pending
          WHERE status = ${pending} ORDER BY seq`,
      )
      .raw() as unknown as Database.Statement<[], PendingHead>,
    // Reads each row's intent for its type: only while some type is paused (outbox-claim.ts).
    typedPendingHeads: db
      .prepare(
        `SELECT seq, machine, entity_id, next_attempt_at, lease_until, json_extract(intent, '$.type')
           FROM outbox INDEXED BY outbox_pending
          WHERE status = ${pending} ORDER BY seq`,
      )
      .raw() as unknown as Database.Statement<[], TypedPendingHead>,
    pausedTypeNames: db.prepare<[], string>("SELECT intent_type FROM paused_intent_types").pluck(),
    leaseOutbox: db.prepare<[owner: string, leaseUntil: number, seq: number], sql.Claimed<sql.OutboxRow<string>>>(
      `UPDATE outbox SET attempts = attempts + 1, lease_owner = ?, lease_until = ?
        WHERE seq = ? AND status = ${pending}
        RETURNING seq, ${outboxColumns}`,
    ),
    completeOutbox: db.prepare(settle.outbox.complete),
    retryOutbox: db.prepare(settle.outbox.retry),
    buryOutbox: db.prepare<[string, string, string]>(
      `UPDATE outbox SET status = ${dead}, last_error = ?, lease_owner = NULL, lease_until = NULL
        WHERE intent_id = ? AND lease_owner = ? AND status = ${pending}`,
    ),
    // The last error stays, to show what killed the row before.
    reviveOutbox: db.prepare<[number, string]>(
      `UPDATE outbox SET status = ${pending}, attempts = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
        WHERE intent_id = ? AND status = ${dead}`,
    ),
    renewOutboxLeases: db
      .prepare<[number, string, string], string>(
        `UPDATE outbox SET lease_until = ?
          WHERE lease_owner = ? AND status = ${pending} AND intent_id IN (SELECT value FROM json_each(?))
          RETURNING intent_id`,
      )
      .pluck(),
    // substr, not LIKE: an instance name may hold LIKE's wildcards. Run once per start.
    releaseOutboxLeases: db.prepare<[LeaseRelease]>(
      `UPDATE outbox SET lease_owner = NULL, lease_until = NULL
        WHERE status = ${pending} AND lease_owner IS NOT NULL
          AND substr(lease_owner, 1, length(@ownerPrefix)) = @ownerPrefix
          AND substr(lease_owner, 1, length(@keepPrefix)) <> @keepPrefix`,
    ),
  });
}
