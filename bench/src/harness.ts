import { cpus, loadavg } from "node:os";
import { SqliteSynchronous } from "@drover/sqlite";
import Database from "better-sqlite3";
import { runDrover } from "./contestants/drover.js";
import { runDroverPg } from "./contestants/drover-pg.js";
import { emmettInstalled, installEmmett, runEmmett } from "./contestants/emmett.js";
import { emmettPgInstalled, installEmmettPg, runEmmettPg } from "./contestants/emmett-pg.js";
import { runMinimal } from "./contestants/minimal.js";
import { runRaw } from "./contestants/raw.js";
import { runRawPg } from "./contestants/raw-pg.js";
import { runXState } from "./contestants/xstate.js";
import type { Consistency } from "./database.js";
import { checkApplied, createDroverSchema, ScratchDir } from "./database.js";
import type { HttpConfig, HttpRow } from "./http.js";
import { measureHttp } from "./http.js";
import type { Timing } from "./measure.js";
import type { NatsConfig, NatsRow } from "./nats.js";
import { measureNats } from "./nats.js";
import type { PostgresInfo } from "./postgres.js";
import {
  checkAppliedPg,
  createDroverSchemaPg,
  durabilityOf,
  PgScratch,
  printableUrl,
  probePostgres,
} from "./postgres.js";
import type { Ratio } from "./ratio.js";
import type { RssReport } from "./rss.js";
import { measureRss, RssContestant, YOUNG_GENERATION_AT_CAP } from "./rss.js";
import type { ScalePoint } from "./scale.js";
import { measureScale } from "./scale.js";
import type { TracingConfig, TracingReport } from "./tracing.js";
import { measureTracing } from "./tracing.js";
import { Workload } from "./workload.js";

/** The contestants, a smart enum. */
export const ContestantKey = {
  Raw: "raw",
  RawNormal: "raw-normal",
  RawBatched: "raw-batched",
  RawBatchedNormal: "raw-batched-normal",
  Minimal: "minimal",
  MinimalBatched: "minimal-batched",
  Drover: "drover",
  DroverNormal: "drover-normal",
  DroverConcurrent: "drover-concurrent",
  DroverTurns: "drover-turns",
  Emmett: "emmett",
  XState: "xstate",
  XStateSnapshot: "xstate-snapshot",
  RawPg: "raw-pg",
  RawPg8: "raw-pg-8",
  RawPgBatched: "raw-pg-batched",
  DroverPg: "drover-pg",
  DroverPg8: "drover-pg-8",
  DroverPg64: "drover-pg-64",
  EmmettPg: "emmett-pg",
  EmmettPg8: "emmett-pg-8",
} as const;
export type ContestantKey = (typeof ContestantKey)[keyof typeof ContestantKey];

/** The measurements besides the contestants' table, selectable with `--only` as they are. */
export const MEASUREMENTS = ["scale", "rss", "http", "nats", "tracing"] as const;
export type Measurement = (typeof MEASUREMENTS)[number];

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
  readonly only?: readonly (ContestantKey | Measurement)[];
  /** Emmett: install it if missing, use it only if installed, or leave it out. */
  readonly emmett: "install" | "if-installed" | "skip";
  /** Cost per event with few and many entities (omitted: not measured). */
  readonly scale?: { readonly small: number; readonly large: number; readonly events: number };
  /** Memory from the first to the last checkpoint (omitted: not measured). */
  readonly rss?: { readonly entities: number; readonly checkpoints: readonly number[] };
  /** `drover serve` and a bare Fastify baseline over HTTP (omitted: not measured). */
  readonly http?: HttpConfig;
  /** Where the database files go (default: the OS temp folder). */
  readonly dir?: string;
  /** One small uncounted run per contestant before the rounds (default true). */
  readonly warmUp?: boolean;
  /** The PostgreSQL rows (omitted: not run). */
  readonly postgres?: PostgresConfig;
  /**
   * Events through NATS JetStream into drover, on SQLite (`events.bulk`) and PostgreSQL
   * (`postgres.events.bulk`), beside the in-process rows of the same sizes (omitted: not measured).
   */
  readonly nats?: NatsConfig;
  /** drover, 64 callers on SQLite, with tracing off and on, and the no-op path alone (omitted: not measured). */
  readonly tracing?: TracingConfig;
}

/** The PostgreSQL rows: where, how big, and whether an unreachable server fails the run. */
export interface PostgresConfig {
  /** A database on the server to connect to; the runs get scratch databases beside it. */
  readonly url: string;
  /** Fail (throw) when PostgreSQL cannot be reached, rather than skip its rows. */
  readonly required: boolean;
  /** Events per run: one caller, 8 callers/clients, batched and 64 callers, Emmett. */
  readonly events: {
    readonly serial: number;
    readonly concurrent: number;
    readonly bulk: number;
    readonly emmett: number;
  };
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

export type { Ratio } from "./ratio.js";

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
    /** PostgreSQL's version and settings, when its rows ran. */
    readonly postgres?: PostgresInfo;
  };
  readonly durability: string;
  readonly rounds: number;
  readonly contestants: readonly ContestantResult[];
  readonly ratios: readonly Ratio[];
  readonly scale?: { readonly points: readonly ScalePoint[]; readonly ratio: Ratio };
  readonly http?: { readonly rows: readonly HttpRow[]; readonly ratios: readonly Ratio[] };
  readonly nats?: { readonly rows: readonly NatsRow[]; readonly ratios: readonly Ratio[] };
  readonly tracing?: TracingReport;
  readonly rss?: {
    readonly report: RssReport;
    /** The raw batched contestant in the same harness, for comparison. */
    readonly raw: RssReport;
    /** drover again, with V8's young generation at its cap from the start ({@link YOUNG_GENERATION_AT_CAP}). */
    readonly capped: RssReport;
    readonly ratio: Ratio;
    readonly cappedRatio: Ratio;
    /** The same ratio from the middle checkpoint on: after the runtime's one-time warm-up. */
    readonly settled: Ratio;
    readonly rawRatio: Ratio;
  };
  /** All events applied everywhere they were counted. */
  readonly consistent: boolean;
}

const FULL = "WAL, synchronous=FULL";
const PG_KEYS: readonly ContestantKey[] = [
  ContestantKey.RawPg,
  ContestantKey.RawPg8,
  ContestantKey.RawPgBatched,
  ContestantKey.DroverPg,
  ContestantKey.DroverPg8,
  ContestantKey.DroverPg64,
  ContestantKey.EmmettPg,
  ContestantKey.EmmettPg8,
];
const EMMETT_PG_KEYS: readonly ContestantKey[] = [ContestantKey.EmmettPg, ContestantKey.EmmettPg8];
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
  /** Where it runs: a fresh SQLite file, or a fresh PostgreSQL database. */
  readonly backend: "sqlite" | "postgres";
  /** `where` is the file's path or the database's URL. */
  run(where: string, events: number): Promise<RunOutcome>;
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
  const pgScratch = config.postgres === undefined ? undefined : new PgScratch(config.postgres.url);
  try {
    const wanted = (key: ContestantKey | Measurement) => config.only === undefined || config.only.includes(key);
    const natsWanted = config.nats !== undefined && wanted("nats");
    const postgres = PG_KEYS.some(wanted) || natsWanted ? await preparePostgres(config, log) : undefined;
    const contestants = plan(config, postgres?.info);
    const emmettNote = wanted(ContestantKey.Emmett) ? await prepareEmmett(config, EMMETT_SQLITE, log) : "not selected";
    const emmettPgNote =
      postgres?.info === undefined
        ? postgres?.skipped
        : EMMETT_PG_KEYS.some(wanted)
          ? await prepareEmmett(config, EMMETT_POSTGRESQL, log)
          : "not selected";
    const skipped = (c: Contestant): string | undefined => {
      if (c.key === ContestantKey.Emmett) return emmettNote;
      if (EMMETT_PG_KEYS.includes(c.key)) return emmettPgNote;
      if (c.backend === "postgres") return postgres?.skipped ?? (pgScratch === undefined ? "not run" : undefined);
      return undefined;
    };
    const active = contestants.filter((c) => wanted(c.key) && skipped(c) === undefined);
    // A fresh file or database per run, dropped once checked.
    const place = async (
      backend: Contestant["backend"],
      label: string,
    ): Promise<{ where: string; drop(): Promise<void> }> => {
      if (backend === "postgres") {
        if (pgScratch === undefined) throw new Error("no PostgreSQL configured");
        const url = await pgScratch.create(label);
        return { where: url, drop: () => pgScratch.drop(url) };
      }
      const path = scratch.file(label);
      return {
        where: path,
        drop: async () => {
          scratch.drop(path);
        },
      };
    };

    if (config.warmUp !== false) log(`warm-up (${active.length} contestants, small runs, not counted)`);
    for (const c of config.warmUp === false ? [] : active) {
      if (c.key === ContestantKey.Emmett || EMMETT_PG_KEYS.includes(c.key)) continue;
      const at = await place(c.backend, `warmup-${c.key}`);
      // PostgreSQL's server stays warm between databases: its warm-up is for the client's JIT.
      await c.run(at.where, c.backend === "postgres" ? Math.min(200, c.events) : Math.min(500, c.events));
      await at.drop();
    }

    const outcomes = new Map<ContestantKey, (RunOutcome | { error: string })[]>();
    for (let round = 1; round <= config.rounds; round++) {
      for (const c of active) {
        const at = await place(c.backend, `${c.key}-r${round}`);
        let outcome: RunOutcome | { error: string };
        try {
          outcome = await c.run(at.where, c.events);
        } catch (error) {
          if (!c.peer) throw error;
          outcome = { error: error instanceof Error ? error.message : String(error) };
        }
        await at.drop();
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
      .map((c) => summarise(c, outcomes.get(c.key), skipped(c)));

    const tracing =
      config.tracing !== undefined && wanted("tracing")
        ? await measureTracing(
            config.tracing,
            {
              rounds: config.rounds,
              entities: config.entities,
              callers: config.callers,
              warmUp: config.warmUp !== false,
            },
            scratch,
            log,
          )
        : undefined;

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
      const raw = await measureRss(
        scratch.file("rss-raw"),
        entities,
        checkpoints,
        config.callers,
        RssContestant.RawBatched,
      );
      const growth = (samples: RssReport["samples"], from: number) => {
        const first = samples[from];
        const last = samples.at(-1);
        return {
          value: first !== undefined && last !== undefined ? last.rssMb / first.rssMb : null,
          label: `${last?.events ?? "?"} vs ${first?.events ?? "?"} events`,
        };
      };
      log("memory: drover again, V8's young generation at its cap from the start (own process)");
      const capped = await measureRss(
        scratch.file("rss-capped"),
        entities,
        checkpoints,
        config.callers,
        RssContestant.Drover,
        YOUNG_GENERATION_AT_CAP,
      );
      const all = growth(report.samples, 0);
      const settled = growth(report.samples, Math.floor(report.samples.length / 2));
      const rawAll = growth(raw.samples, 0);
      const cappedAll = growth(capped.samples, 0);
      rss = {
        report,
        raw,
        capped,
        ratio: ratio(`RSS at ${all.label}`, all.value, "≤ 1.2×", (v) => v <= 1.2),
        cappedRatio: ratio(
          `RSS at ${cappedAll.label}, young generation at its cap from the start`,
          cappedAll.value,
          "≤ 1.2×",
          (v) => v <= 1.2,
        ),
        settled: ratio(`RSS at ${settled.label} (after warm-up)`, settled.value, "≤ 1.2×", (v) => v <= 1.2),
        rawRatio: {
          name: `raw batched: RSS at ${rawAll.label}`,
          value: rawAll.value,
          target: "(reference)",
          met: null,
        },
      };
    }

    let http: BenchReport["http"];
    if (config.http !== undefined && wanted("http")) {
      const { drover, baseline } = await measureHttp(config.http, config.rounds, scratch, log);
      const inProcess = results.find((r) => r.key === ContestantKey.DroverConcurrent)?.eventsPerSecond ?? null;
      http = {
        rows: [drover, baseline],
        ratios: [
          ratio(
            "HTTP: drover serve / bare Fastify + transaction per request",
            drover.requestsPerSecond / baseline.requestsPerSecond,
            "≥ 1.5×",
            (v) => v >= 1.5,
          ),
          ratio(
            "HTTP: drover serve / drover in process, 64 callers",
            inProcess === null ? null : drover.requestsPerSecond / inProcess,
            "≥ 0.5×",
            (v) => v >= 0.5,
          ),
          {
            name: "HTTP: steps/s applied by drover serve (requests and follow-ups) / drover in process, 64 callers",
            value: inProcess === null ? null : drover.stepsPerSecond / inProcess,
            target: "(reference)",
            met: null,
          },
        ],
      };
    }

    let nats: BenchReport["nats"];
    if (config.nats !== undefined && natsWanted) {
      const rows = await measureNats(
        config.nats,
        {
          rounds: config.rounds,
          entities: config.entities,
          warmUp: config.warmUp !== false,
          sqliteEvents: config.events.bulk,
          postgres:
            postgres?.info !== undefined && config.postgres !== undefined && pgScratch !== undefined
              ? { events: config.postgres.events.bulk, durability: durabilityOf(postgres.info) }
              : { skipped: postgres?.skipped ?? "not run" },
          place,
        },
        log,
      );
      // Beside the in-process rows of the same store and size in this run.
      const over = (name: string, backend: NatsRow["backend"], key: ContestantKey): Ratio => {
        const eps = rows.find((r) => r.backend === backend)?.eventsPerSecond ?? null;
        const inProcess = results.find((r) => r.key === key)?.eventsPerSecond ?? null;
        const value = eps === null || inProcess === null ? null : eps / inProcess;
        return { name, value, target: "(reference)", met: null };
      };
      nats = {
        rows,
        ratios: [
          over(
            `NATS ingress / in-process ${config.callers} callers (SQLite)`,
            "sqlite",
            ContestantKey.DroverConcurrent,
          ),
          over("PostgreSQL: NATS ingress / in-process 64 callers", "postgres", ContestantKey.DroverPg64),
        ],
      };
    }

    const consistent =
      results.every((r) => r.consistent) &&
      (http?.rows.every((r) => r.consistent) ?? true) &&
      (nats?.rows.every((r) => r.consistent) ?? true) &&
      (tracing?.rows.every((r) => r.consistent) ?? true) &&
      (scale?.points.every((p) => p.consistency.ok) ?? true) &&
      (rss?.report.consistency.ok ?? true) &&
      (rss?.raw.consistency.ok ?? true) &&
      (rss?.capped.consistency.ok ?? true);
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
        ...(postgres?.info === undefined ? {} : { postgres: postgres.info }),
      },
      durability:
        `every SQLite contestant: WAL mode, synchronous=FULL (an fsync per commit: a committed event survives a power cut); rows marked "reference" at synchronous=NORMAL` +
        (postgres?.info === undefined
          ? ""
          : `; every PostgreSQL contestant: the server's settings, ${durabilityOf(postgres.info)}, full_page_writes=${postgres.info.fullPageWrites}, wal_sync_method=${postgres.info.walSyncMethod}, commit_delay=${postgres.info.commitDelay} (a commit returns after its WAL is flushed to disk)`),
      rounds: config.rounds,
      contestants: results,
      ratios: ratios(results),
      ...(scale === undefined ? {} : { scale }),
      ...(http === undefined ? {} : { http }),
      ...(nats === undefined ? {} : { nats }),
      ...(tracing === undefined ? {} : { tracing }),
      ...(rss === undefined ? {} : { rss }),
      consistent,
    };
  } finally {
    scratch.remove();
    await pgScratch?.remove();
  }
}

/** PostgreSQL reachable: its settings; or why its rows are skipped (throws when it is required). */
async function preparePostgres(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<{ readonly info?: PostgresInfo; readonly skipped?: string }> {
  if (config.postgres === undefined) return { skipped: "skipped (--skip-postgres)" };
  const probe = await probePostgres(config.postgres.url);
  if (probe.ok) return { info: probe.info };
  const where = `PostgreSQL not reachable at ${printableUrl(config.postgres.url)} (${probe.reason})`;
  if (config.postgres.required) {
    throw new Error(`${where}; DROVER_REQUIRE_SERVICES=1 makes that an error: start it or set DROVER_BENCH_PG_URL`);
  }
  log(`${where}: skipping the PostgreSQL rows (set DROVER_BENCH_PG_URL, or DROVER_REQUIRE_SERVICES=1 to fail)`);
  return { skipped: `skipped: ${where}` };
}

/** An Emmett flavour (its own folder, installed on demand) that can run. */
interface EmmettFlavour {
  installed(): boolean;
  install(log: (line: string) => void): Promise<string | undefined>;
  /** Why `--quick` does not install it. */
  readonly quickNote: string;
}

const EMMETT_SQLITE: EmmettFlavour = {
  installed: emmettInstalled,
  install: installEmmett,
  quickNote: "installing compiles node sqlite3, ~2 min",
};
const EMMETT_POSTGRESQL: EmmettFlavour = {
  installed: emmettPgInstalled,
  install: installEmmettPg,
  quickNote: "pure JavaScript, ~10 s",
};

/** An Emmett flavour ready to run: undefined, or why it is not in this run. */
async function prepareEmmett(
  config: BenchConfig,
  flavour: EmmettFlavour,
  log: (line: string) => void,
): Promise<string | undefined> {
  if (config.emmett === "skip") return "skipped (--skip-emmett)";
  if (flavour.installed()) return undefined;
  if (config.emmett === "if-installed") {
    return `not installed, skipped by --quick (${flavour.quickNote}): run the full benchmark or add --install-emmett`;
  }
  const failure = await flavour.install(log);
  return failure === undefined ? undefined : `install failed: ${failure}`;
}

function plan(config: BenchConfig, postgres: PostgresInfo | undefined): Contestant[] {
  const { entities, callers } = config;
  const { serial, bulk, emmett } = config.events;
  const raw = (synchronous: SqliteSynchronous, batch: number) => async (path: string, events: number) => {
    await createDroverSchema(path);
    const timing = runRaw(new Workload({ entities, events }), { path, synchronous, batch });
    return { timing, consistency: checkApplied(path, events, entities) };
  };
  const minimal = (batch: number) => async (path: string, events: number) => {
    const timing = runMinimal(new Workload({ entities, events }), { path, synchronous: SqliteSynchronous.Full, batch });
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
      backend: "sqlite",
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
      backend: "sqlite",
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
      backend: "sqlite",
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
      backend: "sqlite",
      run: raw(SqliteSynchronous.Normal, 100),
    },
    {
      key: ContestantKey.Minimal,
      label: "minimal layout, 1 tx/event",
      durability: FULL,
      reference: false,
      events: serial,
      entities,
      peer: false,
      backend: "sqlite",
      run: minimal(1),
    },
    {
      key: ContestantKey.MinimalBatched,
      label: "minimal layout batched, 100 events/tx",
      durability: FULL,
      reference: false,
      events: bulk,
      entities,
      peer: false,
      backend: "sqlite",
      run: minimal(100),
    },
    {
      key: ContestantKey.Drover,
      label: "drover, 1 caller",
      durability: FULL,
      reference: false,
      events: serial,
      entities,
      peer: false,
      backend: "sqlite",
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
      backend: "sqlite",
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
      backend: "sqlite",
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
      backend: "sqlite",
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
      backend: "sqlite",
      run: async (path, events) => {
        const outcome = await runEmmett(path, entities, events);
        if (!outcome.ok) throw new Error(outcome.error);
        return {
          timing: outcome.timing,
          consistency: emmettConsistency(outcome.timing.events, outcome.stored ?? 0, events),
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
      backend: "sqlite",
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
      backend: "sqlite",
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
    ...planPostgres(config, postgres),
  ];
}

function planPostgres(config: BenchConfig, info: PostgresInfo | undefined): Contestant[] {
  const pg = config.postgres;
  if (pg === undefined) return [];
  const { entities } = config;
  const { serial, concurrent, bulk, emmett } = pg.events;
  const durability = info === undefined ? "PostgreSQL defaults" : durabilityOf(info);
  const base = { durability, reference: false, entities, peer: false, backend: "postgres" as const };
  const raw = (clients: number, batch: number) => async (url: string, events: number) => {
    await createDroverSchemaPg(url);
    const timing = await runRawPg(new Workload({ entities, events }), { url, clients, batch });
    return { timing, consistency: await checkAppliedPg(url, events, entities) };
  };
  const drover =
    (callers: number) =>
    async (url: string, events: number): Promise<RunOutcome> => {
      const timing = await runDroverPg(new Workload({ entities, events }), { url, callers });
      return {
        timing,
        consistency: await checkAppliedPg(url, events, entities),
        notes: [`${timing.meanBatch.toFixed(1)} steps per commit on average (max ${timing.maxBatch})`],
      };
    };
  const emmettRun =
    (concurrency: number) =>
    async (url: string, events: number): Promise<RunOutcome> => {
      const outcome = await runEmmettPg(url, entities, events, concurrency);
      if (!outcome.ok) throw new Error(outcome.error);
      return {
        timing: outcome.timing,
        consistency: emmettConsistency(outcome.timing.events, outcome.stored ?? 0, events),
        notes: [`own process; ${outcome.durability}`, `${outcome.retries} commands retried after a version conflict`],
      };
    };
  return [
    { ...base, key: ContestantKey.RawPg, label: "raw pg, 1 tx/event, 1 client", events: serial, run: raw(1, 1) },
    {
      ...base,
      key: ContestantKey.RawPg8,
      label: "raw pg, 1 tx/event, 8 clients",
      events: concurrent,
      run: raw(8, 1),
    },
    {
      ...base,
      key: ContestantKey.RawPgBatched,
      label: "raw pg batched, 100 events/tx (unnest)",
      events: bulk,
      run: raw(1, 100),
    },
    { ...base, key: ContestantKey.DroverPg, label: "drover on PostgreSQL, 1 caller", events: serial, run: drover(1) },
    {
      ...base,
      key: ContestantKey.DroverPg8,
      label: "drover on PostgreSQL, 8 callers",
      events: concurrent,
      run: drover(8),
    },
    {
      ...base,
      key: ContestantKey.DroverPg64,
      label: "drover on PostgreSQL, 64 callers (group commit)",
      events: bulk,
      run: drover(64),
    },
    {
      ...base,
      key: ContestantKey.EmmettPg,
      label: "Emmett 0.42.0, PostgreSQL event store, 1 at a time",
      events: emmett,
      peer: true,
      run: emmettRun(1),
    },
    {
      ...base,
      key: ContestantKey.EmmettPg8,
      label: "Emmett 0.42.0, PostgreSQL event store, 8 at a time",
      events: emmett,
      peer: true,
      run: emmettRun(8),
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

/**
 * The ratios the issues ask for: name, numerator, denominator, and the minimum that meets the
 * target (null: printed for reference only). One row each, so a new contestant is one line.
 */
const RATIOS: readonly (readonly [string, ContestantKey, ContestantKey, number | null, string?])[] = [
  ["drover / raw", ContestantKey.Drover, ContestantKey.Raw, 0.7],
  ["drover-concurrent / raw", ContestantKey.DroverConcurrent, ContestantKey.Raw, 3],
  ["drover-concurrent / raw-batched", ContestantKey.DroverConcurrent, ContestantKey.RawBatched, 0.5],
  ["drover / minimal layout (1 tx/event)", ContestantKey.Drover, ContestantKey.Minimal, 0.9],
  ["drover-concurrent / minimal layout batched", ContestantKey.DroverConcurrent, ContestantKey.MinimalBatched, 0.7],
  ["raw / minimal layout (drover's schema vs the fewest B-trees)", ContestantKey.Raw, ContestantKey.Minimal, null],
  ["raw-batched / minimal layout batched", ContestantKey.RawBatched, ContestantKey.MinimalBatched, null],
  ["drover / Emmett", ContestantKey.Drover, ContestantKey.Emmett, 2],
  ["drover / XState", ContestantKey.Drover, ContestantKey.XState, 2],
  ["drover-concurrent / Emmett", ContestantKey.DroverConcurrent, ContestantKey.Emmett, 2],
  ["drover-concurrent / XState", ContestantKey.DroverConcurrent, ContestantKey.XState, 2],
  [
    "drover-concurrent, own turns / raw",
    ContestantKey.DroverTurns,
    ContestantKey.Raw,
    3,
    "≥ 3× (as drover-concurrent)",
  ],
  ["PostgreSQL: drover-pg / raw-pg (1 vs 1)", ContestantKey.DroverPg, ContestantKey.RawPg, 0.8],
  ["PostgreSQL: drover-pg-8 / raw-pg-8", ContestantKey.DroverPg8, ContestantKey.RawPg8, 0.7],
  ["PostgreSQL: drover-pg-64 / raw-pg (group commit)", ContestantKey.DroverPg64, ContestantKey.RawPg, 3],
  ["PostgreSQL: drover-pg-64 / raw-pg-batched", ContestantKey.DroverPg64, ContestantKey.RawPgBatched, 0.8],
  ["PostgreSQL: drover-pg / Emmett-pg (1 vs 1)", ContestantKey.DroverPg, ContestantKey.EmmettPg, 2],
  ["PostgreSQL: drover-pg-8 / Emmett-pg-8", ContestantKey.DroverPg8, ContestantKey.EmmettPg8, 2],
];

function ratios(results: readonly ContestantResult[]): Ratio[] {
  const eps = (key: ContestantKey) => results.find((r) => r.key === key)?.eventsPerSecond ?? null;
  return RATIOS.map(([name, numerator, denominator, minimum, label]) => {
    const x = eps(numerator);
    const y = eps(denominator);
    const value = x === null || y === null ? null : x / y;
    const target = label ?? (minimum === null ? "(reference)" : `≥ ${minimum}×`);
    return { name, value, target, met: value === null || minimum === null ? null : value >= minimum };
  });
}

/** Emmett keeps no drover rows to count: every command sent must be handled and its event stored. */
function emmettConsistency(handled: number, stored: number, sent: number): Consistency {
  return stored === sent && handled === sent
    ? { ok: true, detail: `${stored} events stored` }
    : { ok: false, detail: `${handled} commands handled, ${stored} events stored, ${sent} sent` };
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
