import { StoreUnavailableError } from "./errors.js";
import { jsonClone } from "./json.js";
import { DecisionKind } from "./machine.js";
import { MemoryIntentControls } from "./memory-intent-controls.js";
import { MemoryOutbox } from "./memory-outbox.js";
import { MemoryTimers } from "./memory-timers.js";
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
import { CommitOutcomeKind, OutboxStatus, TimerStatus } from "./ports.js";
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
  readonly #outbox = new MemoryOutbox();
  readonly #timers = new MemoryTimers();
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
    this.#outbox.add(outbox);
    this.#timers.schedule(step.ref, step.cancelTimers ?? [], timers);
    return { kind: CommitOutcomeKind.Committed };
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
    return this.#outbox.list(query);
  }

  async findOutbox(intentId: string): Promise<OutboxRecord | undefined> {
    this.#open();
    return this.#outbox.find(intentId);
  }

  async outboxStats(): Promise<Record<OutboxStatus, number>> {
    this.#open();
    return this.#outbox.stats();
  }

  async listTimers(query: TimerQuery = {}): Promise<TimerRecord[]> {
    this.#open();
    return this.#timers.list(query);
  }

  async findTimer(timerId: string): Promise<TimerRecord | undefined> {
    this.#open();
    return this.#timers.find(timerId);
  }

  async timerStats(): Promise<Record<TimerStatus, number>> {
    this.#open();
    return this.#timers.stats();
  }

  async claimOutbox(query: ClaimQuery): Promise<OutboxRecord[]> {
    this.#open();
    return this.#outbox.claim(query, (intentType) => this.#controls.isPaused(intentType));
  }

  async completeOutbox(intentId: string, owner: string, _now: number): Promise<boolean> {
    this.#open();
    return this.#outbox.complete(intentId, owner);
  }

  async failOutbox(intentId: string, owner: string, failure: AttemptFailure): Promise<boolean> {
    this.#open();
    return this.#outbox.fail(intentId, owner, failure);
  }

  async retryDead(intentId: string, now: number): Promise<boolean> {
    this.#open();
    return this.#outbox.retryDead(intentId, now);
  }

  async renewOutboxLeases(owner: string, intentIds: readonly string[], until: number): Promise<string[]> {
    this.#open();
    return this.#outbox.renewLeases(owner, intentIds, until);
  }

  async renewTimerLeases(owner: string, timerIds: readonly string[], until: number): Promise<string[]> {
    this.#open();
    return this.#timers.renewLeases(owner, timerIds, until);
  }

  async releaseLeases(release: LeaseRelease): Promise<ReleasedLeases> {
    this.#open();
    return {
      outbox: this.#outbox.releaseLeases(release),
      timers: this.#timers.releaseLeases(release),
    };
  }

  async claimTimers(query: ClaimQuery): Promise<TimerRecord[]> {
    this.#open();
    return this.#timers.claim(query);
  }

  async completeTimer(timerId: string, owner: string, _now: number): Promise<boolean> {
    this.#open();
    return this.#timers.complete(timerId, owner);
  }

  async failTimer(timerId: string, owner: string, failure: AttemptFailure): Promise<boolean> {
    this.#open();
    return this.#timers.fail(timerId, owner, failure);
  }

  async retryDeadTimer(timerId: string, now: number): Promise<boolean> {
    this.#open();
    return this.#timers.retryDead(timerId, now);
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

function key(ref: EntityRef): string {
  return `${ref.machine}\u0000${ref.id}`;
}

function copy<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : jsonClone(value);
}
