import { cpus, loadavg } from "node:os";
import { SqliteSynchronous } from "@drover/sqlite";
import Database from "better-sqlite3";
import { runDrover } from "./contestants/drover.js";
import { emmettInstalled, installEmmett, runEmmett } from "./contestants/emmett.js";
import { runRaw } from "./contestants/raw.js";
import { runXState } from "./contestants/xstate.js";
import type { Consistency } from "./database.js";
import { checkApplied, createDroverSchema, ScratchDir } from "./database.js";
import type { Timing } from "./measure.js";
import type { RssReport } from "./rss.js";
import { measureRss } from "./rss.js";
import type { ScalePoint } from "./scale.js";
import { measureScale } from "./scale.js";
import { Workload } from "./workload.js";

/** The contestants, a smart enum. */
export const ContestantKey = {
  Raw: "raw",
  RawNormal: "raw-normal",
  RawBatched: "raw-batched",
  RawBatchedNormal: "raw-batched-normal",
  Drover: "drover",
  DroverNormal: "drover-normal",
  DroverConcurrent: "drover-concurrent",
  DroverTurns: "drover-turns",
  Emmett: "emmett",
  XState: "xstate",
  XStateSnapshot: "xstate-snapshot",
} as const;
export type ContestantKey = (typeof ContestantKey)[keyof typeof ContestantKey];

/** What to run and how big. */
export interface BenchConfig {
  readonly mode: "quick" | "full";
  /** Each contestant runs this many times, interleaved with the others; the median counts. */
  readonly rounds: number;
  /** Entities the main workload is spread over. */
  readonly entities: number;
  /** Events per run: one-at-a-time contestants, batched and concurrent ones, Emmett. */
  readonly events: { readonly serial: number; readonly bulk: number; readonly emmett: number };
  /** Concurrent callers of "drover-concurrent". */
  readonly callers: number;
  /** Run only these contestants and measurements (default: all). */
  readonly only?: readonly (ContestantKey | "scale" | "rss")[];
  /** Emmett: install it if missing, use it only if installed, or leave it out. */
  readonly emmett: "install" | "if-installed" | "skip";
  /** Cost per event with few and many entities (omitted: not measured). */
  readonly scale?: { readonly small: number; readonly large: number; readonly events: number };
  /** Memory from the first to the last checkpoint (omitted: not measured). */
  readonly rss?: { readonly entities: number; readonly checkpoints: readonly number[] };
  /** Where the database files go (default: the OS temp folder). */
  readonly dir?: string;
}

/** One contestant's result: the median run, or why there is none. */
export interface ContestantResult {
  readonly key: ContestantKey;
  readonly label: string;
  readonly durability: string;
  /** A reference row (NORMAL), not part of the comparison. */
  readonly reference: boolean;
  readonly entities: number;
  readonly events: number;
  readonly eventsPerSecond: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** events/s of every run, in order. */
  readonly runs: readonly number[];
  readonly notes: readonly string[];
  /** Every completed run applied every event (counted in the database). */
  readonly consistent: boolean;
  readonly error?: string;
}

/** A ratio against its target. */
export interface Ratio {
  readonly name: string;
  readonly value: number | null;
  readonly target: string;
  readonly met: boolean | null;
}

/** Everything one benchmark run measured. */
export interface BenchReport {
  readonly mode: "quick" | "full";
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: {
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly loadAverageBefore: readonly number[];
    readonly loadAverageAfter: readonly number[];
    readonly sqlite: string;
  };
  readonly durability: string;
  readonly rounds: number;
  readonly contestants: readonly ContestantResult[];
  readonly ratios: readonly Ratio[];
  readonly scale?: { readonly points: readonly ScalePoint[]; readonly ratio: Ratio };
  readonly rss?: {
    readonly report: RssReport;
    /** The raw batched contestant in the same harness, for comparison. */
    readonly raw: RssReport;
    readonly ratio: Ratio;
    /** The same ratio from the middle checkpoint on: after the runtime's one-time warm-up. */
    readonly settled: Ratio;
    readonly rawRatio: Ratio;
  };
  /** All events applied everywhere they were counted. */
  readonly consistent: boolean;
}

const FULL = "WAL, synchronous=FULL";
const NORMAL = "WAL, synchronous=NORMAL (reference)";

/** One run of one contestant on a fresh file. */
interface RunOutcome {
  readonly timing: Timing;
  readonly consistency: Consistency;
  readonly notes?: readonly string[];
}

interface Contestant {
  readonly key: ContestantKey;
  readonly label: string;
  readonly durability: string;
  readonly reference: boolean;
  readonly events: number;
  readonly entities: number;
  /** A peer whose failure is a result; the others' failures end the benchmark. */
  readonly peer: boolean;
  run(path: string, events: number): Promise<RunOutcome>;
}

/**
 * Run the benchmark: every contestant `rounds` times on fresh files, interleaved (round 1 of
 * all, then round 2…) so that the machine's moods fall on all of them alike, after one small
 * warm-up run each; then the scale and memory measurements.
 */
export async function runBenchmark(config: BenchConfig, log: (line: string) => void): Promise<BenchReport> {
  const started = Date.now();
  const loadBefore = loadavg();
  const scratch = new ScratchDir(config.dir);
  try {
    const contestants = plan(config);
    const wanted = (key: ContestantKey | "scale" | "rss") => config.only === undefined || config.only.includes(key);
    const emmettNote = wanted(ContestantKey.Emmett) ? await prepareEmmett(config, log) : "not selected";
    const active = contestants.filter(
      (c) => wanted(c.key) && (c.key !== ContestantKey.Emmett || emmettNote === undefined),
    );

    log(`warm-up (${active.length} contestants, small runs, not counted)`);
    for (const c of active) {
      if (c.key === ContestantKey.Emmett) continue;
      const path = scratch.file(`warmup-${c.key}`);
      await c.run(path, Math.min(500, c.events));
      scratch.drop(path);
    }

    const outcomes = new Map<ContestantKey, (RunOutcome | { error: string })[]>();
    for (let round = 1; round <= config.rounds; round++) {
      for (const c of active) {
        const path = scratch.file(`${c.key}-r${round}`);
        let outcome: RunOutcome | { error: string };
        try {
          outcome = await c.run(path, c.events);
        } catch (error) {
          if (!c.peer) throw error;
          outcome = { error: error instanceof Error ? error.message : String(error) };
        }
        scratch.drop(path);
        const list = outcomes.get(c.key) ?? [];
        list.push(outcome);
        outcomes.set(c.key, list);
        log(
          "error" in outcome
            ? `round ${round}/${config.rounds} ${c.key}: ${outcome.error}`
            : `round ${round}/${config.rounds} ${c.key}: ${Math.round(outcome.timing.eventsPerSecond)} events/s${outcome.consistency.ok ? "" : ` INCONSISTENT: ${outcome.consistency.detail}`}`,
        );
      }
    }

    const results: ContestantResult[] = contestants
      .filter((c) => wanted(c.key))
      .map((c) => summarise(c, outcomes.get(c.key), c.key === ContestantKey.Emmett ? emmettNote : undefined));

    let scale: BenchReport["scale"];
    if (config.scale !== undefined && wanted("scale")) {
      const { small, large, events } = config.scale;
      const points: ScalePoint[] = [];
      for (const entities of [small, large]) {
        log(`scale: ${entities} entities, then ${events} events by drover with ${config.callers} callers`);
        const path = scratch.file(`scale-${entities}`);
        points.push(await measureScale(path, entities, events, config.callers));
        scratch.drop(path);
      }
      const [few, many] = points;
      const value = few !== undefined && many !== undefined ? many.usPerEvent / few.usPerEvent : null;
      scale = {
        points,
        ratio: ratio(`cost per event, ${large} vs ${small} entities`, value, "≤ 1.5×", (v) => v <= 1.5),
      };
    }

    let rss: BenchReport["rss"];
    if (config.rss !== undefined && wanted("rss")) {
      const { entities, checkpoints } = config.rss;
      log(`memory: drover with ${config.callers} callers, RSS at ${checkpoints.join(", ")} events (own process)`);
      const report = await measureRss(scratch.file("rss"), entities, checkpoints, config.callers);
      log("memory: the raw batched contestant, for comparison (own process)");
      const raw = await measureRss(scratch.file("rss-raw"), entities, checkpoints, config.callers, "raw-batched");
      const growth = (samples: RssReport["samples"], from: number) => {
        const first = samples[from];
        const last = samples.at(-1);
        return {
          value: first !== undefined && last !== undefined ? last.rssMb / first.rssMb : null,
          label: `${last?.events ?? "?"} vs ${first?.events ?? "?"} events`,
        };
      };
      const all = growth(report.samples, 0);
      const settled = growth(report.samples, Math.floor(report.samples.length / 2));
      const rawAll = growth(raw.samples, 0);
      rss = {
        report,
        raw,
        ratio: ratio(`RSS at ${all.label}`, all.value, "≤ 1.2×", (v) => v <= 1.2),
        settled: ratio(`RSS at ${settled.label} (after warm-up)`, settled.value, "≤ 1.2×", (v) => v <= 1.2),
        rawRatio: {
          name: `raw batched: RSS at ${rawAll.label}`,
          value: rawAll.value,
          target: "(reference)",
          met: null,
        },
      };
    }

    const consistent =
      results.every((r) => r.consistent) &&
      (scale?.points.every((p) => p.consistency.ok) ?? true) &&
      (rss?.report.consistency.ok ?? true) &&
      (rss?.raw.consistency.ok ?? true);
    return {
      mode: config.mode,
      startedAt: new Date(started).toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      machine: {
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? "unknown",
        loadAverageBefore: loadBefore.map(round2),
        loadAverageAfter: loadavg().map(round2),
        sqlite: sqliteVersion(),
      },
      durability: `every contestant: SQLite in WAL mode, synchronous=FULL (an fsync per commit: a committed event survives a power cut); rows marked "reference" at synchronous=NORMAL`,
      rounds: config.rounds,
      contestants: results,
      ratios: ratios(results),
      ...(scale === undefined ? {} : { scale }),
      ...(rss === undefined ? {} : { rss }),
      consistent,
    };
  } finally {
    scratch.remove();
  }
}

/** Emmett ready to run: undefined, or why it is not in this run. */
async function prepareEmmett(config: BenchConfig, log: (line: string) => void): Promise<string | undefined> {
  if (config.emmett === "skip") return "skipped (--skip-emmett)";
  if (emmettInstalled()) return undefined;
  if (config.emmett === "if-installed") {
    return "not installed, skipped by --quick (installing compiles node sqlite3, ~2 min): run the full benchmark or add --install-emmett";
  }
  const failure = await installEmmett(log);
  return failure === undefined ? undefined : `install failed: ${failure}`;
}

function plan(config: BenchConfig): Contestant[] {
  const { entities, callers } = config;
  const { serial, bulk, emmett } = config.events;
  const raw = (synchronous: SqliteSynchronous, batch: number) => async (path: string, events: number) => {
    await createDroverSchema(path);
    const timing = runRaw(new Workload({ entities, events }), { path, synchronous, batch });
    return { timing, consistency: checkApplied(path, events, entities) };
  };
  const drover =
    (synchronous: SqliteSynchronous, n: number, arrival: "together" | "own-turn" = "together") =>
    async (path: string, events: number): Promise<RunOutcome> => {
      const timing = await runDrover(new Workload({ entities, events }), { path, synchronous, callers: n, arrival });
      return {
        timing,
        consistency: checkApplied(path, events, entities),
        notes: [`${timing.meanBatch.toFixed(1)} steps per commit on average (max ${timing.maxBatch})`],
      };
    };
  return [
    {
      key: ContestantKey.Raw,
      label: "raw better-sqlite3, 1 tx/event",
      durability: FULL,
      reference: false,
      events: serial,
      entities,
      peer: false,
      run: raw(SqliteSynchronous.Full, 1),
    },
    {
      key: ContestantKey.RawNormal,
      label: "raw better-sqlite3, 1 tx/event",
      durability: NORMAL,
      reference: true,
      events: serial,
      entities,
      peer: false,
      run: raw(SqliteSynchronous.Normal, 1),
    },
    {
      key: ContestantKey.RawBatched,
      label: "raw batched, 100 events/tx",
      durability: FULL,
      reference: false,
      events: bulk,
      entities,
      peer: false,
      run: raw(SqliteSynchronous.Full, 100),
    },
    {
      key: ContestantKey.RawBatchedNormal,
      label: "raw batched, 100 events/tx",
      durability: NORMAL,
      reference: true,
      events: bulk,
      entities,
      peer: false,
      run: raw(SqliteSynchronous.Normal, 100),
    },
    {
      key: ContestantKey.Drover,
      label: "drover, 1 caller",
      durability: FULL,
      reference: false,
      events: serial,
      entities,
      peer: false,
      run: drover(SqliteSynchronous.Full, 1),
    },
    {
      key: ContestantKey.DroverNormal,
      label: "drover, 1 caller",
      durability: NORMAL,
      reference: true,
      events: serial,
      entities,
      peer: false,
      run: drover(SqliteSynchronous.Normal, 1),
    },
    {
      key: ContestantKey.DroverConcurrent,
      label: `drover, ${callers} callers (group commit)`,
      durability: FULL,
      reference: false,
      events: bulk,
      entities,
      peer: false,
      run: drover(SqliteSynchronous.Full, callers),
    },
    {
      key: ContestantKey.DroverTurns,
      label: `drover, ${callers} callers, each event in its own event-loop turn (like HTTP)`,
      durability: FULL,
      reference: false,
      events: bulk,
      entities,
      peer: false,
      run: drover(SqliteSynchronous.Full, callers, "own-turn"),
    },
    {
      key: ContestantKey.Emmett,
      label: "Emmett 0.38.5, SQLite event store",
      durability: "WAL, synchronous=FULL (node-sqlite3 default)",
      reference: false,
      events: emmett,
      entities,
      peer: true,
      run: async (path, events) => {
        const outcome = await runEmmett(path, entities, events);
        if (!outcome.ok) throw new Error(outcome.error);
        const stored = outcome.stored ?? 0;
        return {
          timing: outcome.timing,
          consistency:
            stored === events && outcome.timing.events === events
              ? { ok: true, detail: `${stored} events stored` }
              : {
                  ok: false,
                  detail: `${outcome.timing.events} commands handled, ${stored} events stored, ${events} sent`,
                },
          notes: [
            `own process; journal_mode=${outcome.journalMode}, synchronous=${outcome.synchronous}`,
            `${outcome.busyRetries} commands retried after SQLITE_BUSY`,
          ],
        };
      },
    },
    {
      key: ContestantKey.XState,
      label: "XState 5.33 actor + snapshot in SQLite",
      durability: FULL,
      reference: false,
      events: serial,
      entities,
      peer: false,
      run: async (path, events) => {
        await createDroverSchema(path);
        const timing = runXState(new Workload({ entities, events }), { path, synchronous: SqliteSynchronous.Full });
        return {
          timing,
          consistency: checkApplied(path, events, entities),
          notes: ["snapshot, journal, inbox and outbox rows, as drover writes"],
        };
      },
    },
    {
      key: ContestantKey.XStateSnapshot,
      label: "XState 5.33 actor + snapshot in SQLite, snapshot only",
      durability: `${FULL} (reference)`,
      reference: true,
      events: serial,
      entities,
      peer: false,
      run: async (path, events) => {
        await createDroverSchema(path);
        const timing = runXState(new Workload({ entities, events }), {
          path,
          synchronous: SqliteSynchronous.Full,
          rows: "snapshot-only",
        });
        return {
          timing,
          consistency: checkApplied(path, events, entities, true),
          notes: ["only the snapshot row: no idempotency, no durable intents"],
        };
      },
    },
  ];
}

function summarise(
  c: Contestant,
  outcomes: readonly (RunOutcome | { error: string })[] | undefined,
  skipped: string | undefined,
): ContestantResult {
  const base = {
    key: c.key,
    label: c.label,
    durability: c.durability,
    reference: c.reference,
    entities: c.entities,
    events: c.events,
  };
  const done = (outcomes ?? []).filter((o): o is RunOutcome => !("error" in o));
  const failures = (outcomes ?? []).filter((o): o is { error: string } => "error" in o);
  if (done.length === 0) {
    const error = failures[0]?.error ?? skipped ?? "did not run";
    return {
      ...base,
      eventsPerSecond: null,
      p50Ms: null,
      p99Ms: null,
      runs: [],
      notes: [],
      consistent: true,
      error,
    };
  }
  const sorted = [...done].sort((a, b) => a.timing.eventsPerSecond - b.timing.eventsPerSecond);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? sorted[0];
  const notes = [...(median?.notes ?? [])];
  if (failures.length > 0) notes.push(`${failures.length} of ${outcomes?.length} runs failed: ${failures[0]?.error}`);
  const inconsistent = done.filter((o) => !o.consistency.ok);
  if (inconsistent.length > 0) notes.push(`INCONSISTENT: ${inconsistent[0]?.consistency.detail}`);
  return {
    ...base,
    eventsPerSecond: median?.timing.eventsPerSecond ?? null,
    p50Ms: median?.timing.p50Ms ?? null,
    p99Ms: median?.timing.p99Ms ?? null,
    runs: done.map((o) => Math.round(o.timing.eventsPerSecond)),
    notes,
    consistent: inconsistent.length === 0,
  };
}

function ratios(results: readonly ContestantResult[]): Ratio[] {
  const eps = (key: ContestantKey) => results.find((r) => r.key === key)?.eventsPerSecond ?? null;
  const of = (a: ContestantKey, b: ContestantKey) => {
    const x = eps(a);
    const y = eps(b);
    return x === null || y === null ? null : x / y;
  };
  return [
    ratio("drover / raw", of(ContestantKey.Drover, ContestantKey.Raw), "≥ 0.7×", (v) => v >= 0.7),
    ratio("drover-concurrent / raw", of(ContestantKey.DroverConcurrent, ContestantKey.Raw), "≥ 3×", (v) => v >= 3),
    ratio(
      "drover-concurrent / raw-batched",
      of(ContestantKey.DroverConcurrent, ContestantKey.RawBatched),
      "≥ 0.5×",
      (v) => v >= 0.5,
    ),
    ratio("drover / Emmett", of(ContestantKey.Drover, ContestantKey.Emmett), "≥ 2×", (v) => v >= 2),
    ratio("drover / XState", of(ContestantKey.Drover, ContestantKey.XState), "≥ 2×", (v) => v >= 2),
    ratio(
      "drover-concurrent / Emmett",
      of(ContestantKey.DroverConcurrent, ContestantKey.Emmett),
      "≥ 2×",
      (v) => v >= 2,
    ),
    ratio(
      "drover-concurrent / XState",
      of(ContestantKey.DroverConcurrent, ContestantKey.XState),
      "≥ 2×",
      (v) => v >= 2,
    ),
    ratio(
      "drover-concurrent, own turns / raw",
      of(ContestantKey.DroverTurns, ContestantKey.Raw),
      "≥ 3× (as drover-concurrent)",
      (v) => v >= 3,
    ),
  ];
}

function ratio(name: string, value: number | null, target: string, meets: (v: number) => boolean): Ratio {
  return { name, value, target, met: value === null ? null : meets(value) };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function sqliteVersion(): string {
  const db = new Database(":memory:");
  try {
    return String(db.prepare("SELECT sqlite_version()").pluck().get());
  } finally {
    db.close();
  }
}
