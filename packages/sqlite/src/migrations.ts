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
