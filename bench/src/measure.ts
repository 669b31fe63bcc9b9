import { performance } from "node:perf_hooks";
import type { BenchEvent } from "./workload.js";

/** Where a run takes its events from: a `Workload`, or a slice of one. */
export interface EventSource {
  /** How many events at most (sizes the latency array). */
  readonly size: number;
  next(): BenchEvent | undefined;
}

/** Step latencies of one run, in milliseconds, kept in a preallocated array (no garbage). */
export class Latencies {
  readonly #values: Float64Array;
  #count = 0;

  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
  }

  add(ms: number): void {
    if (this.#count < this.#values.length) this.#values[this.#count++] = ms;
  }

  get count(): number {
    return this.#count;
  }

  /** The q-quantile (0..1), nearest rank. */
  quantiles(...qs: readonly number[]): number[] {
    const sorted = this.#values.slice(0, this.#count).sort();
    return qs.map((q) => {
      if (sorted.length === 0) return Number.NaN;
      const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
      return sorted[rank] ?? Number.NaN;
    });
  }
}

/** What one timed run measured. */
export interface Timing {
  /** Events handed to the contestant. */
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Turn a run's count, wall time and latencies into a {@link Timing}. */
export function timing(events: number, seconds: number, latencies: Latencies): Timing {
  const [p50 = Number.NaN, p99 = Number.NaN] = latencies.quantiles(0.5, 0.99);
  return { events, seconds, eventsPerSecond: events / seconds, p50Ms: p50, p99Ms: p99 };
}

/** Milliseconds since an arbitrary start, sub-microsecond resolution. */
export const now = (): number => performance.now();

/**
 * Drive an asynchronous contestant with `callers` concurrent callers, each awaiting its own
 * step before taking the next event from the shared workload. Latency is per step, as the
 * caller sees it.
 */
export async function driveAsync(
  workload: EventSource,
  callers: number,
  step: (event: BenchEvent) => Promise<void>,
  /** Awaited before each step, outside its latency: how the next event arrives. */
  arrive?: () => Promise<void>,
): Promise<Timing> {
  const latencies = new Latencies(workload.size);
  let events = 0;
  const caller = async (): Promise<void> => {
    for (let event = workload.next(); event !== undefined; event = workload.next()) {
      events += 1;
      if (arrive !== undefined) await arrive();
      const started = now();
      await step(event);
      latencies.add(now() - started);
    }
  };
  const started = now();
  await Promise.all(Array.from({ length: callers }, caller));
  return timing(events, (now() - started) / 1000, latencies);
}

/** Drive a synchronous contestant, one event at a time: no promise in the loop. */
export function driveSync(workload: EventSource, step: (event: BenchEvent) => void): Timing {
  const latencies = new Latencies(workload.size);
  let events = 0;
  const started = now();
  for (let event = workload.next(); event !== undefined; event = workload.next()) {
    events += 1;
    const t0 = now();
    step(event);
    latencies.add(now() - t0);
  }
  return timing(events, (now() - started) / 1000, latencies);
}
