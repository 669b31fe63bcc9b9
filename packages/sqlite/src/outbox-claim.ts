import type { Claimed, OutboxRow } from "@drover/core/sql";
import type { ClaimParams } from "./claim-params.js";
import type { PendingHead, Statements, TypedPendingHead } from "./statements.js";

/**
 * The outbox claim: walk the pending rows in commit order (the partial index `outbox_pending`)
 * and lease the first `limit` that are due and unleased and are the oldest pending row of
 * their entity — a later intent of an entity never runs before an earlier one is done — and
 * whose intent type is not paused.
 *
 * Walking in commit order is what makes "oldest of its entity" free: an older pending row of
 * the same entity, due or not, leased or not, paused or not, comes earlier in the walk, so
 * remembering the entities seen answers it. In SQL that needs a `NOT EXISTS` probe per row and
 * an index of the pending rows by entity, one more B-tree written by every step (~15% of
 * batched steps/s in bench/); here it costs a Set.
 *
 * The paused intent types are read first, in the same transaction, so that a pause by another
 * process holds from the next claim on. Only while one is paused does the walk read each row's
 * intent for its type: with none paused (the usual case) it costs one lookup in an empty table.
 * Inside `BEGIN IMMEDIATE` (the caller's), so two connections never lease the same row.
 */
export function claimOutboxRows(sql: Statements, claim: ClaimParams): Claimed<OutboxRow<string>>[] {
  const paused = sql.pausedTypeNames.all();
  const heads =
    paused.length === 0
      ? dueHeads(sql.pendingHeads.iterate(), claim)
      : dueHeads(sql.typedPendingHeads.iterate(), claim, new Set(paused));
  const claimed: Claimed<OutboxRow<string>>[] = [];
  for (const seq of heads) {
    const row = sql.leaseOutbox.get(claim.owner, claim.leaseUntil, seq);
    if (row !== undefined) claimed.push(row);
  }
  return claimed;
}

/** The seqs to lease: each entity's first pending row, if due, free and of no paused type, up to the limit. */
function dueHeads(
  walk: IterableIterator<PendingHead | TypedPendingHead>,
  claim: ClaimParams,
  paused?: ReadonlySet<unknown>,
): number[] {
  const heads: number[] = [];
  const seen = new Set<string>();
  for (const [seq, machine, entityId, nextAttemptAt, leaseUntil, intentType] of walk) {
    // Machine names cannot hold "/", so the pair is unambiguous.
    const entity = `${machine}/${entityId}`;
    if (seen.has(entity)) continue;
    // A paused row still holds back its entity's later rows: marked seen before it is skipped.
    seen.add(entity);
    if (paused?.has(intentType) === true) continue;
    if (nextAttemptAt <= claim.now && (leaseUntil === null || leaseUntil <= claim.now)) {
      heads.push(seq);
      // Leaving the loop early closes the statement (better-sqlite3 returns the iterator).
      if (heads.length >= claim.limit) break;
    }
  }
  return heads;
}
