import type Database from "better-sqlite3";
import type { EventSource, Timing } from "./measure.js";
import { Latencies, now, timing } from "./measure.js";
import type { BenchEvent } from "./workload.js";

/**
 * Run a hand-written SQLite contestant's `step` over the workload, `batch` events per
 * `BEGIN IMMEDIATE` transaction (1: one each), and time it. In batched form an event's latency
 * runs until its batch commits: only then is it durable.
 */
export function timeSteps(
  db: Database.Database,
  workload: EventSource,
  batch: number,
  step: (e: BenchEvent) => void,
): Timing {
  const latencies = new Latencies(workload.size);
  let events = 0;
  const started = now();
  if (batch <= 1) {
    const one = db.transaction(step).immediate;
    for (let e = workload.next(); e !== undefined; e = workload.next()) {
      events += 1;
      const t0 = now();
      one(e);
      latencies.add(now() - t0);
    }
  } else {
    const starts = new Float64Array(batch);
    const many = db.transaction((group: readonly BenchEvent[]) => {
      group.forEach((e, i) => {
        starts[i] = now();
        step(e);
      });
    }).immediate;
    for (;;) {
      const pending: BenchEvent[] = [];
      while (pending.length < batch) {
        const e = workload.next();
        if (e === undefined) break;
        pending.push(e);
      }
      if (pending.length === 0) break;
      events += pending.length;
      many(pending);
      const committed = now();
      for (let i = 0; i < pending.length; i++) latencies.add(committed - (starts[i] ?? committed));
    }
  }
  return timing(events, (now() - started) / 1000, latencies);
}
