import { DecisionKind } from "@drover/core";
import pg from "pg";
import type { EventSource, Timing } from "../measure.js";
import { driveAsync, Latencies, now, timing } from "../measure.js";
import type { PaymentState } from "../payment-machine.js";
import { BENCH_MACHINE } from "../payment-machine.js";
import { PG_TYPES } from "../postgres.js";
import type { StepRows } from "../step-rows.js";
import { stepRows } from "../step-rows.js";
import type { BenchEvent } from "../workload.js";

/** How the raw PostgreSQL contestant runs. */
export interface RawPgOptions {
  /** A database with drover's schema (see `createDroverSchemaPg`). */
  readonly url: string;
  /** Pooled connections, one per caller (1 tx/event only). */
  readonly clients: number;
  /** Events per transaction: 1 is the per-event limit, 100 "raw pg batched" (one client). */
  readonly batch: number;
}

/** Reads the entity and whether the event id is known, in one round trip. */
const LOAD: pg.QueryConfig = {
  name: "raw_load",
  text: `SELECT e.version, e.state, i.event_id IS NOT NULL AS seen
           FROM (SELECT 1) AS one
           LEFT JOIN entities AS e ON e.machine = $1 AND e.id = $2
           LEFT JOIN inbox AS i ON i.event_id = $3`,
};

/**
 * The rows of one accepted step, one statement (so one transaction, one round trip): the
 * entity's write gates the others, which insert from its RETURNING — a failed version check
 * writes nothing and answers 0.
 */
const writeStep = (name: string, move: string): pg.QueryConfig => ({
  name,
  text: `WITH moved AS (${move} RETURNING machine, id, version),
         journal AS (
           INSERT INTO journal (machine, id, version, event_id, event, decision, intents, at)
           SELECT machine, id, version, $5::text, $6::json, $3::json, $7::json, $4::bigint FROM moved),
         inbox AS (
           INSERT INTO inbox (event_id, machine, id, fingerprint, result, at)
           SELECT $5::text, machine, id, $8::text, $9::json, $4::bigint FROM moved),
         outbox AS (
           INSERT INTO outbox (intent_id, machine, entity_id, intent, status, attempts, next_attempt_at, created_at)
           SELECT $10::text, machine, id, $11::json, 'pending', 0, $4::bigint, $4::bigint FROM moved)
         SELECT count(*)::int AS n FROM moved`,
});
const CREATE = writeStep(
  "raw_create",
  `INSERT INTO entities (machine, id, version, state, created_at, updated_at)
   VALUES ($1::text, $2::text, 1, $3::json, $4::bigint, $4::bigint) ON CONFLICT DO NOTHING`,
);
const UPDATE = writeStep(
  "raw_update",
  `UPDATE entities SET version = version + 1, state = $3::json, updated_at = $4::bigint
    WHERE machine = $1::text AND id = $2::text AND version = $12::bigint`,
);
const REJECT: pg.QueryConfig = {
  name: "raw_reject",
  text: "INSERT INTO inbox (event_id, machine, id, fingerprint, result, at) VALUES ($1, $2, $3, $4, $5, $6)",
};

/**
 * The loads of a batch: one row per event, in order. Unnamed, so planned for its arguments
 * every time: a named statement's plan made generic while the inbox was empty would keep
 * scanning it (FACTS' trap); planning this join costs little.
 */
const LOAD_MANY: pg.QueryConfig = {
  text: `SELECT e.version, e.state, i.event_id IS NOT NULL AS seen
           FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(id, event_id, n)
           LEFT JOIN entities AS e ON e.machine = $1 AND e.id = u.id
           LEFT JOIN inbox AS i ON i.event_id = u.event_id
          ORDER BY u.n`,
};

/**
 * A batch's rows: array arguments, one statement, so one transaction; outbox rows inserted in
 * event order. If a version check fails (an entity created or moved meanwhile), the last line
 * divides by zero: the statement fails and nothing of it is written. Named: its plan (index
 * lookups and inserts, nothing that scans the inbox) is made once per connection.
 */
const WRITE_MANY: pg.QueryConfig = {
  name: "raw_write_many",
  text: `WITH created AS (
           INSERT INTO entities (machine, id, version, state, created_at, updated_at)
           SELECT $1, u.id, u.version, u.state, u.created_at, u.updated_at
             FROM unnest($2::text[], $3::bigint[], $4::json[], $5::bigint[], $6::bigint[])
                  AS u(id, version, state, created_at, updated_at)
           ON CONFLICT DO NOTHING RETURNING 1),
         updated AS (
           UPDATE entities AS e SET version = u.version, state = u.state, updated_at = u.updated_at
             FROM unnest($7::text[], $8::bigint[], $9::bigint[], $10::json[], $11::bigint[])
                  AS u(id, expected, version, state, updated_at)
            WHERE e.machine = $1 AND e.id = u.id AND e.version = u.expected
           RETURNING 1),
         journal AS (
           INSERT INTO journal (machine, id, version, event_id, event, decision, intents, at)
           SELECT $1, u.id, u.version, u.event_id, u.event, u.decision, u.intents, u.at
             FROM unnest($12::text[], $13::bigint[], $14::text[], $15::json[], $16::json[], $17::json[], $18::bigint[])
                  AS u(id, version, event_id, event, decision, intents, at)),
         inbox AS (
           INSERT INTO inbox (event_id, machine, id, fingerprint, result, at)
           SELECT u.event_id, $1, u.id, u.fingerprint, u.result, u.at
             FROM unnest($19::text[], $20::text[], $21::text[], $22::json[], $23::bigint[])
                  AS u(event_id, id, fingerprint, result, at)),
         outbox AS (
           INSERT INTO outbox (intent_id, machine, entity_id, intent, status, attempts, next_attempt_at, created_at)
           SELECT u.intent_id, $1, u.id, u.intent, 'pending', 0, u.at, u.at
             FROM unnest($24::text[], $25::text[], $26::json[], $27::bigint[]) WITH ORDINALITY
                  AS u(intent_id, id, intent, at, n)
            ORDER BY u.n)
         SELECT 1 / ((SELECT count(*) FROM created) = $28 AND (SELECT count(*) FROM updated) = $29)::int AS ok`,
};

interface LoadRow {
  readonly version: number | null;
  readonly state: PaymentState | null;
  readonly seen: boolean;
}

/**
 * The PostgreSQL limit: the step drover makes, written by hand with `pg` as a competent
 * engineer would — few round trips, named (prepared) statements, the decision coded by hand.
 * It writes exactly the rows `@drover/postgres` writes, in drover's schema (same JSON text,
 * fingerprint, intent ids, outbox order).
 *
 * One transaction per event: one read (entity and inbox check together), then one statement
 * that writes entity (version-checked), journal, inbox and outbox rows — its own transaction,
 * so two round trips per event, on `clients` pooled connections with as many callers.
 * Batched: per `batch` events, one read for all, then one statement that writes all their
 * rows with array arguments (`unnest`): two round trips and one transaction per batch.
 */
export async function runRawPg(workload: EventSource, options: RawPgOptions): Promise<Timing> {
  const batched = options.batch > 1;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: batched ? 1 : options.clients,
    types: PG_TYPES,
  });
  pool.on("error", () => undefined);
  // A connection that dies while checked out (the scratch database dropped under a stopped
  // run) fails its query; without a listener it would also crash the process.
  const watched = new WeakSet<pg.PoolClient>();
  pool.on("acquire", (client) => {
    if (watched.has(client)) return;
    watched.add(client);
    client.on("error", () => undefined);
  });
  try {
    if (batched) {
      const client = await pool.connect();
      try {
        return await runBatched(client, workload, options.batch);
      } finally {
        client.release();
      }
    }
    const clients = await Promise.all(Array.from({ length: options.clients }, () => pool.connect()));
    try {
      const free = [...clients];
      return await driveAsync(workload, options.clients, stepOn(free));
    } finally {
      for (const client of clients) client.release();
    }
  } finally {
    await pool.end();
  }
}

/**
 * The step on a free connection: borrowed for one step and put back. Each caller has one step
 * in flight at a time, so with N callers and N connections nobody ever waits for one.
 */
function stepOn(free: pg.PoolClient[]): (e: BenchEvent) => Promise<void> {
  return async (e) => {
    const client = free.pop();
    if (client === undefined) throw new Error("raw pg: more callers than connections");
    try {
      await step(client, e);
    } finally {
      free.push(client);
    }
  };
}

async function step(client: pg.PoolClient, e: BenchEvent): Promise<void> {
  const loaded = await client.query<LoadRow>({ ...LOAD, values: [BENCH_MACHINE, e.entity, e.eventId] });
  const row = loaded.rows[0];
  if (row === undefined || row.seen) return;
  const expected = row.version ?? 0;
  const rows = stepRows(e, row.state ?? undefined, expected);
  if (rows.kind === DecisionKind.Rejected) {
    await client.query({
      ...REJECT,
      values: [e.eventId, BENCH_MACHINE, e.entity, rows.fingerprint, rows.result, e.at],
    });
    return;
  }
  const values: unknown[] = [
    BENCH_MACHINE,
    e.entity,
    rows.stateJson,
    e.at,
    e.eventId,
    rows.eventJson,
    rows.intents,
    rows.fingerprint,
    rows.result,
    rows.intentId,
    rows.intent,
  ];
  if (expected > 0) values.push(expected);
  const written = await client.query<{ n: number }>({ ...(expected === 0 ? CREATE : UPDATE), values });
  if (written.rows[0]?.n !== 1) throw new Error(`raw pg: ${e.entity} moved under us`);
}

/** What a batch does to one entity: from the version it was read at to its last step's. */
interface EntityMove {
  readonly id: string;
  readonly expected: number;
  version: number;
  state: PaymentState;
  readonly createdAt: number;
  updatedAt: number;
}

async function runBatched(client: pg.PoolClient, workload: EventSource, size: number): Promise<Timing> {
  const latencies = new Latencies(workload.size);
  let events = 0;
  const started = now();
  for (;;) {
    const batch: BenchEvent[] = [];
    while (batch.length < size) {
      const e = workload.next();
      if (e === undefined) break;
      batch.push(e);
    }
    if (batch.length === 0) break;
    const t0 = now();
    events += batch.length;
    await writeBatch(client, batch);
    // An event is durable when its batch commits: that is its latency.
    const committed = now();
    for (let i = 0; i < batch.length; i++) latencies.add(committed - t0);
  }
  return timing(events, (now() - started) / 1000, latencies);
}

async function writeBatch(client: pg.PoolClient, batch: readonly BenchEvent[]): Promise<void> {
  const loaded = await client.query<LoadRow>({
    ...LOAD_MANY,
    values: [BENCH_MACHINE, batch.map((e) => e.entity), batch.map((e) => e.eventId)],
  });
  // Entities met earlier in the batch are decided on their state after those steps.
  const moves = new Map<string, EntityMove>();
  const stepsOf: { e: BenchEvent; rows: StepRows }[] = [];
  batch.forEach((e, i) => {
    const row = loaded.rows[i];
    if (row === undefined) throw new Error("raw pg: the batch load returned fewer rows than events");
    if (row.seen) return;
    const move = moves.get(e.entity);
    const expected = move?.version ?? row.version ?? 0;
    const state = move?.state ?? row.state ?? undefined;
    const rows = stepRows(e, state, expected);
    stepsOf.push({ e, rows });
    if (rows.kind === DecisionKind.Rejected) return;
    if (move === undefined) {
      moves.set(e.entity, {
        id: e.entity,
        expected,
        version: rows.version,
        state: rows.state,
        createdAt: e.at,
        updatedAt: e.at,
      });
    } else {
      move.version = rows.version;
      move.state = rows.state;
      move.updatedAt = e.at;
    }
  });
  const created = [...moves.values()].filter((m) => m.expected === 0);
  const updated = [...moves.values()].filter((m) => m.expected > 0);
  const accepted = stepsOf.flatMap(({ e, rows }) => (rows.kind === DecisionKind.Accepted ? [{ e, rows }] : []));
  const result = await client
    .query<{ ok: number }>({
      ...WRITE_MANY,
      values: [
        BENCH_MACHINE,
        created.map((m) => m.id),
        created.map((m) => m.version),
        created.map((m) => JSON.stringify(m.state)),
        created.map((m) => m.createdAt),
        created.map((m) => m.updatedAt),
        updated.map((m) => m.id),
        updated.map((m) => m.expected),
        updated.map((m) => m.version),
        updated.map((m) => JSON.stringify(m.state)),
        updated.map((m) => m.updatedAt),
        accepted.map(({ e }) => e.entity),
        accepted.map(({ rows }) => rows.version),
        accepted.map(({ e }) => e.eventId),
        accepted.map(({ rows }) => rows.eventJson),
        accepted.map(({ rows }) => rows.stateJson),
        accepted.map(({ rows }) => rows.intents),
        accepted.map(({ e }) => e.at),
        stepsOf.map(({ e }) => e.eventId),
        stepsOf.map(({ e }) => e.entity),
        stepsOf.map(({ rows }) => rows.fingerprint),
        stepsOf.map(({ rows }) => rows.result),
        stepsOf.map(({ e }) => e.at),
        accepted.map(({ rows }) => rows.intentId),
        accepted.map(({ e }) => e.entity),
        accepted.map(({ rows }) => rows.intent),
        accepted.map(({ e }) => e.at),
        created.length,
        updated.length,
      ],
    })
    .catch((error: unknown) => {
      const moved = error instanceof Error && "code" in error && error.code === "22012";
      throw moved ? new Error("raw pg batched: an entity moved under us, nothing written", { cause: error }) : error;
    });
  if (result.rows[0]?.ok !== 1) throw new Error("raw pg batched: the write answered nothing");
}
