import { fileURLToPath } from "node:url";
import { jsonReport } from "./child.js";
import type { Consistency } from "./database.js";

/** The process's memory after `events` events. */
export interface RssSample {
  readonly events: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
  /** What V8 holds for the heap (the young generation grows with the allocation rate). */
  readonly heapTotalMb: number;
  /** Throughput of the slice that ended here. */
  readonly eventsPerSecond: number;
  /** Linux only: the resident set split into anonymous, file-backed and shared memory. */
  readonly anonMb?: number;
  readonly fileMb?: number;
  readonly shmemMb?: number;
}

/** What the memory child reports. */
export interface RssReport {
  readonly samples: readonly RssSample[];
  readonly gcExposed: boolean;
  readonly consistency: Consistency;
}

/** Who the memory child runs. */
export const RssContestant = { Drover: "drover", RawBatched: "raw-batched" } as const;
export type RssContestant = (typeof RssContestant)[keyof typeof RssContestant];

/**
 * V8's young generation starts small and doubles, up to a cap, as a busy process keeps objects
 * alive across scavenges (64 callers' steps in flight do): from ~27 to ~43 MiB of JS heap
 * total here, once, whatever drover does per event. Sized at that cap from the start
 * (`--min-semi-space-size` = `--max-semi-space-size` = 16 MiB, V8's default cap on 64-bit), the
 * samples show what the process itself keeps per event.
 */
export const YOUNG_GENERATION_AT_CAP = ["--min-semi-space-size=16", "--max-semi-space-size=16"] as const;

const CHILD = fileURLToPath(new URL("./rss-child.js", import.meta.url));

/**
 * Is memory flat while events pile up? drover with `callers` callers (or, for comparison, the
 * raw batched contestant) applies events to a fresh database in a child process
 * (`--expose-gc`), sampling RSS at each checkpoint.
 */
export function measureRss(
  path: string,
  entities: number,
  checkpoints: readonly number[],
  callers: number,
  contestant: RssContestant = RssContestant.Drover,
  nodeFlags: readonly string[] = [],
): Promise<RssReport> {
  return jsonReport<RssReport>(
    "the memory child",
    process.execPath,
    ["--expose-gc", ...nodeFlags, CHILD, JSON.stringify({ path, entities, checkpoints, callers, contestant })],
    60 * 60_000,
  );
}
