import type Database from "better-sqlite3";

/** The prepared statements of {@link droverRowStatements}. */
export interface DroverRowStatements {
  readonly seen: Database.Statement<[eventId: string, eventIdAgain: string], number>;
  readonly load: Database.Statement<[machine: string, id: string], { version: number; state: string }>;
  readonly create: Database.Statement<[string, string, string, number, number]>;
  readonly update: Database.Statement<[string, number, string, string, number]>;
  readonly journal: Database.Statement<[string, string, number, string, string, string, string, string, number]>;
  readonly refusal: Database.Statement<[string, string, string, string, string, number]>;
  readonly outbox: Database.Statement<[string, string, string, string, number, number]>;
}

/**
 * The statements a hand-written contestant needs to write drover's rows in drover's schema
 * (since SQLite schema version 5: the journal row, with its fingerprint, is an accepted
 * event's inbox record; a rejection is a refusals row): the raw and XState contestants share
 * them, so both write exactly what drover writes.
 */
export function droverRowStatements(db: Database.Database): DroverRowStatements {
  return {
    seen: db
      .prepare<[string, string], number>(
        "SELECT 1 FROM journal WHERE event_id = ? UNION ALL SELECT 1 FROM refusals WHERE event_id = ?",
      )
      .pluck(),
    load: db.prepare<[string, string], { version: number; state: string }>(
      "SELECT version, state FROM entities WHERE machine = ? AND id = ?",
    ),
    create: db.prepare<[string, string, string, number, number]>(
      "INSERT INTO entities (machine, id, version, state, created_at, updated_at) VALUES (?, ?, 1, ?, ?, ?)",
    ),
    update: db.prepare<[string, number, string, string, number]>(
      "UPDATE entities SET version = version + 1, state = ?, updated_at = ? WHERE machine = ? AND id = ? AND version = ?",
    ),
    journal: db.prepare<[string, string, number, string, string, string, string, string, number]>(
      "INSERT INTO journal (machine, id, version, event_id, fingerprint, event, decision, intents, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    refusal: db.prepare<[string, string, string, string, string, number]>(
      "INSERT INTO refusals (event_id, machine, id, fingerprint, result, at) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    outbox: db.prepare<[string, string, string, string, number, number]>(
      `INSERT INTO outbox (intent_id, machine, entity_id, intent, status, attempts, next_attempt_at,
                           lease_owner, lease_until, last_error, created_at)
       VALUES (?, ?, ?, ?, 'pending', 0, ?, NULL, NULL, NULL, ?)`,
    ),
  };
}
