import { jsonClone } from "./json.js";
import { free, leasedTo, leaseFree, renew, settle } from "./memory-leases.js";
import type { AttemptFailure, ClaimQuery, EntityRef, LeaseRelease, TimerQuery, TimerRecord } from "./ports.js";
import { noTimerRows, TimerStatus } from "./ports.js";

/**
 * The timer table of the {@link MemoryStore}: its rows by timer id, with their keyed cancels,
 * claims, settles, lists and stats. The store checks that it is open; values come in already
 * serialised and go out copied.
 */
export class MemoryTimers {
  readonly #timers = new Map<string, TimerRecord>();

  has(timerId: string): boolean {
    return this.#timers.has(timerId);
  }

  /** A step's timer writes: its cancels, then its new timers. */
  schedule(ref: EntityRef, cancels: readonly string[], timers: readonly TimerRecord[]): void {
    // Cancels first, then the new timers, each of which replaces a pending one of its key.
    this.#cancel(ref, cancels, true);
    for (const row of timers) {
      // Replacement is by key only: a key that happens to equal a timer id names no timer.
      if (row.key !== null) this.#cancel(ref, [row.key], false);
      this.#timers.set(row.timerId, row);
    }
  }

  /** Cancel the entity's pending timers of these keys (and, `byId`, of these timer ids). */
  #cancel(ref: EntityRef, names: readonly string[], byId: boolean): void {
    if (names.length === 0) return;
    for (const timer of this.#timers.values()) {
      if (timer.status !== TimerStatus.Pending || timer.machine !== ref.machine || timer.entityId !== ref.id) continue;
      if ((byId && names.includes(timer.timerId)) || (timer.key !== null && names.includes(timer.key))) {
        this.#timers.set(timer.timerId, {
          ...timer,
          status: TimerStatus.Cancelled,
          leaseOwner: null,
          leaseUntil: null,
        });
      }
    }
  }

  list(query: TimerQuery): TimerRecord[] {
    const { status, entity } = query;
    const rows = [...this.#timers.values()]
      .filter(
        (t) =>
          (status === undefined || t.status === status) &&
          (entity === undefined || (t.machine === entity.machine && t.entityId === entity.id)),
      )
      .sort((a, b) => a.dueAt - b.dueAt || (a.timerId < b.timerId ? -1 : a.timerId > b.timerId ? 1 : 0));
    return jsonClone(rows.slice(0, query.limit ?? rows.length));
  }

  find(timerId: string): TimerRecord | undefined {
    const timer = this.#timers.get(timerId);
    return timer === undefined ? undefined : jsonClone(timer);
  }

  stats(): Record<TimerStatus, number> {
    const stats = noTimerRows();
    for (const row of this.#timers.values()) stats[row.status]++;
    return stats;
  }

  claim(query: ClaimQuery): TimerRecord[] {
    const due = [...this.#timers.values()]
      .filter((t) => t.status === TimerStatus.Pending && t.nextAttemptAt <= query.now && leaseFree(t, query.now))
      .sort((a, b) => a.dueAt - b.dueAt)
      .slice(0, Math.max(0, Math.floor(query.limit)));
    return due.map((timer) => {
      const leased = leasedTo(timer, query);
      this.#timers.set(timer.timerId, leased);
      return jsonClone(leased);
    });
  }

  complete(timerId: string, owner: string): boolean {
    return settle(this.#timers, timerId, owner, TimerStatus.Pending, () => ({ status: TimerStatus.Fired }));
  }

  fail(timerId: string, owner: string, failure: AttemptFailure): boolean {
    return settle(this.#timers, timerId, owner, TimerStatus.Pending, (timer) => ({
      attempts: failure.counts === false ? timer.attempts - 1 : timer.attempts,
      status: failure.retryAt === null ? TimerStatus.Dead : TimerStatus.Pending,
      nextAttemptAt: failure.retryAt ?? timer.nextAttemptAt,
      lastError: failure.error,
    }));
  }

  retryDead(timerId: string, now: number): boolean {
    const timer = this.#timers.get(timerId);
    if (timer === undefined || timer.status !== TimerStatus.Dead) return false;
    this.#timers.set(timerId, {
      ...timer,
      status: TimerStatus.Pending,
      attempts: 0,
      nextAttemptAt: now,
      leaseOwner: null,
      leaseUntil: null,
    });
    return true;
  }

  renewLeases(owner: string, timerIds: readonly string[], until: number): string[] {
    return renew(this.#timers, TimerStatus.Pending, owner, timerIds, until);
  }

  releaseLeases(release: LeaseRelease): number {
    return free(this.#timers, TimerStatus.Pending, release);
  }
}
