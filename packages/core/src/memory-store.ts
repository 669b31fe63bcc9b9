import { StoreUnavailableError } from "./errors.js";
import { jsonClone } from "./json.js";
import { DecisionKind } from "./machine.js";
import { MemoryIntentControls } from "./memory-intent-controls.js";
import type {
  AttemptFailure,
  ClaimQuery,
  CommitOutcome,
  EntityCount,
  EntityRef,
  InboxRecord,
  JournalEntry,
  LeaseRelease,
  ListQuery,
  LoadResult,
  OutboxQuery,
  OutboxRecord,
  PausedIntentType,
  ReleasedLeases,
  SlotRequest,
  StateRewrite,
  StateVersionCount,
  StepWrite,
  Store,
  StoredEntity,
  TimerQuery,
  TimerRecord,
  TokenRequest,
} from "./ports.js";
import { CommitOutcomeKind, noOutboxRows, noTimerRows, OutboxStatus, TimerStatus } from "./ports.js";
import { byStateName } from "./state-name.js";

/**
 * The reference {@link Store}: everything in memory, gone when the process ends. Values go
 * through JSON on the way in and out, as they would with a database, so nothing aliases.
 *
 * @example
 * const runtime = new Runtime({ store: new MemoryStore(), machines: [doors] });
 */
export class MemoryStore implements Store {
  readonly #entities = new Map<string, StoredEntity>();
  readonly #journal = new Map<string, JournalEntry[]>();
  readonly #inbox = new Map<string, InboxRecord>();
  readonly #outbox = new Map<string, OutboxRecord>();
  readonly #timers = new Map<string, TimerRecord>();
  readonly #controls = new MemoryIntentControls();
  #closed = false;

  async load(ref: EntityRef, eventId: string): Promise<LoadResult> {
    this.#open();
    return { entity: copy(this.#entities.get(key(ref))), inbox: copy(this.#inbox.get(eventId)) };
  }

  async commit(steps: readonly StepWrite[]): Promise<CommitOutcome[]> {
    this.#open();
    return steps.map((step) => {
      try {
        return this.#apply(step);
      } catch (error) {
        return { kind: CommitOutcomeKind.Failed, error };
      }
    });
  }

  /** Check every constraint first, then write: a step is all or nothing. */
  #apply(step: StepWrite): CommitOutcome {
    const seen = this.#inbox.get(step.eventId);
    if (seen !== undefined) return { kind: CommitOutcomeKind.Duplicate, record: jsonClone(seen) };
    const k = key(step.ref);
    const current = this.#entities.get(k);
    const currentVersion = current?.version ?? 0;
    if (currentVersion !== step.expectedVersion) return { kind: CommitOutcomeKind.Conflict, currentVersion };

    const inbox: InboxRecord = jsonClone({
      eventId: step.eventId,
      machine: step.ref.machine,
      id: step.ref.id,
      fingerprint: step.fingerprint,
      result: step.result,
      at: step.at,
    });
    if (step.kind === DecisionKind.Rejected) {
      this.#inbox.set(step.eventId, inbox);
      return { kind: CommitOutcomeKind.Committed };
    }

    const ids = new Set<string>();
    for (const item of step.outbox) {
      if (this.#outbox.has(item.intentId) || ids.has(item.intentId)) {
        throw new Error(`outbox: duplicate intent id ${item.intentId}`);
      }
      ids.add(item.intentId);
    }
    for (const item of step.timers) {
      if (this.#timers.has(item.timerId) || ids.has(item.timerId))
        throw new Error(`timers: duplicate timer id ${item.timerId}`);
      ids.add(item.timerId);
    }
    const version = step.expectedVersion + 1;
    // Serialise everything before touching any map, so a value JSON refuses fails the step whole.
    const entity: StoredEntity = jsonClone({
      machine: step.ref.machine,
      id: step.ref.id,
      version,
      state: step.state,
      stateName: step.stateName,
      stateVersion: step.stateVersion,
      createdAt: current?.createdAt ?? step.at,
      updatedAt: step.at,
    });
    const entry: JournalEntry = jsonClone({
      machine: step.ref.machine,
      id: step.ref.id,
      version,
      eventId: step.eventId,
      event: step.event,
      eventVersion: step.eventVersion,
      state: step.state,
      stateVersion: step.stateVersion,
      intents: step.intents,
      at: step.at,
    });
    const outbox: OutboxRecord[] = step.outbox.map((item) =>
      jsonClone({
        intentId: item.intentId,
        machine: step.ref.machine,
        entityId: step.ref.id,
        intent: item.intent,
        status: OutboxStatus.Pending,
        attempts: 0,
        nextAttemptAt: step.at,
        leaseOwner: null,
        leaseUntil: null,
        lastError: null,
        createdAt: step.at,
        traceParent: step.traceParent ?? null,
      }),
    );
    const timers: TimerRecord[] = step.timers.map((item) =>
      jsonClone({
        timerId: item.timerId,
        key: item.key ?? null,
        machine: step.ref.machine,
        entityId: step.ref.id,
        event: item.event,
        eventVersion: item.eventVersion,
        dueAt: item.dueAt,
        status: TimerStatus.Pending,
        attempts: 0,
        nextAttemptAt: item.dueAt,
        leaseOwner: null,
        leaseUntil: null,
        lastError: null,
        traceParent: step.traceParent ?? null,
      }),
    );

    this.#entities.set(k, entity);
    const journal = this.#journal.get(k) ?? [];
    journal.push(entry);
    this.#journal.set(k, journal);
    this.#inbox.set(step.eventId, inbox);
    for (const row of outbox) this.#outbox.set(row.intentId, row);
    // Cancels first, then the new timers, each of which replaces a pending one of its key.
    this.#cancelTimers(step.ref, step.cancelTimers ?? [], true);
    for (const row of timers) {
      // Replacement is by key only: a key that happens to equal a timer id names no timer.
      if (row.key !== null) this.#cancelTimers(step.ref, [row.key], false);
      this.#timers.set(row.timerId, row);
    }
    return { kind: CommitOutcomeKind.Committed };
  }

  /** Cancel the entity's pending timers of these keys (and, `byId`, of these timer ids). */
  #cancelTimers(ref: EntityRef, names: readonly string[], byId: boolean): void {
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

  async getEntity(ref: EntityRef): Promise<StoredEntity | undefined> {
    this.#open();
    return copy(this.#entities.get(key(ref)));
  }

  async listEntities(machine: string, query: ListQuery): Promise<StoredEntity[]> {
    this.#open();
    const { after, idPrefix, stateName } = query;
    return [...this.#entities.values()]
      .filter(
        (e) =>
          e.machine === machine &&
          (after === undefined || e.id > after) &&
          (idPrefix === undefined || e.id.startsWith(idPrefix)) &&
          (stateName === undefined || e.stateName === stateName),
      )
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, query.limit)
      .map(jsonClone);
  }

  async countEntities(machine: string): Promise<EntityCount[]> {
    this.#open();
    const counts = new Map<string | null, number>();
    for (const entity of this.#entities.values()) {
      if (entity.machine !== machine) continue;
      counts.set(entity.stateName, (counts.get(entity.stateName) ?? 0) + 1);
    }
    return [...counts].map(([stateName, count]) => ({ stateName, count })).sort(byStateName);
  }

  async countStateVersions(machine: string): Promise<StateVersionCount[]> {
    this.#open();
    const counts = new Map<number, number>();
    for (const entity of this.#entities.values()) {
      if (entity.machine === machine) counts.set(entity.stateVersion, (counts.get(entity.stateVersion) ?? 0) + 1);
    }
    return [...counts]
      .map(([stateVersion, count]) => ({ stateVersion, count }))
      .sort((a, b) => a.stateVersion - b.stateVersion);
  }

  async rewriteStates(rewrites: readonly StateRewrite[]): Promise<boolean[]> {
    this.#open();
    // Serialise first, so a value JSON refuses fails the whole call before any row changes.
    const rows = rewrites.map((rewrite) => ({ rewrite, state: jsonClone(rewrite.state) }));
    return rows.map(({ rewrite, state }) => {
      const k = key(rewrite.ref);
      const entity = this.#entities.get(k);
      if (entity === undefined || entity.version !== rewrite.version) return false;
      if (entity.stateVersion >= rewrite.stateVersion) return false;
      this.#entities.set(k, { ...entity, state, stateName: rewrite.stateName, stateVersion: rewrite.stateVersion });
      return true;
    });
  }

  async history(ref: EntityRef): Promise<JournalEntry[]> {
    this.#open();
    return jsonClone(this.#journal.get(key(ref)) ?? []);
  }

  async findInbox(eventId: string): Promise<InboxRecord | undefined> {
    this.#open();
    return copy(this.#inbox.get(eventId));
  }

  async listOutbox(query: OutboxQuery = {}): Promise<OutboxRecord[]> {
    this.#open();
    const rows = [...this.#outbox.values()].filter((row) => query.status === undefined || row.status === query.status);
    return jsonClone(rows.slice(0, query.limit ?? rows.length));
  }

  async findOutbox(intentId: string): Promise<OutboxRecord | undefined> {
    this.#open();
    return copy(this.#outbox.get(intentId));
  }

  async outboxStats(): Promise<Record<OutboxStatus, number>> {
    this.#open();
    const stats = noOutboxRows();
    for (const row of this.#outbox.values()) stats[row.status]++;
    return stats;
  }

  async listTimers(query: TimerQuery = {}): Promise<TimerRecord[]> {
    this.#open();
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

  async findTimer(timerId: string): Promise<TimerRecord | undefined> {
    this.#open();
    return copy(this.#timers.get(timerId));
  }

  async timerStats(): Promise<Record<TimerStatus, number>> {
    this.#open();
    const stats = noTimerRows();
    for (const row of this.#timers.values()) stats[row.status]++;
    return stats;
  }

  async claimOutbox(query: ClaimQuery): Promise<OutboxRecord[]> {
    this.#open();
    const limit = Math.floor(query.limit);
    const claimed: OutboxRecord[] = [];
    // Only the oldest pending row of an entity may run: later ones wait behind it.
    const blocked = new Set<string>();
    for (const row of this.#outbox.values()) {
      if (claimed.length >= limit) break;
      if (row.status !== OutboxStatus.Pending) continue;
      const entity = key({ machine: row.machine, id: row.entityId });
      if (blocked.has(entity)) continue;
      blocked.add(entity);
      if (this.#controls.isPaused((row.intent as { type?: unknown }).type as string)) continue;
      if (row.nextAttemptAt > query.now || !leaseFree(row, query.now)) continue;
      const leased = leasedTo(row, query);
      this.#outbox.set(row.intentId, leased);
      claimed.push(jsonClone(leased));
    }
    return claimed;
  }

  async completeOutbox(intentId: string, owner: string, _now: number): Promise<boolean> {
    return this.#settle(this.#outbox, intentId, owner, OutboxStatus.Pending, () => ({ status: OutboxStatus.Done }));
  }

  async failOutbox(intentId: string, owner: string, failure: AttemptFailure): Promise<boolean> {
    return this.#settle(this.#outbox, intentId, owner, OutboxStatus.Pending, (row) => ({
      attempts: failure.counts === false ? row.attempts - 1 : row.attempts,
      status: failure.retryAt === null ? OutboxStatus.Dead : OutboxStatus.Pending,
      nextAttemptAt: failure.retryAt ?? row.nextAttemptAt,
      lastError: failure.error,
    }));
  }

  async retryDead(intentId: string, now: number): Promise<boolean> {
    this.#open();
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

  async renewOutboxLeases(owner: string, intentIds: readonly string[], until: number): Promise<string[]> {
    this.#open();
    return renew(this.#outbox, OutboxStatus.Pending, owner, intentIds, until);
  }

  async renewTimerLeases(owner: string, timerIds: readonly string[], until: number): Promise<string[]> {
    this.#open();
    return renew(this.#timers, TimerStatus.Pending, owner, timerIds, until);
  }

  async releaseLeases(release: LeaseRelease): Promise<ReleasedLeases> {
    this.#open();
    return {
      outbox: free(this.#outbox, OutboxStatus.Pending, release),
      timers: free(this.#timers, TimerStatus.Pending, release),
    };
  }

  async claimTimers(query: ClaimQuery): Promise<TimerRecord[]> {
    this.#open();
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

  async completeTimer(timerId: string, owner: string, _now: number): Promise<boolean> {
    return this.#settle(this.#timers, timerId, owner, TimerStatus.Pending, () => ({ status: TimerStatus.Fired }));
  }

  async failTimer(timerId: string, owner: string, failure: AttemptFailure): Promise<boolean> {
    return this.#settle(this.#timers, timerId, owner, TimerStatus.Pending, (timer) => ({
      attempts: failure.counts === false ? timer.attempts - 1 : timer.attempts,
      status: failure.retryAt === null ? TimerStatus.Dead : TimerStatus.Pending,
      nextAttemptAt: failure.retryAt ?? timer.nextAttemptAt,
      lastError: failure.error,
    }));
  }

  async retryDeadTimer(timerId: string, now: number): Promise<boolean> {
    this.#open();
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

  async pauseIntentType(intentType: string, now: number): Promise<boolean> {
    this.#open();
    return this.#controls.pause(intentType, now);
  }

  async resumeIntentType(intentType: string): Promise<boolean> {
    this.#open();
    return this.#controls.resume(intentType);
  }

  async listPausedIntentTypes(): Promise<PausedIntentType[]> {
    this.#open();
    return this.#controls.paused();
  }

  async acquireSlot(request: SlotRequest): Promise<boolean> {
    this.#open();
    return this.#controls.acquire(request);
  }

  async releaseSlot(key: string, holder: string): Promise<void> {
    this.#open();
    this.#controls.release(key, holder);
  }

  async takeToken(request: TokenRequest): Promise<number> {
    this.#open();
    return this.#controls.take(request);
  }

  /** Settle a leased row as the SQL stores do: only its lease's owner, only while pending; the lease is freed. */
  #settle<R extends OutboxRecord | TimerRecord>(
    rows: Map<string, R>,
    key: string,
    owner: string,
    pending: R["status"],
    settled: (row: R) => Partial<R>,
  ): boolean {
    this.#open();
    const row = rows.get(key);
    if (row === undefined || row.status !== pending || row.leaseOwner !== owner) return false;
    rows.set(key, { ...row, ...settled(row), leaseOwner: null, leaseUntil: null });
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Nothing to write in memory: ready while open. */
  async probe(): Promise<void> {
    this.#open();
  }

  #open(): void {
    if (this.#closed) throw new StoreUnavailableError("this MemoryStore is closed; create a new one");
  }
}

/** A row claimed by the query's owner: one more attempt, leased until the lease runs out. */
function leasedTo<R extends OutboxRecord | TimerRecord>(row: R, query: ClaimQuery): R {
  return { ...row, attempts: row.attempts + 1, leaseOwner: query.owner, leaseUntil: query.now + query.leaseMs };
}

/** Move the leases `owner` still holds among `ids` to `until`; the ids it holds. */
function renew<R extends OutboxRecord | TimerRecord>(
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
function free<R extends OutboxRecord | TimerRecord>(
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

function leaseFree(row: { readonly leaseUntil: number | null }, now: number): boolean {
  return row.leaseUntil === null || row.leaseUntil <= now;
}

function key(ref: EntityRef): string {
  return `${ref.machine}\u0000${ref.id}`;
}

function copy<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : jsonClone(value);
}
