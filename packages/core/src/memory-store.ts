import { StoreUnavailableError } from "./errors.js";
import { jsonClone } from "./json.js";
import type {
  CommitOutcome,
  EntityRef,
  InboxRecord,
  JournalEntry,
  ListQuery,
  LoadResult,
  OutboxQuery,
  OutboxRecord,
  StepWrite,
  Store,
  StoredEntity,
  TimerRecord,
} from "./ports.js";
import { CommitOutcomeKind, OutboxStatus, TimerStatus } from "./ports.js";

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
    if (step.kind === "rejected") {
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
      createdAt: current?.createdAt ?? step.at,
      updatedAt: step.at,
    });
    const entry: JournalEntry = jsonClone({
      machine: step.ref.machine,
      id: step.ref.id,
      version,
      eventId: step.eventId,
      event: step.event,
      state: step.state,
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
      }),
    );
    const timers: TimerRecord[] = step.timers.map((item) =>
      jsonClone({
        timerId: item.timerId,
        machine: step.ref.machine,
        entityId: step.ref.id,
        event: item.event,
        dueAt: item.dueAt,
        status: TimerStatus.Pending,
      }),
    );

    this.#entities.set(k, entity);
    const journal = this.#journal.get(k) ?? [];
    journal.push(entry);
    this.#journal.set(k, journal);
    this.#inbox.set(step.eventId, inbox);
    for (const row of outbox) this.#outbox.set(row.intentId, row);
    for (const row of timers) this.#timers.set(row.timerId, row);
    return { kind: CommitOutcomeKind.Committed };
  }

  async getEntity(ref: EntityRef): Promise<StoredEntity | undefined> {
    this.#open();
    return copy(this.#entities.get(key(ref)));
  }

  async listEntities(machine: string, query: ListQuery): Promise<StoredEntity[]> {
    this.#open();
    const after = query.after;
    return [...this.#entities.values()]
      .filter((e) => e.machine === machine && (after === undefined || e.id > after))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, query.limit)
      .map(jsonClone);
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

  async listTimers(): Promise<TimerRecord[]> {
    this.#open();
    return jsonClone([...this.#timers.values()].sort((a, b) => a.dueAt - b.dueAt));
  }

  async close(): Promise<void> {
    this.#closed = true;
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
