import type Database from "better-sqlite3";

/** One settling write waiting for its batch. */
interface Settle {
  readonly doing: string;
  readonly run: () => Database.RunResult;
  readonly resolve: (changed: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for the work queue's settling writes (an intent done or failed, a timer fired):
 * the ones asked for in the same turn of the event loop run in one `BEGIN IMMEDIATE`
 * transaction — one fsync for all of them instead of one each. Under load the dispatcher
 * settles many intents per turn, and with `synchronous=FULL` each lone UPDATE was a commit of
 * its own (a fifth of a busy server's time, profiled). Every write still checks its lease
 * inside the transaction, and each resolves with whether it changed its row; if one throws,
 * the batch is rolled back and each write runs again alone, so one failure fails one caller.
 *
 * @example
 * const settles = new SettleBatch(db, (error, doing) => translate(error, path, doing));
 * await settles.add("completing an outbox row", () => completeOutbox.run(intentId, owner));
 */
export class SettleBatch {
  readonly #db: Database.Database;
  readonly #translate: (error: unknown, doing: string) => unknown;
  readonly #durability: <T>(work: () => T) => T;
  #pending: Settle[] = [];
  #scheduled = false;

  /** `durability` wraps each transaction (see `workQueueSync`: these writes need no fsync of their own). */
  constructor(
    db: Database.Database,
    translate: (error: unknown, doing: string) => unknown,
    durability: <T>(work: () => T) => T = (work) => work(),
  ) {
    this.#db = db;
    this.#translate = translate;
    this.#durability = durability;
  }

  /** Queue one settling write; resolves `true` when it changed its row (the caller held the lease). */
  add(doing: string, run: () => Database.RunResult): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ doing, run, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Run what is queued now (the store calls it before closing). */
  flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    if (!this.#db.open) {
      for (const settle of batch) settle.reject(this.#translate(new Error("the database is closed"), settle.doing));
      return;
    }
    let changed: boolean[];
    try {
      changed = this.#durability(() =>
        this.#db.transaction(() => batch.map((settle) => settle.run().changes > 0)).immediate(),
      );
    } catch {
      // Rolled back whole: try each alone, so that only the write that fails reports it.
      for (const settle of batch) this.#alone(settle);
      return;
    }
    for (const [i, settle] of batch.entries()) settle.resolve(changed[i] === true);
  }

  #alone(settle: Settle): void {
    try {
      settle.resolve(this.#durability(() => this.#db.transaction(() => settle.run().changes > 0).immediate()));
    } catch (error) {
      settle.reject(this.#translate(error, settle.doing));
    }
  }
}
