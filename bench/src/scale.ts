import { SqliteSynchronous } from "@drover/sqlite";
import { runDrover } from "./contestants/drover.js";
import { runRaw } from "./contestants/raw.js";
import type { Consistency } from "./database.js";
import { checkApplied, createDroverSchema } from "./database.js";
import type { Timing } from "./measure.js";
import { Workload } from "./workload.js";

/** The cost of one event with a given number of entities in the database. */
export interface ScalePoint {
  readonly entities: number;
  readonly events: number;
  readonly eventsPerSecond: number;
  /** Microseconds of wall time per event. */
  readonly usPerEvent: number;
  readonly p99Ms: number;
  readonly consistency: Consistency;
}

/**
 * Does an event cost more when there are many entities? A fresh database gets `entities`
 * payments (created by the raw batched contestant, which writes drover's rows), then drover
 * with `callers` callers applies `events` captures and refunds round robin over all of them:
 * with 100k entities no two events of the timed phase touch the same entity, so every step
 * reads its own B-tree pages.
 */
export async function measureScale(
  path: string,
  entities: number,
  events: number,
  callers: number,
): Promise<ScalePoint> {
  await createDroverSchema(path);
  runRaw(new Workload({ entities, events: entities }), { path, synchronous: SqliteSynchronous.Normal, batch: 1000 });
  const timed: Timing = await runDrover(new Workload({ entities, events, startAt: 1 }), {
    path,
    synchronous: SqliteSynchronous.Full,
    callers,
  });
  return {
    entities,
    events,
    eventsPerSecond: timed.eventsPerSecond,
    usPerEvent: 1e6 / timed.eventsPerSecond,
    p99Ms: timed.p99Ms,
    consistency: checkApplied(path, entities + events, entities),
  };
}
