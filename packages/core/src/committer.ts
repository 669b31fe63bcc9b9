import type { CommitOutcome } from "./ports.js";

interface Pending<Item> {
  readonly item: Item;
  readonly resolve: (outcome: CommitOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** Saves a batch in one transaction: one outcome per item, in order (`store.commit`, `store.transact`). */
export type BatchCommit<Item> = (items: readonly Item[]) => Promise<CommitOutcome[]>;

/**
 * After this many flushes in a row that found their step alone, stop waiting for company and
 * flush on a microtask; and while flushing on microtasks, wait once every so many flushes to
 * see whether company has come.
 */
const LONELY_FLUSHES_BEFORE_MICROTASK = 4;
const MICROTASK_FLUSHES_BETWEEN_PROBES = 16;

/**
 * Group commit: steps handed in while a commit is being prepared or running go to the store
 * together, in one `store.commit` or `store.transact` (one transaction, one fsync), each with its own outcome.
 * One batch is in flight at a time (or as many as the store's `commitConcurrency`); whatever
 * queues meanwhile forms the next one, so the batches grow by themselves exactly when the
 * store is the bottleneck.
 *
 * When to flush is adaptive. A synchronous store (SQLite) blocks the event loop while it
 * commits, so nothing arrives "meanwhile": a batch can only hold steps decided before the
 * flush runs. Flushing on a microtask collects the steps of callers that run together (one
 * `Promise.all`), but requests that arrive as separate I/O callbacks (HTTP) would each be
 * committed alone. Flushing on `setImmediate` collects those too, but costs a lone caller an
 * event-loop turn per step. So the committer waits for the next turn (`setImmediate`) while
 * batches show company, and flushes on a microtask once several waits in a row found the step
 * alone — probing with a wait every {@link MICROTASK_FLUSHES_BETWEEN_PROBES} flushes, so that
 * it notices when load comes back.
 */
export class GroupCommitter<Item> {
  readonly #save: BatchCommit<Item>;
  readonly #maxBatch: number;
  readonly #concurrency: number;
  readonly #flushAt: number;
  #queue: Pending<Item>[] = [];
  /** Batches being saved. */
  #inFlight = 0;
  #scheduled = false;
  /** Wait for the next event-loop turn before flushing (true), or flush on a microtask. */
  #waitForCompany = true;
  /** Flushes in a row, while waiting, that found one step. */
  #lonely = 0;
  /** Microtask flushes since the last wait. */
  #sinceProbe = 0;

  /**
   * `concurrency` batches may be saved at once (default 1; a store on a connection pool can take
   * more). Then, while a batch slot is free, a queue that reaches `flushAt` steps goes at once
   * instead of waiting for the turn to end: the store works on it while the rest are decided.
   */
  constructor(save: BatchCommit<Item>, maxBatch: number, concurrency = 1, flushAt = maxBatch) {
    this.#save = save;
    this.#maxBatch = maxBatch;
    this.#concurrency = concurrency;
    this.#flushAt = Math.min(flushAt, maxBatch);
  }

  commit(item: Item): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#concurrency > 1 && this.#queue.length >= this.#flushAt && this.#inFlight < this.#concurrency) {
        this.#send();
      } else this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#inFlight >= this.#concurrency || this.#scheduled) return;
    this.#scheduled = true;
    const waited = this.#waitForCompany || this.#sinceProbe >= MICROTASK_FLUSHES_BETWEEN_PROBES;
    const flush = (): void => {
      this.#scheduled = false;
      if (this.#queue.length === 0 || this.#inFlight >= this.#concurrency) return;
      this.#learn(waited, this.#queue.length);
      this.#send();
    };
    if (waited) setImmediate(flush);
    // After the callbacks already queued in this turn: concurrent callers add their steps.
    else queueMicrotask(flush);
  }

  /** Adjust the flush timing to what the flush about to run found in the queue. */
  #learn(waited: boolean, queued: number): void {
    if (queued > 1) {
      this.#waitForCompany = true;
      this.#lonely = 0;
      this.#sinceProbe = 0;
    } else if (waited) {
      this.#sinceProbe = 0;
      this.#lonely += 1;
      if (this.#lonely >= LONELY_FLUSHES_BEFORE_MICROTASK) this.#waitForCompany = false;
    } else {
      this.#sinceProbe += 1;
    }
  }

  /** Save the next batch; when it is done, the queue goes on at once (no wait for a turn). */
  #send(): void {
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
    this.#inFlight += 1;
    let saving: Promise<CommitOutcome[]>;
    try {
      saving = this.#save(batch.map((pending) => pending.item));
    } catch (error) {
      saving = Promise.reject(error);
    }
    void saving
      .then((outcomes) => {
        if (!Array.isArray(outcomes)) throw new Error("the store answered a batch without outcomes");
        batch.forEach((pending, index) => {
          const outcome = outcomes[index];
          if (outcome === undefined) pending.reject(new Error("the store returned fewer outcomes than steps"));
          else pending.resolve(outcome);
        });
      })
      .catch((error: unknown) => {
        // The whole transaction failed (the store is unavailable): every step in it did. A
        // step already answered ignores the second word.
        for (const pending of batch) pending.reject(error);
      })
      .finally(() => this.#done());
  }

  #done(): void {
    this.#inFlight -= 1;
    while (this.#queue.length > 0 && this.#inFlight < this.#concurrency) this.#send();
  }
}
