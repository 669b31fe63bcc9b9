import type { ClaimQuery } from "@drover/core";
import { OutboxStatus, TimerStatus } from "@drover/core";
import { settleStatements } from "@drover/core/sql";
import { entityLockSeed, quoteIdent, quoteLiteral, slotLockSeed } from "./identifiers.js";

/**
 * A statement with its name: node-postgres parses it once per connection. The connections run
 * with `plan_cache_mode = force_custom_plan`, so it is still planned for each call's arguments
 * (the generic-plan trap); the hot path's own plans are kept inside `drover_load` and
 * `drover_commit`, where they cannot go wrong (see migrations.ts).
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/** Every statement a store runs, its SQL fixed when the store opens. */
export interface Statements {
  readonly load: Statement;
  readonly loadMany: Statement;
  readonly commit: Statement;
  readonly version: Statement;
  readonly entity: Statement;
  readonly entities: Statement;
  readonly entitiesAfter: Statement;
  readonly entitiesFiltered: Statement;
  readonly entityCounts: Statement;
  readonly stateVersionCounts: Statement;
  readonly lockEntities: Statement;
  readonly rewriteStates: Statement;
  readonly journal: Statement;
  readonly inbox: Statement;
  readonly outbox: Statement;
  readonly outboxByStatus: Statement;
  readonly outboxRow: Statement;
  readonly outboxStats: Statement;
  readonly timers: Statement;
  readonly timerRow: Statement;
  readonly timerStats: Statement;
  readonly claimOutbox: Statement;
  readonly completeOutbox: Statement;
  readonly retryOutbox: Statement;
  readonly buryOutbox: Statement;
  readonly reviveOutbox: Statement;
  readonly claimTimers: Statement;
  readonly completeTimer: Statement;
  readonly retryTimer: Statement;
  readonly buryTimer: Statement;
  readonly reviveTimer: Statement;
  readonly renewOutboxLeases: Statement;
  readonly renewTimerLeases: Statement;
  readonly releaseLeases: Statement;
  readonly pauseIntentType: Statement;
  readonly resumeIntentType: Statement;
  readonly pausedIntentTypes: Statement;
  readonly acquireSlot: Statement;
  readonly releaseSlot: Statement;
  readonly takeToken: Statement;
  readonly schemaVersion: Statement;
  readonly settings: Statement;
}

/** A claim's arguments (now, owner, lease end, limit), or undefined when it asks for no rows. */
export function claimValues(query: ClaimQuery): unknown[] | undefined {
  const limit = Math.floor(query.limit);
  if (!(limit > 0)) return undefined;
  return [query.now, query.owner, query.now + query.leaseMs, limit];
}

/** Where commits announce new outbox rows and timers, and what they say (who committed). */
export interface Notice {
  readonly channel: string;
  readonly payload: string;
}

/**
 * The SQL of a store on `schema`. Table names are qualified (no search_path needed); statuses
 * are literals, so that the planner sees them and the partial index `outbox_pending_by_entity`
 * serves the claim.
 */
export function buildStatements(schema: string, notice: Notice): Statements {
  const s = quoteIdent(schema);
  const entityColumns = "machine, id, version, state, state_name, state_version, created_at, updated_at";
  const outboxColumns =
    "seq, intent_id, machine, entity_id, intent, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at, trace_parent";
  const timerColumns =
    "seq, timer_id, timer_key, machine, entity_id, event, event_version, due_at, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, trace_parent";
  const pending = quoteLiteral(OutboxStatus.Pending);
  const dead = quoteLiteral(OutboxStatus.Dead);
  const timerPending = quoteLiteral(TimerStatus.Pending);
  const timerDead = quoteLiteral(TimerStatus.Dead);
  const lockSeed = entityLockSeed(schema);
  const statement = (name: string, text: string): Statement => Object.freeze({ name: `drover_${name}`, text });

  const settle = settleStatements(`${s}.`, (n) => `$${n}`);
  return Object.freeze({
    // Always one row: NULLs where the entity or the inbox record is missing.
    load: statement("load", `SELECT * FROM ${s}.drover_load($1, $2, $3)`),
    loadMany: statement(
      "load_many",
      `SELECT l.* FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(machine, id, event_id, n)
        CROSS JOIN LATERAL ${s}.drover_load(u.machine, u.id, u.event_id) AS l
        ORDER BY u.n`,
    ),
    // The batch in one call of the schema's drover_commit function (see migrations.ts). Columns
    // that came later are appended to the values (commitValues), so the earlier ones keep their
    // places: the state names ($19) came with schema version 2, the state versions ($20), event
    // versions ($21) and timer event versions ($22) with version 3, the steps' traceparents ($23)
    // with version 5, the timer keys ($24) and the cancels ($25 step, $26 name) with version 6.
    // The function takes each next to its kin: state names and versions after the states, event
    // versions after the events, timer event versions after the timer events, traceparents after
    // the last column of the steps, timer keys after the timer ids, cancels after the timers.
    commit: statement(
      "commit",
      `SELECT c.step AS n, c.written, c.current_version, c.inbox_machine, c.inbox_id,
              c.inbox_fingerprint AS fingerprint, c.inbox_result AS result, c.inbox_at AS at
         FROM ${s}.drover_commit($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                                 $7::bigint[], $8::json[], $21::int[], $9::json[], $19::text[], $20::int[],
                                 $10::json[], $11::json[], $23::text[], $12::int[], $13::text[], $14::json[],
                                 $15::int[], $16::text[], $24::text[], $17::json[], $22::int[], $18::bigint[],
                                 $25::int[], $26::text[], ${lockSeed}, ${quoteLiteral(notice.channel)}, ${quoteLiteral(notice.payload)}) AS c`,
    ),
    version: statement("version", `SELECT version FROM ${s}.entities WHERE machine = $1 AND id = $2`),

    entity: statement("entity", `SELECT ${entityColumns} FROM ${s}.entities WHERE machine = $1 AND id = $2`),
    entities: statement(
      "entities",
      `SELECT ${entityColumns} FROM ${s}.entities WHERE machine = $1 ORDER BY id LIMIT $2`,
    ),
    entitiesAfter: statement(
      "entities_after",
      `SELECT ${entityColumns} FROM ${s}.entities WHERE machine = $1 AND id > $2 ORDER BY id LIMIT $3`,
    ),
    // $2 after, $3 id prefix, $4 state name; NULL: no such filter. The range bound on id keeps the
    // primary key usable; left() does the exact prefix test.
    entitiesFiltered: statement(
      "entities_filtered",
      `SELECT ${entityColumns} FROM ${s}.entities
        WHERE machine = $1 AND ($2::text IS NULL OR id > $2::text) AND id >= coalesce($3::text, '')
          AND ($3::text IS NULL OR left(id, length($3::text)) = $3::text)
          AND ($4::text IS NULL OR state_name = $4::text)
        ORDER BY id LIMIT $5`,
    ),
    entityCounts: statement(
      "entity_counts",
      `SELECT state_name, count(*) AS n FROM ${s}.entities WHERE machine = $1 GROUP BY state_name`,
    ),
    stateVersionCounts: statement(
      "state_version_counts",
      `SELECT state_version, count(*) AS n FROM ${s}.entities WHERE machine = $1 GROUP BY state_version`,
    ),
    // The entities' advisory locks, in key order, as drover_commit takes them: a rewrite then
    // queues with the commits of its entities instead of deadlocking with them on row locks.
    lockEntities: statement(
      "lock_entities",
      `SELECT count(pg_advisory_xact_lock(l.key)) AS n
         FROM (SELECT DISTINCT hashtextextended(u.m || '/' || u.i, ${lockSeed}) AS key
                 FROM unnest($1::text[], $2::text[]) AS u(m, i) ORDER BY 1) AS l`,
    ),
    // $1–$6: one array per column of the rewrites; returns the (1-based) positions applied.
    // Only an entity still at the given version and at an older state version is rewritten.
    rewriteStates: statement(
      "rewrite_states",
      `UPDATE ${s}.entities AS e SET state = r.state, state_name = r.state_name, state_version = r.state_version
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::json[], $5::text[], $6::int[])
              WITH ORDINALITY AS r(machine, id, version, state, state_name, state_version, n)
        WHERE e.machine = r.machine AND e.id = r.id AND e.version = r.version AND e.state_version < r.state_version
       RETURNING r.n`,
    ),
    journal: statement(
      "journal",
      `SELECT machine, id, version, event_id, event, event_version, decision, state_version, intents, at FROM ${s}.journal
        WHERE machine = $1 AND id = $2 ORDER BY version`,
    ),
    inbox: statement(
      "inbox",
      `SELECT event_id, machine, id, fingerprint, result, at FROM ${s}.inbox WHERE event_id = $1`,
    ),
    // LIMIT NULL is PostgreSQL for "no limit".
    outbox: statement("outbox", `SELECT ${outboxColumns} FROM ${s}.outbox ORDER BY seq LIMIT $1`),
    outboxByStatus: statement(
      "outbox_by_status",
      `SELECT ${outboxColumns} FROM ${s}.outbox WHERE status = $1 ORDER BY seq LIMIT $2`,
    ),
    outboxRow: statement("outbox_row", `SELECT ${outboxColumns} FROM ${s}.outbox WHERE intent_id = $1`),
    outboxStats: statement("outbox_stats", `SELECT status, count(*) AS n FROM ${s}.outbox GROUP BY status`),
    // $1 status, $2 and $3 the entity's machine and id; NULL: no such filter. $4 the limit (NULL: none).
    timers: statement(
      "timers",
      `SELECT ${timerColumns} FROM ${s}.timers
        WHERE ($1::text IS NULL OR status = $1::text)
          AND ($2::text IS NULL OR (machine = $2::text AND entity_id = $3::text))
        ORDER BY due_at, timer_id LIMIT $4`,
    ),
    timerRow: statement("timer_row", `SELECT ${timerColumns} FROM ${s}.timers WHERE timer_id = $1`),
    timerStats: statement("timer_stats", `SELECT status, count(*) AS n FROM ${s}.timers GROUP BY status`),

    // Due, unleased (or lease expired), and no older pending row of the same entity, whether
    // that one is due, leased, backing off or paused: an entity's intents run in commit order.
    // A row whose intent type is paused is passed over (not leased, its attempts untouched)
    // but, pending, still holds back its entity's later rows. While nothing is paused, the
    // uncorrelated EXISTS is evaluated once (an InitPlan) and the OR stops there, so no
    // intent's JSON is read. SKIP LOCKED passes over rows another claimer is leasing right
    // now; once it commits, the lease it wrote keeps them out (the row is re-checked after the
    // lock is taken).
    claimOutbox: statement(
      "claim_outbox",
      `WITH due AS (
         SELECT o.seq FROM ${s}.outbox AS o
          WHERE o.status = ${pending} AND o.next_attempt_at <= $1
            AND (o.lease_until IS NULL OR o.lease_until <= $1)
            AND NOT EXISTS (
              SELECT 1 FROM ${s}.outbox AS older
               WHERE older.status = ${pending} AND older.machine = o.machine
                 AND older.entity_id = o.entity_id AND older.seq < o.seq)
            AND (NOT EXISTS (SELECT 1 FROM ${s}.paused_intent_types)
                 OR NOT EXISTS (SELECT 1 FROM ${s}.paused_intent_types AS p WHERE p.intent_type = o.intent ->> 'type'))
          ORDER BY o.seq LIMIT $4
          FOR UPDATE SKIP LOCKED
       )
       UPDATE ${s}.outbox AS o SET attempts = o.attempts + 1, lease_owner = $2, lease_until = $3
         FROM due WHERE o.seq = due.seq
       RETURNING ${prefixed("o", outboxColumns)}`,
    ),
    completeOutbox: statement("complete_outbox", settle.outbox.complete),
    retryOutbox: statement("retry_outbox", settle.outbox.retry),
    buryOutbox: statement(
      "bury_outbox",
      `UPDATE ${s}.outbox SET status = ${dead}, last_error = $1, lease_owner = NULL, lease_until = NULL
        WHERE intent_id = $2 AND lease_owner = $3 AND status = ${pending}`,
    ),
    // The last error stays, to show what killed the row before.
    reviveOutbox: statement(
      "revive_outbox",
      `UPDATE ${s}.outbox
          SET status = ${pending}, attempts = 0, next_attempt_at = $1, lease_owner = NULL, lease_until = NULL
        WHERE intent_id = $2 AND status = ${dead}`,
    ),
    claimTimers: statement(
      "claim_timers",
      `WITH due AS (
         SELECT timer_id FROM ${s}.timers
          WHERE status = ${timerPending} AND next_attempt_at <= $1
            AND (lease_until IS NULL OR lease_until <= $1)
          ORDER BY due_at, seq LIMIT $4
          FOR UPDATE SKIP LOCKED
       )
       UPDATE ${s}.timers AS t SET attempts = t.attempts + 1, lease_owner = $2, lease_until = $3
         FROM due WHERE t.timer_id = due.timer_id
       RETURNING ${prefixed("t", timerColumns)}`,
    ),
    completeTimer: statement("complete_timer", settle.timers.complete),
    retryTimer: statement("retry_timer", settle.timers.retry),
    // Out of attempts: dead, lease freed, its last error kept; an attempt that only waited is
    // given back as in a retry ($2 refund).
    buryTimer: statement(
      "bury_timer",
      `UPDATE ${s}.timers SET status = ${timerDead}, last_error = $1, attempts = attempts - $2,
              lease_owner = NULL, lease_until = NULL
        WHERE timer_id = $3 AND lease_owner = $4 AND status = ${timerPending}`,
    ),
    // The last error stays, to show what killed the timer before.
    reviveTimer: statement(
      "revive_timer",
      `UPDATE ${s}.timers
          SET status = ${timerPending}, attempts = 0, next_attempt_at = $1, lease_owner = NULL, lease_until = NULL
        WHERE timer_id = $2 AND status = ${timerDead}`,
    ),
    // The heartbeat: $1 until, $2 owner, $3 ids. Answers the ids the owner still holds.
    renewOutboxLeases: statement(
      "renew_outbox_leases",
      `UPDATE ${s}.outbox SET lease_until = $1
        WHERE lease_owner = $2 AND status = ${pending} AND intent_id = ANY($3::text[])
        RETURNING intent_id AS id`,
    ),
    renewTimerLeases: statement(
      "renew_timer_leases",
      `UPDATE ${s}.timers SET lease_until = $1
        WHERE lease_owner = $2 AND status = ${timerPending} AND timer_id = ANY($3::text[])
        RETURNING timer_id AS id`,
    ),
    // At start: free the leases of an instance's earlier incarnations ($1 its owner prefix,
    // $2 the running incarnation's), both tables in one statement; a notice wakes every
    // process's dispatcher and scheduler, since the rows are claimable now. starts_with, not
    // LIKE: an instance name may hold LIKE's wildcards.
    releaseLeases: statement(
      "release_leases",
      `WITH outbox_freed AS (
         UPDATE ${s}.outbox SET lease_owner = NULL, lease_until = NULL
          WHERE status = ${pending} AND starts_with(lease_owner, $1) AND NOT starts_with(lease_owner, $2)
          RETURNING 1),
            timers_freed AS (
         UPDATE ${s}.timers SET lease_owner = NULL, lease_until = NULL
          WHERE status = ${timerPending} AND starts_with(lease_owner, $1) AND NOT starts_with(lease_owner, $2)
          RETURNING 1),
            counted AS (SELECT (SELECT count(*) FROM outbox_freed)::int AS outbox, (SELECT count(*) FROM timers_freed)::int AS timers),
            notified AS (
         SELECT pg_notify(${quoteLiteral(notice.channel)}, ${quoteLiteral(notice.payload)}) FROM counted
          WHERE outbox + timers > 0)
       SELECT outbox, timers, (SELECT count(*) FROM notified)::int AS notified FROM counted`,
    ),
    pauseIntentType: statement(
      "pause_intent_type",
      `INSERT INTO ${s}.paused_intent_types (intent_type, paused_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    ),
    // A resumed type's rows are claimable at once: the notice wakes the other processes' dispatchers.
    resumeIntentType: statement(
      "resume_intent_type",
      `WITH resumed AS (DELETE FROM ${s}.paused_intent_types WHERE intent_type = $1 RETURNING 1),
            notified AS (SELECT pg_notify(${quoteLiteral(notice.channel)}, ${quoteLiteral(notice.payload)}) FROM resumed LIMIT 1)
       SELECT (SELECT count(*) FROM resumed)::int AS n, (SELECT count(*) FROM notified)::int AS notified`,
    ),
    pausedIntentTypes: statement(
      "paused_intent_types",
      `SELECT intent_type, paused_at FROM ${s}.paused_intent_types ORDER BY intent_type`,
    ),
    // $1 key, $2 limit, $3 holder, $4 owner, $5 now, $6 lease end (see intentControlFunctions).
    acquireSlot: statement(
      "acquire_slot",
      `SELECT ${s}.drover_acquire_slot($1::text, $2::int, $3::text, $4::text, $5::bigint, $6::bigint, ${slotLockSeed(schema)}) AS held`,
    ),
    releaseSlot: statement("release_slot", `DELETE FROM ${s}.intent_slots WHERE slot_key = $1 AND holder = $2`),
    // $1 key, $2 per second, $3 burst, $4 now.
    takeToken: statement(
      "take_token",
      `SELECT ${s}.drover_take_token($1::text, $2::float8, $3::float8, $4::bigint) AS wait`,
    ),
    schemaVersion: statement("schema_version", `SELECT max(version) AS v FROM ${s}.drover_migrations`),
    settings: statement(
      "settings",
      "SELECT current_setting('server_version') AS server_version, current_setting('plan_cache_mode') AS plan_cache_mode",
    ),
  });
}

/** `a, b` → `o.a, o.b`. */
function prefixed(alias: string, columns: string): string {
  return columns
    .split(",")
    .map((column) => `${alias}.${column.trim()}`)
    .join(", ");
}
