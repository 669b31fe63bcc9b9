import type { CommitOutcome, StepWrite, Store } from "./ports.js";

interface Pending {
  readonly step: StepWrite;
  readonly resolve: (outcome: CommitOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: steps handed in while a commit is being prepared or running go to the store
 * together, in one `store.commit` (one transaction, one fsync), each with its own outcome.
 * One batch is in flight at a time; whatever queues meanwhile forms the next one, so the
 * batches grow by themselves exactly when the store is the bottleneck.
 */
export class GroupCommitter {
  readonly #store: Store;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #flushing = false;
  #scheduled = false;

  constructor(store: Store, maxBatch: number) {
    this.#store = store;
    this.#maxBatch = maxBatch;
  }

  commit(step: StepWrite): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ step, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#flushing || this.#scheduled) return;
    this.#scheduled = true;
    // After the callbacks already queued in this turn: concurrent callers add their steps.
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const outcomes = await this.#store.commit(batch.map((pending) => pending.step));
          batch.forEach((pending, index) => {
            const outcome = outcomes[index];
            if (outcome === undefined) pending.reject(new Error("store.commit returned fewer outcomes than steps"));
            else pending.resolve(outcome);
          });
        } catch (error) {
          // The whole transaction failed (the store is unavailable): every step in it did.
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}
