import type { StateRewrite } from "@drover/core";
import type pg from "pg";
import type { ConnectionPool } from "./connection-pool.js";
import type { Statements } from "./statements.js";
import { json } from "./step-batch.js";

/** A rewrite with its state serialised. */
interface Prepared {
  readonly rewrite: StateRewrite;
  readonly state: string;
}

/**
 * Apply `rewrites` in one transaction (see `UnitOfWork.rewriteStates`): `true` for each
 * applied, in input order. Every state is serialised before a connection is borrowed, so a
 * value JSON refuses fails the whole call and writes nothing; no rewrites, no round trip.
 *
 * The entities' advisory locks are taken first, in key order, as `drover_commit` takes them:
 * a rewrite queues behind (or ahead of) the commits of its entities rather than deadlocking
 * with them over row locks, and the version check then reads the latest committed version.
 */
export async function rewriteStates(
  db: ConnectionPool,
  sql: Statements,
  rewrites: readonly StateRewrite[],
): Promise<boolean[]> {
  db.live();
  if (rewrites.length === 0) return [];
  const prepared = rewrites.map((rewrite) => ({ rewrite, state: json(rewrite.state) }));
  return db.withClient("rewriting states", (client) => applyRewrites(client, sql, prepared));
}

async function applyRewrites(
  client: pg.ClientBase,
  sql: Statements,
  prepared: readonly Prepared[],
): Promise<boolean[]> {
  const rewrites = prepared.map((item) => item.rewrite);
  // One statement sees none of its own updates: a ref given twice is applied one rewrite at a
  // time, in order, so that the second is checked against the first (as MemoryStore does).
  const groups = distinctRefs(rewrites) ? [prepared.map((_, i) => i)] : prepared.map((_, i) => [i]);
  const applied = new Set<number>();
  await client.query("BEGIN");
  try {
    await client.query({
      ...sql.lockEntities,
      values: [rewrites.map((r) => r.ref.machine), rewrites.map((r) => r.ref.id)],
    });
    for (const group of groups) {
      const result = await client.query<{ n: number }>({ ...sql.rewriteStates, values: columns(group, prepared) });
      for (const row of result.rows) {
        const index = group[row.n - 1];
        if (index !== undefined) applied.add(index);
      }
    }
    await client.query("COMMIT");
  } catch (error) {
    // If even ROLLBACK fails the connection is gone, and with it the transaction.
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
  return rewrites.map((_, i) => applied.has(i));
}

function distinctRefs(rewrites: readonly StateRewrite[]): boolean {
  return new Set(rewrites.map((r) => JSON.stringify([r.ref.machine, r.ref.id]))).size === rewrites.length;
}

/** The statement's arrays (machines, ids, versions, states, state names, state versions) for `group`. */
function columns(group: readonly number[], prepared: readonly Prepared[]): unknown[] {
  const items = group.map((i) => prepared[i]).filter((item): item is Prepared => item !== undefined);
  return [
    items.map((item) => item.rewrite.ref.machine),
    items.map((item) => item.rewrite.ref.id),
    items.map((item) => item.rewrite.version),
    items.map((item) => item.state),
    items.map((item) => item.rewrite.stateName),
    items.map((item) => item.rewrite.stateVersion),
  ];
}
