import type { ClaimQuery, LeaseRelease, OutboxRecord, TimerRecord } from "./ports.js";

/** A row claimed by the query's owner: one more attempt, leased until the lease runs out. */
export function leasedTo<R extends OutboxRecord | TimerRecord>(row: R, query: ClaimQuery): R {
  return { ...row, attempts: row.attempts + 1, leaseOwner: query.owner, leaseUntil: query.now + query.leaseMs };
}

/** Settle a leased row as the SQL stores do: only its lease's owner, only while pending; the lease is freed. */
export function settle<R extends OutboxRecord | TimerRecord>(
  rows: Map<string, R>,
  key: string,
  owner: string,
  pending: R["status"],
  settled: (row: R) => Partial<R>,
): boolean {
  const row = rows.get(key);
  if (row === undefined || row.status !== pending || row.leaseOwner !== owner) return false;
  rows.set(key, { ...row, ...settled(row), leaseOwner: null, leaseUntil: null });
  return true;
}

/** Move the leases `owner` still holds among `ids` to `until`; the ids it holds. */
export function renew<R extends OutboxRecord | TimerRecord>(
  rows: Map<string, R>,
  pending: R["status"],
  owner: string,
  ids: readonly string[],
  until: number,
): string[] {
  const held: string[] = [];
  for (const id of new Set(ids)) {
    const row = rows.get(id);
    if (row === undefined || row.status !== pending || row.leaseOwner !== owner) continue;
    rows.set(id, { ...row, leaseUntil: until });
    held.push(id);
  }
  return held;
}

/** Free the pending rows leased to an earlier incarnation of an instance; how many. */
export function free<R extends OutboxRecord | TimerRecord>(
  rows: Map<string, R>,
  pending: R["status"],
  release: LeaseRelease,
): number {
  let freed = 0;
  for (const [id, row] of rows) {
    const owner = row.leaseOwner;
    if (row.status !== pending || owner === null) continue;
    if (!owner.startsWith(release.ownerPrefix) || owner.startsWith(release.keepPrefix)) continue;
    rows.set(id, { ...row, leaseOwner: null, leaseUntil: null });
    freed++;
  }
  return freed;
}

export function leaseFree(row: { readonly leaseUntil: number | null }, now: number): boolean {
  return row.leaseUntil === null || row.leaseUntil <= now;
}
