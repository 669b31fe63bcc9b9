import type { CommitOutcome, StepWrite, Store } from "@drover/core";
import { RunResultKind, Runtime } from "@drover/core";
import { PostgresStore } from "@drover/postgres";
import { driveAsync } from "../measure.js";
import { BENCH_MACHINE, paymentMachine } from "../payment-machine.js";
import type { Workload } from "../workload.js";
import type { DroverTiming } from "./drover.js";

/** How the drover PostgreSQL contestant runs. */
export interface DroverPgOptions {
  /** A database (drover creates its schema on open). */
  readonly url: string;
  /** Callers, each awaiting its own `run` before the next. */
  readonly callers: number;
  /** The store's connection pool (default: the store's default, 10). */
  readonly poolSize?: number;
}

/** The batch sizes group commit achieved. */
export interface CommitCounts {
  commits: number;
  steps: number;
  maxBatch: number;
}

/** `store` with its `commit` calls counted (PostgresStore is opened by a factory: wrapped, not extended). */
export function counting(store: PostgresStore, counts: CommitCounts): Store {
  const commit = (steps: readonly StepWrite[]): Promise<CommitOutcome[]> => {
    counts.commits += 1;
    counts.steps += steps.length;
    if (steps.length > counts.maxBatch) counts.maxBatch = steps.length;
    return store.commit(steps);
  };
  return new Proxy(store, {
    get(target, property) {
      if (property === "commit") return commit;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * drover on `@drover/postgres`, as a user runs it: `runtime.run(ref, event, { eventId, at })`
 * with the benchmark's payment machine (schemas parsed, fingerprint hashed; loads of one turn
 * read together, commits grouped: one `drover_commit` call per batch). Every result must be
 * `processed`.
 */
export async function runDroverPg(workload: Workload, options: DroverPgOptions): Promise<DroverTiming> {
  const store = await PostgresStore.open({
    url: options.url,
    ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
  });
  const counts: CommitCounts = { commits: 0, steps: 0, maxBatch: 0 };
  const runtime = new Runtime({ store: counting(store, counts), machines: [paymentMachine] });
  try {
    const result = await driveAsync(workload, options.callers, async (e) => {
      const outcome = await runtime.run({ machine: BENCH_MACHINE, id: e.entity }, e.event, {
        eventId: e.eventId,
        at: e.at,
      });
      if (outcome.kind !== RunResultKind.Processed) {
        throw new Error(`drover pg: event ${e.seq} to ${e.entity} came back ${JSON.stringify(outcome)}`);
      }
    });
    return {
      ...result,
      commits: counts.commits,
      meanBatch: counts.commits === 0 ? 0 : counts.steps / counts.commits,
      maxBatch: counts.maxBatch,
    };
  } finally {
    await store.close();
  }
}
