import type { CommitOutcome, StepRequest, StepWrite } from "@drover/core";
import { RunResultKind, Runtime } from "@drover/core";
import type { SqliteSynchronous } from "@drover/sqlite";
import { SqliteStore } from "@drover/sqlite";
import type { TracerProvider } from "@opentelemetry/api";
import type { Timing } from "../measure.js";
import { driveAsync } from "../measure.js";
import { BENCH_MACHINE, paymentMachine } from "../payment-machine.js";
import type { Workload } from "../workload.js";

/** How the drover contestant runs. */
export interface DroverOptions {
  readonly path: string;
  readonly synchronous: SqliteSynchronous;
  /** Callers, each awaiting its own `run` before the next. */
  readonly callers: number;
  /** The Runtime's `groupCommit` option (default: on). */
  readonly groupCommit?: boolean;
  /**
   * How each caller's next event arrives: at once (`together`, callers in lockstep, as in one
   * `Promise.all`), or in an event-loop turn of its own (`own-turn`, as HTTP requests do: each
   * is a separate I/O callback).
   */
  readonly arrival?: "together" | "own-turn";
  /** The Runtime's `tracerProvider` option (default: none, the API's no-op unless one is registered). */
  readonly tracerProvider?: TracerProvider;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A drover run's timing, and how its steps went to the store. */
export interface DroverTiming extends Timing {
  /** `store.commit` and `store.transact` calls. */
  readonly commits: number;
  /** Steps per commit, on average. */
  readonly meanBatch: number;
  readonly maxBatch: number;
}

/** A SqliteStore that counts its commits: the batch sizes group commit achieved. */
export class CountingStore extends SqliteStore {
  commits = 0;
  steps = 0;
  maxBatch = 0;

  override commit(steps: readonly StepWrite[]): Promise<CommitOutcome[]> {
    this.#count(steps.length);
    return super.commit(steps);
  }

  override transact(requests: readonly StepRequest[]): Promise<CommitOutcome[]> {
    this.#count(requests.length);
    return super.transact(requests);
  }

  #count(steps: number): void {
    this.commits += 1;
    this.steps += steps;
    if (steps > this.maxBatch) this.maxBatch = steps;
  }
}

/**
 * drover on `@drover/sqlite`, as a user runs it: `runtime.run(ref, event, { eventId, at })`
 * with the benchmark's payment machine (schemas parsed, fingerprint hashed, one transaction
 * per commit). Every result must be `processed`.
 */
export async function runDrover(workload: Workload, options: DroverOptions): Promise<DroverTiming> {
  const store = new CountingStore({ path: options.path, synchronous: options.synchronous });
  const runtime = new Runtime({
    store,
    machines: [paymentMachine],
    ...(options.groupCommit === undefined ? {} : { groupCommit: options.groupCommit }),
    ...(options.tracerProvider === undefined ? {} : { tracerProvider: options.tracerProvider }),
  });
  try {
    const result = await driveAsync(
      workload,
      options.callers,
      async (e) => {
        const outcome = await runtime.run({ machine: BENCH_MACHINE, id: e.entity }, e.event, {
          eventId: e.eventId,
          at: e.at,
        });
        if (outcome.kind !== RunResultKind.Processed) {
          throw new Error(`drover: event ${e.seq} to ${e.entity} came back ${JSON.stringify(outcome)}`);
        }
      },
      options.arrival === "own-turn" ? nextTurn : undefined,
    );
    return {
      ...result,
      commits: store.commits,
      meanBatch: store.commits === 0 ? 0 : store.steps / store.commits,
      maxBatch: store.maxBatch,
    };
  } finally {
    await store.close();
  }
}
