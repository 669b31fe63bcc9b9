import type { Claimed, OutboxRow } from "@drover/core/sql";
import type { ClaimParams, Statements } from "./statements.js";

/**
 * The outbox claim: walk the pending rows in commit order (the partial index `outbox_pending`)
 * and lease the first `limit` that are due and unleased and are the oldest pending row of
 * their entity — a later intent of an entity never runs before an earlier one is done.
 *
 * Walking in commit order is what makes "oldest of its entity" free: an older pending row of
 * the same entity, due or not, leased or not, comes earlier in the walk, so remembering the
 * entities seen answers it. In SQL that needs a `NOT EXISTS` probe per row and an index of the
 * pending rows by entity, one more B-tree written by every step (~15% of batched steps/s in
 * bench/); here it costs a Set. Inside `BEGIN IMMEDIATE` (the caller's), so two connections
 * never lease the same row.
 */
export function claimOutboxRows(sql: Statements, claim: ClaimParams): Claimed<OutboxRow<string>>[] {
  const heads: number[] = [];
  const seen = new Set<string>();
  for (const [seq, machine, entityId, nextAttemptAt, leaseUntil] of sql.pendingHeads.iterate()) {
    // Machine names cannot hold "/", so the pair is unambiguous.
    const entity = `${machine}/${entityId}`;
    if (seen.has(entity)) continue;
    seen.add(entity);
    if (nextAttemptAt <= claim.now && (leaseUntil === null || leaseUntil <= claim.now)) {
      heads.push(seq);
      // Leaving the loop early closes the statement (better-sqlite3 returns the iterator).
      if (heads.length >= claim.limit) break;
    }
  }
  const claimed: Claimed<OutboxRow<string>>[] = [];
  for (const seq of heads) {
    const row = sql.leaseOutbox.get(claim.owner, claim.leaseUntil, seq);
    if (row !== undefined) claimed.push(row);
  }
  return claimed;
}
