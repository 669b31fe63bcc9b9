import { jsonClone } from "./json.js";
import { free, leasedTo, leaseFree, renew, settle } from "./memory-leases.js";
import type { AttemptFailure, ClaimQuery, LeaseRelease, OutboxQuery, OutboxRecord } from "./ports.js";
import { noOutboxRows, OutboxStatus } from "./ports.js";

/**
 * The outbox table of the {@link MemoryStore}: its rows by intent id, with their claims in
 * entity order, settles, lists and stats. The store checks that it is open; values come in
 * already serialised and go out copied.
 */
export class MemoryOutbox {
  readonly #outbox = new Map<string, OutboxRecord>();

  has(intentId: string): boolean {
    return this.#outbox.has(intentId);
  }

  add(rows: readonly OutboxRecord[]): void {
    for (const row of rows) this.#outbox.set(row.intentId, row);
  }

  list(query: OutboxQuery): OutboxRecord[] {
    const rows = [...this.#outbox.values()].filter((row) => query.status === undefined || row.status === query.status);
    return jsonClone(rows.slice(0, query.limit ?? rows.length));
  }

  find(intentId: string): OutboxRecord | undefined {
    const row = this.#outbox.get(intentId);
    return row === undefined ? undefined : jsonClone(row);
  }

  stats(): Record<OutboxStatus, number> {
    const stats = noOutboxRows();
    for (const row of this.#outbox.values()) stats[row.status]++;
    return stats;
  }

  /** Claim due rows, skipping those of a paused intent type. */
  claim(query: ClaimQuery, isPaused: (intentType: string) => boolean): OutboxRecord[] {
    const limit = Math.floor(query.limit);
    const claimed: OutboxRecord[] = [];
    // Only the oldest pending row of an entity may run: later ones wait behind it.
    const blocked = new Set<string>();
    for (const row of this.#outbox.values()) {
      if (claimed.length >= limit) break;
      if (row.status !== OutboxStatus.Pending) continue;
      const entity = `${row.machine}\u0000${row.entityId}`;
      if (blocked.has(entity)) continue;
      blocked.add(entity);
      if (isPaused((row.intent as { type?: unknown }).type as string)) continue;
      if (row.nextAttemptAt > query.now || !leaseFree(row, query.now)) continue;
      const leased = leasedTo(row, query);
      this.#outbox.set(row.intentId, leased);
      claimed.push(jsonClone(leased));
    }
    return claimed;
  }

  complete(intentId: string, owner: string): boolean {
    return settle(this.#outbox, intentId, owner, OutboxStatus.Pending, () => ({ status: OutboxStatus.Done }));
  }

  fail(intentId: string, owner: string, failure: AttemptFailure): boolean {
    return settle(this.#outbox, intentId, owner, OutboxStatus.Pending, (row) => ({
      attempts: failure.counts === false ? row.attempts - 1 : row.attempts,
      status: failure.retryAt === null ? OutboxStatus.Dead : OutboxStatus.Pending,
      nextAttemptAt: failure.retryAt ?? row.nextAttemptAt,
      lastError: failure.error,
    }));
  }

  retryDead(intentId: string, now: number): boolean {
    const row = this.#outbox.get(intentId);
    if (row === undefined || row.status !== OutboxStatus.Dead) return false;
    this.#outbox.set(intentId, {
      ...row,
      status: OutboxStatus.Pending,
      attempts: 0,
      nextAttemptAt: now,
      leaseOwner: null,
      leaseUntil: null,
    });
    return true;
  }

  renewLeases(owner: string, intentIds: readonly string[], until: number): string[] {
    return renew(this.#outbox, OutboxStatus.Pending, owner, intentIds, until);
  }

  releaseLeases(release: LeaseRelease): number {
    return free(this.#outbox, OutboxStatus.Pending, release);
  }
}
