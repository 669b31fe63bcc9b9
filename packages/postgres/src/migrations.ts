import { ConfigurationError } from "@drover/core";
import type pg from "pg";
import { commitFunction, commitOneFunction, intentControlFunctions, loadFunction } from "./functions.js";
import { hash32, quoteIdent } from "./identifiers.js";

/** One step of the schema's history. Versions start at 1 and never skip or change once released. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The SQL, for tables in the schema `s` (already quoted). */
  readonly sql: (s: string) => string;
}

/**
 * The schema of DESIGN §3, in PostgreSQL. Times are `bigint` epoch milliseconds. JSON is `json`,
 * not `jsonb`: drover never queries inside it, `json` keeps the text exactly as written (key
 * order, and the `\u0000` escape that jsonb refuses), and costs no conversion either way.
 * Ids are `COLLATE "C"`: compared byte-wise, as every drover store orders them.
 * The outbox's and timers' `seq` is the commit order the dispatcher and scheduler drain in.
 */
export const migrations: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: "entities, journal, inbox, outbox, timers",
    sql: (s: string) => `
      CREATE TABLE ${s}.entities (
        machine    text COLLATE "C" NOT NULL,
        id         text COLLATE "C" NOT NULL,
        version    bigint NOT NULL,
        state      json   NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (machine, id)
      );

      CREATE TABLE ${s}.journal (
        machine  text COLLATE "C" NOT NULL,
        id       text COLLATE "C" NOT NULL,
        version  bigint NOT NULL,
        event_id text   NOT NULL,
        event    json   NOT NULL,
        decision json   NOT NULL,
        intents  json   NOT NULL,
        at       bigint NOT NULL,
        PRIMARY KEY (machine, id, version)
      );

      CREATE TABLE ${s}.inbox (
        event_id    text COLLATE "C" NOT NULL PRIMARY KEY,
        machine     text   NOT NULL,
        id          text   NOT NULL,
        fingerprint text   NOT NULL,
        result      json   NOT NULL,
        at          bigint NOT NULL
      );

      CREATE TABLE ${s}.outbox (
        seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        intent_id       text COLLATE "C" NOT NULL UNIQUE,
        machine         text COLLATE "C" NOT NULL,
        entity_id       text COLLATE "C" NOT NULL,
        intent          json    NOT NULL,
        status          text    NOT NULL CHECK (status IN ('pending', 'done', 'dead')),
        attempts        integer NOT NULL,
        next_attempt_at bigint  NOT NULL,
        lease_owner     text,
        lease_until     bigint,
        last_error      text,
        created_at      bigint  NOT NULL
      );
      CREATE INDEX outbox_by_status ON ${s}.outbox (status, seq);
      CREATE INDEX outbox_pending_by_entity ON ${s}.outbox (machine, entity_id, seq) WHERE status = 'pending';

      CREATE TABLE ${s}.timers (
        seq             bigint GENERATED ALWAYS AS IDENTITY,
        timer_id        text COLLATE "C" NOT NULL PRIMARY KEY,
        machine         text    NOT NULL,
        entity_id       text    NOT NULL,
        event           json    NOT NULL,
        due_at          bigint  NOT NULL,
        status          text    NOT NULL CHECK (status IN ('pending', 'fired')),
        attempts        integer NOT NULL,
        next_attempt_at bigint  NOT NULL,
        lease_owner     text,
        lease_until     bigint,
        last_error      text
      );
      CREATE INDEX timers_claim ON ${s}.timers (status, next_attempt_at);
      CREATE INDEX timers_by_due ON ${s}.timers (due_at, seq);

      ${loadFunction(s, { stateName: false, versions: false })}
      ${commitFunction(s, { stateName: false, versions: false, traceParent: false })}
    `,
  },
  {
    version: 2,
    name: "entities keep their state's name",
    // Lists and counts by state read this column instead of a convention inside the JSON; the
    // machine names each state as it writes it. Rows written before are named by the default
    // convention (`status`, then `state`), which is what a machine without `stateName` does.
    // The functions change their signatures, so they are dropped and made again.
    sql: (s: string) => `
      ALTER TABLE ${s}.entities ADD COLUMN state_name text;
      UPDATE ${s}.entities SET state_name = CASE
        WHEN json_typeof(state -> 'status') = 'string' THEN state ->> 'status'
        WHEN json_typeof(state -> 'state') = 'string' THEN state ->> 'state'
      END;
      DROP FUNCTION ${s}.drover_load(text, text, text);
      DROP FUNCTION ${s}.drover_commit(text[], text[], text[], text[], text[], bigint[], bigint[], json[], json[],
        json[], json[], int[], text[], json[], int[], text[], json[], bigint[], bigint, text, text);
      ${loadFunction(s, { stateName: true, versions: false })}
      ${commitFunction(s, { stateName: true, versions: false, traceParent: false })}
    `,
  },
  {
    version: 3,
    name: "states and events keep their schema versions",
    // Each entity and journal row records the state version (`Machine.version`) it was written
    // at, each journal row and timer the event version, so that old ones can be migrated on
    // load and replay. Rows written before this had no versions, which is version 1: the
    // default fills them (a constant default costs no rewrite of the tables). The functions
    // change their signatures again, so they are dropped and made again.
    sql: (s: string) => `
      ALTER TABLE ${s}.entities ADD COLUMN state_version integer NOT NULL DEFAULT 1;
      ALTER TABLE ${s}.journal ADD COLUMN state_version integer NOT NULL DEFAULT 1,
                               ADD COLUMN event_version integer NOT NULL DEFAULT 1;
      ALTER TABLE ${s}.timers ADD COLUMN event_version integer NOT NULL DEFAULT 1;
      DROP FUNCTION ${s}.drover_load(text, text, text);
      DROP FUNCTION ${s}.drover_commit(text[], text[], text[], text[], text[], bigint[], bigint[], json[], json[],
        text[], json[], json[], int[], text[], json[], int[], text[], json[], bigint[], bigint, text, text);
      ${loadFunction(s, { stateName: true, versions: true })}
      ${commitFunction(s, { stateName: true, versions: true, traceParent: false })}
    `,
  },
  {
    version: 4,
    name: "a lone step commits without the batch loop",
    // drover_commit's per-step loop over an array of every column cost ~0.1 ms a step more than
    // the hand-written statement with one caller (bench/); a lone accepted step now goes
    // through drover_commit_one. No table changes: every row is written as before.
    sql: (s: string) => commitOneFunction(s, { traceParent: false }),
  },
  {
    version: 5,
    name: "outbox rows and timers keep the trace of their step",
    // The W3C traceparent of the step that wrote a row, so that the dispatcher's attempt and the
    // timer's firing, minutes later or in another process, continue the step's trace. Nullable:
    // rows written before, and steps that were not traced, have none; adding it rewrites no table.
    // Both commit functions take it (one more argument), so new ones are made. Those of version 4
    // stay beside them, as overloads PostgreSQL tells apart by their arguments (every call casts
    // each one): processes still running the previous @drover/postgres keep committing, without
    // traces, until they are replaced. A later migration that changes what they write drops them
    // by signature, as migrations 2 and 3 did.
    sql: (s: string) => `
      ALTER TABLE ${s}.outbox ADD COLUMN trace_parent text;
      ALTER TABLE ${s}.timers ADD COLUMN trace_parent text;
      ${commitFunction(s, { stateName: true, versions: true, traceParent: true })}
      ${commitOneFunction(s, { traceParent: true })}
    `,
  },
  {
    version: 6,
    name: "timer keys, cancelled and dead timers, paused intent types, concurrency slots, rate buckets",
    // Timers keep the key their machine gave them (NULL: none, as every row written before);
    // steps cancel their entity's pending timers by key or id, and a keyed timer replaces the
    // pending one of its key: both look the entity's pending timers up through the partial
    // index timers_pending_by_key. A timer is also `cancelled`, or `dead` once out of attempts.
    // The old status check allows a subset of the new one, so no row can fail it (the check
    // still reads the table once, as the index build does). New commit functions take the keys
    // and the cancels (two arguments more each); those of versions 4 and 5 stay beside them, as
    // overloads, for processes still running older code (their timers have no key, and they
    // cancel nothing). The intent controls are shared by every process on the schema: paused
    // intent types (the claim skips their pending rows), concurrency slots (one row per holder
    // of a key) and token buckets (one row per key), the last two through their functions.
    sql: (s: string) => `
      ALTER TABLE ${s}.timers ADD COLUMN timer_key text COLLATE "C";
      ALTER TABLE ${s}.timers DROP CONSTRAINT timers_status_check;
      ALTER TABLE ${s}.timers ADD CONSTRAINT timers_status_check
        CHECK (status IN ('pending', 'fired', 'cancelled', 'dead'));
      CREATE INDEX timers_pending_by_key ON ${s}.timers (machine, entity_id, timer_key) WHERE status = 'pending';

      CREATE TABLE ${s}.paused_intent_types (
        intent_type text COLLATE "C" NOT NULL PRIMARY KEY,
        paused_at   bigint NOT NULL
      );

      CREATE TABLE ${s}.intent_slots (
        slot_key    text COLLATE "C" NOT NULL,
        holder      text COLLATE "C" NOT NULL,
        owner       text   NOT NULL,
        lease_until bigint NOT NULL,
        PRIMARY KEY (slot_key, holder)
      );

      CREATE TABLE ${s}.rate_buckets (
        bucket_key text COLLATE "C" NOT NULL PRIMARY KEY,
        tokens     double precision NOT NULL,
        updated_at bigint NOT NULL
      );

      ${commitFunction(s, { stateName: true, versions: true, traceParent: true, timerKeys: true })}
      ${commitOneFunction(s, { traceParent: true, timerKeys: true })}
      ${intentControlFunctions(s)}
    `,
  },
  {
    version: 7,
    name: "the HTTP API's tokens, shared by every process",
    // Bearer tokens live with the data when processes share it, so that a token minted for one
    // works on all: only their SHA-256 digest is kept, never the token. A revoked token keeps its
    // row (revoked_at set): its id is never reused, and importing an old tokens.json again cannot
    // bring it back. api_token_changes is one row whose version every change moves on in its own
    // transaction (the row lock also puts concurrent changes in one order); processes poll it,
    // one row read, and reload the tokens only when it moved. Two new tables, nothing rewritten.
    sql: (s: string) => `
      CREATE TABLE ${s}.api_tokens (
        id         text COLLATE "C" NOT NULL PRIMARY KEY,
        name       text,
        scopes     text[] NOT NULL CHECK (cardinality(scopes) > 0),
        digest     text COLLATE "C" NOT NULL UNIQUE CHECK (digest ~ '^[0-9a-f]{64}$'),
        created_at bigint NOT NULL,
        revoked_at bigint
      );

      CREATE TABLE ${s}.api_token_changes (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        version  bigint NOT NULL
      );
      INSERT INTO ${s}.api_token_changes (only_row, version) VALUES (true, 0);
    `,
  },
]);

/** What {@link migrate} did. */
export interface MigrationReport {
  /** The schema version before. 0 for a new schema. */
  readonly from: number;
  /** The schema version now. */
  readonly to: number;
  /** The versions applied by this call, oldest first. */
  readonly applied: readonly number[];
}

/** The advisory lock every migrating process takes: one key per schema, drover's own class id. */
const LOCK_CLASS = hash32("drover_migrations");

/**
 * Bring `schema` (created if missing) up to the newest known version, in one transaction that
 * first takes a transaction-level advisory lock: processes starting together migrate one after
 * the other, and the later ones find nothing left to do. A failure rolls everything back,
 * leaving the previous version. Refuses a schema written by newer code.
 */
export async function migrate(
  client: pg.ClientBase,
  schema: string,
  list: readonly Migration[] = migrations,
): Promise<MigrationReport> {
  checkSequence(list);
  const latest = list.at(-1)?.version ?? 0;
  const s = quoteIdent(schema);
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_CLASS, hash32(schema)]);
    // Look first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
    const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.drover_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
    );
    const current = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.drover_migrations`);
    const from = current.rows[0]?.v ?? 0;
    if (from > latest) {
      throw new ConfigurationError(
        `the PostgreSQL schema ${s} has drover schema version ${from}, but this @drover/postgres knows versions ` +
          `up to ${latest}; upgrade @drover/postgres to the version that wrote it, or use another schema`,
      );
    }
    const applied: number[] = [];
    for (const migration of list) {
      if (migration.version <= from) continue;
      await client.query(migration.sql(s));
      await client.query(`INSERT INTO ${s}.drover_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [
        migration.version,
        migration.name,
        Date.now(),
      ]);
      applied.push(migration.version);
    }
    await client.query("COMMIT");
    return { from, to: Math.max(from, latest), applied };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
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
