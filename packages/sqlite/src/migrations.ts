import { ConfigurationError } from "@drover/core";
import type { Database } from "better-sqlite3";

/** One step of the schema's history. Versions start at 1 and never skip or change once released. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The schema of DESIGN §3, in SQLite. Times are INTEGER epoch milliseconds, JSON is TEXT.
 * The outbox's `seq` is the commit order the dispatcher drains in.
 */
export const migrations: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: "entities, journal, inbox, outbox, timers",
    sql: `
      CREATE TABLE entities (
        machine    TEXT    NOT NULL,
        id         TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        state      TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (machine, id)
      ) WITHOUT ROWID;

      CREATE TABLE journal (
        machine  TEXT    NOT NULL,
        id       TEXT    NOT NULL,
        version  INTEGER NOT NULL,
        event_id TEXT    NOT NULL,
        event    TEXT    NOT NULL,
        decision TEXT    NOT NULL,
        intents  TEXT    NOT NULL,
        at       INTEGER NOT NULL,
        PRIMARY KEY (machine, id, version)
      ) WITHOUT ROWID;

      CREATE TABLE inbox (
        event_id    TEXT    NOT NULL PRIMARY KEY,
        machine     TEXT    NOT NULL,
        id          TEXT    NOT NULL,
        fingerprint TEXT    NOT NULL,
        result      TEXT    NOT NULL,
        at          INTEGER NOT NULL
      );

      CREATE TABLE outbox (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        intent_id       TEXT    NOT NULL UNIQUE,
        machine         TEXT    NOT NULL,
        entity_id       TEXT    NOT NULL,
        intent          TEXT    NOT NULL,
        status          TEXT    NOT NULL,
        attempts        INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        lease_owner     TEXT,
        lease_until     INTEGER,
        last_error      TEXT,
        created_at      INTEGER NOT NULL
      );
      CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

      CREATE TABLE timers (
        timer_id  TEXT    NOT NULL PRIMARY KEY,
        machine   TEXT    NOT NULL,
        entity_id TEXT    NOT NULL,
        event     TEXT    NOT NULL,
        due_at    INTEGER NOT NULL,
        status    TEXT    NOT NULL
      );
      CREATE INDEX timers_due ON timers (status, due_at);
    `,
  },
  {
    version: 2,
    name: "outbox and timer claims",
    // Claiming walks pending outbox rows in commit order (outbox_by_status is (status, seq), seq
    // being the rowid) and stops at the limit, so a backlog drains without sorting all of it;
    // the partial index answers "is there an older pending row of this entity?" from pending
    // rows alone, however many done rows pile up. outbox_due (status, next_attempt_at) would
    // only tempt the planner into reading every due row and sorting: it goes.
    // Timers gain the claim columns the outbox has, and are first claimable at their due time;
    // claims look for due rows by next_attempt_at, so timers_due (status, due_at) goes too.
    sql: `
      DROP INDEX outbox_due;
      CREATE INDEX outbox_by_status ON outbox (status);
      CREATE INDEX outbox_pending_by_entity ON outbox (machine, entity_id, seq) WHERE status = 'pending';

      ALTER TABLE timers ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE timers ADD COLUMN next_attempt_at INTEGER;
      ALTER TABLE timers ADD COLUMN lease_owner TEXT;
      ALTER TABLE timers ADD COLUMN lease_until INTEGER;
      ALTER TABLE timers ADD COLUMN last_error TEXT;
      UPDATE timers SET next_attempt_at = due_at;
      DROP INDEX timers_due;
      CREATE INDEX timers_claim ON timers (status, next_attempt_at);
    `,
  },
  {
    version: 3,
    name: "entities keep their state's name",
    // Lists and counts by state read this column instead of a convention inside the JSON; the
    // machine names each state as it writes it. Rows written before are named by the default
    // convention (`status`, then `state`), which is what a machine without `stateName` does.
    sql: `
      ALTER TABLE entities ADD COLUMN state_name TEXT;
      UPDATE entities SET state_name = CASE
        WHEN json_type(state, '$.status') = 'text' THEN json_extract(state, '$.status')
        WHEN json_type(state, '$.state') = 'text' THEN json_extract(state, '$.state')
      END;
    `,
  },
  {
    version: 4,
    name: "states and events keep their schema version",
    // Each row says which version of its machine's state or event schema it was written at, so
    // newer code migrates it on the way in. Rows written before count as version 1, what a
    // machine without `version` is; the DEFAULT fills them without rewriting the tables.
    sql: `
      ALTER TABLE entities ADD COLUMN state_version INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE journal ADD COLUMN state_version INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE journal ADD COLUMN event_version INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE timers ADD COLUMN event_version INTEGER NOT NULL DEFAULT 1;
    `,
  },
  {
    version: 5,
    name: "fewer B-trees per step: the journal is the inbox of accepted events",
    // An accepted step wrote nine B-trees; now seven (entity, journal, journal_by_event, outbox,
    // its intent_id index, outbox_pending, outbox_pending_by_entity), plus one per timer
    // (six since migration 6).
    // - The journal row of an accepted event holds all its inbox record needs: with the
    //   fingerprint and a unique index on event_id, the `processed` result a duplicate replays
    //   is built from the row (same keys, in core's order) instead of kept as a second copy.
    //   Rows written before get the fingerprint of their inbox row; the store writes it for
    //   every new row (ALTER TABLE cannot add a NOT NULL column without a default).
    // - Rejected events, which write no journal row, keep their record in refusals, keyed as
    //   it is read. Any old inbox row without a journal row goes there, so none is lost.
    // - inbox stays as a view of both, with the old columns, for whatever reads it by name.
    // - outbox loses AUTOINCREMENT (and its sqlite_sequence write per row): no outbox row is
    //   ever deleted, so max(rowid) + 1 keeps seq growing in commit order; rows keep their seq.
    //   outbox_by_status served claims by walking (status, seq) over every status: the partial
    //   index outbox_pending (seq) holds the pending rows only, so a claim walks the backlog in
    //   commit order and stops at its limit however long the backlog and the history grow (a
    //   claim that sorted the whole backlog instead cost 30% of a loaded server, profiled);
    //   dead letters get their own partial index, which the hot path never writes.
    sql: `
      ALTER TABLE journal ADD COLUMN fingerprint TEXT;
      UPDATE journal SET fingerprint = (SELECT i.fingerprint FROM inbox AS i WHERE i.event_id = journal.event_id);
      CREATE UNIQUE INDEX journal_by_event ON journal (event_id);

      CREATE TABLE refusals (
        event_id    TEXT    NOT NULL PRIMARY KEY,
        machine     TEXT    NOT NULL,
        id          TEXT    NOT NULL,
        fingerprint TEXT    NOT NULL,
        result      TEXT    NOT NULL,
        at          INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO refusals (event_id, machine, id, fingerprint, result, at)
        SELECT i.event_id, i.machine, i.id, i.fingerprint, i.result, i.at FROM inbox AS i
         WHERE NOT EXISTS (SELECT 1 FROM journal AS j WHERE j.event_id = i.event_id);
      DROP TABLE inbox;
      CREATE VIEW inbox (event_id, machine, id, fingerprint, result, at) AS
        SELECT event_id, machine, id, fingerprint,
               json_object('kind', 'processed', 'machine', machine, 'id', id, 'eventId', event_id,
                           'version', version, 'state', json(decision), 'intents', json(intents)),
               at
          FROM journal
        UNION ALL
        SELECT event_id, machine, id, fingerprint, result, at FROM refusals;

      CREATE TABLE outbox_v5 (
        seq             INTEGER PRIMARY KEY,
        intent_id       TEXT    NOT NULL UNIQUE,
        machine         TEXT    NOT NULL,
        entity_id       TEXT    NOT NULL,
        intent          TEXT    NOT NULL,
        status          TEXT    NOT NULL,
        attempts        INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        lease_owner     TEXT,
        lease_until     INTEGER,
        last_error      TEXT,
        created_at      INTEGER NOT NULL
      );
      INSERT INTO outbox_v5 (seq, intent_id, machine, entity_id, intent, status, attempts, next_attempt_at,
                             lease_owner, lease_until, last_error, created_at)
        SELECT seq, intent_id, machine, entity_id, intent, status, attempts, next_attempt_at,
               lease_owner, lease_until, last_error, created_at
          FROM outbox ORDER BY seq;
      DROP TABLE outbox;
      ALTER TABLE outbox_v5 RENAME TO outbox;
      CREATE INDEX outbox_pending ON outbox (seq) WHERE status = 'pending';
      CREATE INDEX outbox_pending_by_entity ON outbox (machine, entity_id, seq) WHERE status = 'pending';
      CREATE INDEX outbox_dead ON outbox (seq) WHERE status = 'dead';
    `,
  },
  {
    version: 6,
    name: "claims need no index of pending rows by entity",
    // Every step wrote outbox_pending_by_entity, for one question of the claim: "is there an
    // older pending row of this entity?". The claim now walks the pending rows in commit order
    // (outbox-claim.ts), where an entity's older pending row always comes first, so a set of
    // the entities seen answers it: six B-trees per accepted step instead of seven (raw
    // batched steps ~23,000 -> ~26,700/s in bench/). No row changes.
    sql: `
      DROP INDEX IF EXISTS outbox_pending_by_entity;
    `,
  },
  {
    version: 7,
    name: "outbox rows and timers keep the trace of their step",
    // The W3C traceparent of the step that wrote a row, so that the dispatcher's attempt and the
    // timer's firing, minutes later or in another process, continue the step's trace. Nullable:
    // rows written before, and steps that were not traced, have none. ADD COLUMN with no default
    // rewrites no row, and no index names it, so a step still writes six B-trees.
    sql: `
      ALTER TABLE outbox ADD COLUMN trace_parent TEXT;
      ALTER TABLE timers ADD COLUMN trace_parent TEXT;
    `,
  },
  {
    version: 8,
    name: "timer keys, paused intent types, concurrency slots and rate-limit buckets",
    // - A machine names a timer (its key) to cancel or replace it later: a step cancels its
    //   entity's pending timers of a key, found through timers_pending_by_key. Partial on
    //   pending timers that have a key: fired, cancelled and dead timers (the history) and
    //   timers without a key (all timers before this) are not in it, so a step that sets no
    //   keyed timer writes the same B-trees as before. The column is nullable: older timers
    //   have no key. Timers gain the statuses `cancelled` and `dead`
    //   (status is TEXT: no change).
    // - Paused intent types live in the file, not in a process, so that `drover outbox pause`
    //   run against the database of a running server pauses it for that server's next claim.
    // - Concurrency slots (a row per holder of a key) and token buckets (a row per key) are
    //   shared by every process on the file; they are read and written in BEGIN IMMEDIATE.
    sql: `
      ALTER TABLE timers ADD COLUMN timer_key TEXT;
      CREATE INDEX timers_pending_by_key ON timers (machine, entity_id, timer_key)
        WHERE status = 'pending' AND timer_key IS NOT NULL;

      CREATE TABLE paused_intent_types (
        intent_type TEXT    NOT NULL PRIMARY KEY,
        paused_at   INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE intent_slots (
        slot_key    TEXT    NOT NULL,
        holder      TEXT    NOT NULL,
        owner       TEXT    NOT NULL,
        lease_until INTEGER NOT NULL,
        PRIMARY KEY (slot_key, holder)
      ) WITHOUT ROWID;

      CREATE TABLE token_buckets (
        bucket_key TEXT    NOT NULL PRIMARY KEY,
        tokens     REAL    NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
]);

/** What {@link migrate} did. */
export interface MigrationReport {
  /** The schema version before. 0 for a new database. */
  readonly from: number;
  /** The schema version now. */
  readonly to: number;
  /** The versions applied by this call, oldest first. */
  readonly applied: readonly number[];
}

/**
 * Bring a database up to the newest known schema version, all in one `BEGIN IMMEDIATE`
 * transaction: two processes opening the same new file do not both migrate it, and a crash
 * halfway leaves the previous version. Refuses a database written by newer code.
 */
export function migrate(db: Database, path: string, list: readonly Migration[] = migrations): MigrationReport {
  checkSequence(list);
  const latest = list.at(-1)?.version ?? 0;
  const run = db.transaction((): MigrationReport => {
    db.exec(
      "CREATE TABLE IF NOT EXISTS drover_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    );
    const from = (db.prepare("SELECT max(version) FROM drover_migrations").pluck().get() as number | null) ?? 0;
    if (from > latest) {
      throw new ConfigurationError(
        `the SQLite database at ${path} has schema version ${from}, but this @drover/sqlite knows versions up to ${latest}; ` +
          "upgrade @drover/sqlite to the version that wrote it, or point drover at another database",
      );
    }
    const record = db.prepare("INSERT INTO drover_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    const applied: number[] = [];
    for (const migration of list) {
      if (migration.version <= from) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
      applied.push(migration.version);
    }
    return { from, to: Math.max(from, latest), applied };
  });
  return run.immediate();
}

function checkSequence(list: readonly Migration[]): void {
  list.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new ConfigurationError(
        `migrations must be numbered 1, 2, 3… without gaps; found version ${migration.version} at position ${index + 1}`,
      );
    }
  });
}
