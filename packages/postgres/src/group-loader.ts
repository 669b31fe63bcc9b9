import type { EntityRef, LoadResult } from "@drover/core";

/** One `load` waiting for its batch. */
export interface LoadRequest {
  readonly ref: EntityRef;
  readonly eventId: string;
}

interface Pending extends LoadRequest {
  readonly resolve: (result: LoadResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group load: the `load`s asked for in one turn of the event loop go to the database together,
 * in one query. Under load, the callers woken by one group commit all load their next entity
 * at once, and that is then one round trip instead of dozens. A lone load waits one microtask.
 * Unlike commits, batches do not wait for each other: each takes its own pooled connection.
 */
export class GroupLoader {
  readonly #run: (batch: readonly LoadRequest[]) => Promise<readonly LoadResult[]>;
  readonly #maxBatch: number;
  #queue: Pending[] = [];

  constructor(run: (batch: readonly LoadRequest[]) => Promise<readonly LoadResult[]>, maxBatch: number) {
    this.#run = run;
    this.#maxBatch = maxBatch;
  }

  load(ref: EntityRef, eventId: string): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      if (this.#queue.push({ ref, eventId, resolve, reject }) === 1) queueMicrotask(() => this.#flush());
    });
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    for (let start = 0; start < queue.length; start += this.#maxBatch) {
      const batch = queue.slice(start, start + this.#maxBatch);
      this.#run(batch).then(
        (results) => {
          batch.forEach((pending, i) => {
            const result = results[i];
            if (result === undefined) pending.reject(new Error("a grouped load returned fewer results than asked"));
            else pending.resolve(result);
          });
        },
        (error: unknown) => {
          for (const pending of batch) pending.reject(error);
        },
      );
    }
  }
}
