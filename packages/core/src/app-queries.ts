import type {
  EntityCount,
  EntityRef,
  JournalEntry,
  ListQuery,
  OutboxQuery,
  OutboxRecord,
  OutboxStatus,
  PausedIntentType,
  StateVersionCount,
  Store,
  StoredEntity,
  TimerQuery,
  TimerRecord,
  TimerStatus,
} from "./ports.js";

/**
 * The read side of an {@link App}: what the HTTP API, the CLI and the dashboard show.
 * Callers query the app, never its store, so the store stays a detail of the wiring.
 */
export class AppQueries {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** An entity as stored, or `undefined`. */
  getEntity(ref: EntityRef): Promise<StoredEntity | undefined> {
    return this.#store.getEntity(ref);
  }

  /** A page of a machine's entities, in id order. */
  listEntities(machine: string, query: ListQuery): Promise<StoredEntity[]> {
    return this.#store.listEntities(machine, query);
  }

  /** A machine's entities counted by state name. */
  countEntities(machine: string): Promise<EntityCount[]> {
    return this.#store.countEntities(machine);
  }

  /** A machine's entities counted by the state version they are stored at, lowest first. */
  countStateVersions(machine: string): Promise<StateVersionCount[]> {
    return this.#store.countStateVersions(machine);
  }

  /** An entity's journal, oldest first. */
  history(ref: EntityRef): Promise<JournalEntry[]> {
    return this.#store.history(ref);
  }

  /** Outbox rows in commit order. */
  listOutbox(query?: OutboxQuery): Promise<OutboxRecord[]> {
    return this.#store.listOutbox(query);
  }

  /** One outbox row by its intent id. */
  findOutbox(intentId: string): Promise<OutboxRecord | undefined> {
    return this.#store.findOutbox(intentId);
  }

  /** The outbox rows of the intents an entity's journal produced, in journal order. */
  async entityOutbox(ref: EntityRef): Promise<OutboxRecord[]> {
    const entries = await this.#store.history(ref);
    const ids = entries.flatMap((entry) => entry.intents.map((record) => record.id));
    const rows = await Promise.all(ids.map((intentId) => this.#store.findOutbox(intentId)));
    return rows.flatMap((row) => (row === undefined ? [] : [row]));
  }

  /** How many outbox rows are in each status. */
  outboxStats(): Promise<Record<OutboxStatus, number>> {
    return this.#store.outboxStats();
  }

  /** Timers, soonest due first: all, or by status or entity. */
  listTimers(query?: TimerQuery): Promise<TimerRecord[]> {
    return this.#store.listTimers(query);
  }

  /** One timer by its id. */
  findTimer(timerId: string): Promise<TimerRecord | undefined> {
    return this.#store.findTimer(timerId);
  }

  /** How many timers are in each status. */
  timerStats(): Promise<Record<TimerStatus, number>> {
    return this.#store.timerStats();
  }

  /** The intent types an operator paused, by name. */
  pausedIntentTypes(): Promise<PausedIntentType[]> {
    return this.#store.listPausedIntentTypes();
  }
}
