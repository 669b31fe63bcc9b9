// Run by the harness as `node --expose-gc rss-child.js '{"path":…,"entities":…,"checkpoints":[…],"callers":…}'`:
// one contestant applies events without pause, and the process's memory is sampled at each
// checkpoint (after a full GC when exposed). A process of its own, so nothing the other
// contestants left behind counts. Prints one line of JSON: an RssReport.
import { readFileSync } from "node:fs";
import { RunResultKind, Runtime } from "@drover/core";
import { SqliteStore, SqliteSynchronous } from "@drover/sqlite";
import { runRaw } from "./contestants/raw.js";
import { checkApplied, createDroverSchema } from "./database.js";
import type { EventSource, Timing } from "./measure.js";
import { driveAsync } from "./measure.js";
import { BENCH_MACHINE, paymentMachine } from "./payment-machine.js";
import type { RssReport, RssSample } from "./rss.js";
import { RssContestant } from "./rss.js";
import { Workload } from "./workload.js";

interface RssArgs {
  readonly path: string;
  readonly entities: number;
  readonly checkpoints: readonly number[];
  readonly callers: number;
  /** `drover` (default, with `callers` callers), or the raw batched contestant for comparison. */
  readonly contestant?: RssContestant;
}

const args = JSON.parse(process.argv[2] ?? "{}") as RssArgs;
const total = Math.max(...args.checkpoints);
const workload = new Workload({ entities: args.entities, events: total });

let apply: (slice: EventSource) => Promise<Timing>;
let close = async (): Promise<void> => {};
if (args.contestant === RssContestant.RawBatched) {
  await createDroverSchema(args.path);
  apply = async (slice) => runRaw(slice, { path: args.path, synchronous: SqliteSynchronous.Full, batch: 100 });
} else {
  const store = SqliteStore.open({ path: args.path, synchronous: SqliteSynchronous.Full });
  const runtime = new Runtime({ store, machines: [paymentMachine] });
  apply = (slice) =>
    driveAsync(slice, args.callers, async (e) => {
      const outcome = await runtime.run({ machine: BENCH_MACHINE, id: e.entity }, e.event, {
        eventId: e.eventId,
        at: e.at,
      });
      if (outcome.kind !== RunResultKind.Processed) throw new Error(`event ${e.seq}: ${JSON.stringify(outcome)}`);
    });
  close = () => store.close();
}

const gc = (globalThis as { gc?: () => void }).gc;
const samples: RssSample[] = [];
let done = 0;
for (const checkpoint of [...args.checkpoints].sort((a, b) => a - b)) {
  const timed = await apply({
    size: checkpoint - done,
    next: () => (workload.taken < checkpoint ? workload.next() : undefined),
  });
  done = checkpoint;
  gc?.();
  const memory = process.memoryUsage();
  samples.push({
    events: checkpoint,
    rssMb: memory.rss / 2 ** 20,
    heapUsedMb: memory.heapUsed / 2 ** 20,
    heapTotalMb: memory.heapTotal / 2 ** 20,
    eventsPerSecond: timed.eventsPerSecond,
    ...procStatus(),
  });
}
await close();
const report: RssReport = {
  samples,
  gcExposed: gc !== undefined,
  consistency: checkApplied(args.path, total, args.entities),
};
console.log(JSON.stringify(report));

/** Linux's split of the resident set (anonymous, file-backed, shared memory), in MiB; {} elsewhere. */
function procStatus(): { anonMb?: number; fileMb?: number; shmemMb?: number } {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const kb = (field: string): number | undefined => {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
      return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
    };
    const anonMb = kb("RssAnon");
    const fileMb = kb("RssFile");
    const shmemMb = kb("RssShmem");
    return {
      ...(anonMb === undefined ? {} : { anonMb }),
      ...(fileMb === undefined ? {} : { fileMb }),
      ...(shmemMb === undefined ? {} : { shmemMb }),
    };
  } catch {
    return {};
  }
}
