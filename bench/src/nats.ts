// Issue 17's rows: events/s through NATS JetStream into drover. A publisher of its own process
// (nats-publisher.ts) stores the benchmark's workload in DROVER_EVENTS on a private
// `nats-server -js` (file storage, a fresh store per run); then `NatsIngress` in this process
// runs it through drover's Runtime on SQLite or PostgreSQL, and the run is timed from the
// first message the ingress hands to drover to the last step's durable outcome.
import { fileURLToPath } from "node:url";
import type { EntityRef, RunResult, Store } from "@drover/core";
import { RunResultKind, Runtime } from "@drover/core";
import type { EventRunner } from "@drover/nats";
import { EVENTS_STREAM, ensureEventsStream, NatsIngress } from "@drover/nats";
import type { TestNatsServer } from "@drover/nats/testing";
import { natsServerBinary, startNatsServer } from "@drover/nats/testing";
import { PostgresStore } from "@drover/postgres";
import { SqliteSynchronous } from "@drover/sqlite";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { jsonReport } from "./child.js";
import { CountingStore } from "./contestants/drover.js";
import type { CommitCounts } from "./contestants/drover-pg.js";
import { counting } from "./contestants/drover-pg.js";
import type { Consistency } from "./database.js";
import { checkApplied, checkPerEntity, journalPerEntity } from "./database.js";
import { Latencies, now } from "./measure.js";
import type { PublisherReport, PublisherRequest } from "./nats-publisher.js";
import { BENCH_MACHINE, paymentMachine } from "./payment-machine.js";
import { checkAppliedPg, journalPerEntityPg } from "./postgres.js";

/** How the NATS rows run. */
export interface NatsConfig {
  /** Fail (throw) when nats-server is not installed, rather than skip the rows. */
  readonly required: boolean;
  /** The ingress's `concurrency`: messages run at once. */
  readonly concurrency: number;
  /** The publisher's publishes in flight, each awaiting its PubAck. */
  readonly window: number;
  /**
   * When the publisher runs: `first` stores every event before the ingress starts (the row then
   * measures the ingress draining a backlog, and the publisher's figure is the broker's alone);
   * `alongside` starts it once the ingress runs (both share the machine).
   */
  readonly publish: "first" | "alongside";
}

/** What the harness hands over: sizes, and where each run goes. */
export interface NatsPlan {
  readonly rounds: number;
  readonly entities: number;
  readonly warmUp: boolean;
  readonly sqliteEvents: number;
  /** The PostgreSQL row's size and durability, or why it does not run. */
  readonly postgres: { readonly events: number; readonly durability: string } | { readonly skipped: string };
  /** A fresh SQLite file or PostgreSQL database: where it is, and how to drop it once checked. */
  place(backend: NatsBackend, label: string): Promise<{ readonly where: string; drop(): Promise<void> }>;
}

export type NatsBackend = "sqlite" | "postgres";

/** One store's NATS row: the median run. */
export interface NatsRow {
  readonly backend: NatsBackend;
  readonly label: string;
  readonly durability: string;
  readonly events: number;
  /** Events applied per second, from the first message the ingress ran to the last durable outcome. */
  readonly eventsPerSecond: number | null;
  /** The publisher's rate into JetStream (alone with `publish: "first"`). */
  readonly publishedPerSecond: number | null;
  /** Time of `runtime.run` inside the ingress (queueing for the commit included). */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly runs: readonly number[];
  readonly consistent: boolean;
  readonly notes: readonly string[];
  readonly error?: string;
}

interface RunOutcome {
  readonly eventsPerSecond: number;
  readonly publishedPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly consistency: Consistency;
  readonly notes: readonly string[];
}

const PUBLISHER = fileURLToPath(new URL("./nats-publisher.js", import.meta.url));
/** A run fails when no event was applied for this long (JetStream redelivers after 30 s). */
const STALL_MS = 45_000;
const JETSTREAM = "JetStream file storage, 1 replica";

/**
 * Run the NATS rows, SQLite and PostgreSQL alternating for `rounds` rounds after an uncounted
 * warm-up; the median run of each is reported. Without nats-server both rows are skipped with
 * one line, or this throws when `config.required`.
 */
export async function measureNats(config: NatsConfig, plan: NatsPlan, log: (line: string) => void): Promise<NatsRow[]> {
  const base = (backend: NatsBackend, events: number, durability: string): RowBase => ({
    backend,
    label: `NATS ingress → drover on ${backend === "sqlite" ? "SQLite" : "PostgreSQL"}, concurrency ${config.concurrency}`,
    durability: `${durability}; ${JETSTREAM}`,
    events,
  });
  const sqlite = base("sqlite", plan.sqliteEvents, "WAL, synchronous=FULL");
  const pg =
    "skipped" in plan.postgres
      ? { ...base("postgres", 0, "PostgreSQL"), skipped: plan.postgres.skipped }
      : base("postgres", plan.postgres.events, plan.postgres.durability);
  if (natsServerBinary() === undefined) {
    const missing = "nats-server not found (set NATS_SERVER_BIN, or install it: apt-get install nats-server)";
    if (config.required) throw new Error(`${missing}; DROVER_REQUIRE_SERVICES=1 makes that an error`);
    log(`${missing}: skipping the NATS rows (or set DROVER_REQUIRE_SERVICES=1 to fail)`);
    return [skippedRow(sqlite, `skipped: ${missing}`), skippedRow(pg, `skipped: ${missing}`)];
  }
  const once = async (target: RowBase, label: string, events: number): Promise<RunOutcome> => {
    const at = await plan.place(target.backend, label);
    try {
      return await runOnce(target.backend, at.where, plan.entities, events, config);
    } finally {
      await at.drop();
    }
  };
  if (plan.warmUp) {
    log("nats: warm-up (SQLite, small run, not counted)");
    await once(sqlite, "nats-warmup", Math.min(2_000, sqlite.events));
  }
  const targets = "skipped" in pg ? [sqlite] : [sqlite, pg];
  const runs = new Map<NatsBackend, RunOutcome[]>();
  for (let round = 1; round <= plan.rounds; round++) {
    for (const target of targets) {
      const outcome = await once(target, `nats-${target.backend}-r${round}`, target.events);
      runs.set(target.backend, [...(runs.get(target.backend) ?? []), outcome]);
      log(
        `nats: round ${round}/${plan.rounds} ${target.backend}: ${Math.round(outcome.eventsPerSecond)} events/s applied, ` +
          `publisher ${Math.round(outcome.publishedPerSecond)}/s` +
          (outcome.consistency.ok ? "" : ` INCONSISTENT: ${outcome.consistency.detail}`),
      );
    }
  }
  return [
    medianRow(sqlite, runs.get("sqlite") ?? []),
    "skipped" in pg ? skippedRow(pg, pg.skipped) : medianRow(pg, runs.get("postgres") ?? []),
  ];
}

/**
 * One run on a fresh nats-server and a fresh database: the publisher (another process) stores
 * every event, the ingress runs them; once every event is applied, check what was written.
 */
async function runOnce(
  backend: NatsBackend,
  where: string,
  entities: number,
  events: number,
  config: NatsConfig,
): Promise<RunOutcome> {
  const server = await startNatsServer();
  servers.add(server);
  try {
    return await runOn(server, backend, where, entities, events, config);
  } finally {
    // Apart from the run's own cleanup: a server left running would outlive the benchmark.
    await server.dispose();
    servers.delete(server);
  }
}

/** The run itself, on `server`: publish, drain, check. */
async function runOn(
  server: TestNatsServer,
  backend: NatsBackend,
  where: string,
  entities: number,
  events: number,
  config: NatsConfig,
): Promise<RunOutcome> {
  const nc = await connect({ servers: server.url });
  let store: { readonly uow: Store; close(): Promise<void> } | undefined;
  let ingress: NatsIngress | undefined;
  let runner: TimedRunner | undefined;
  try {
    const jsm = await jetstreamManager(nc);
    await ensureEventsStream(jsm);
    const request: PublisherRequest = { url: server.url, entities, events, window: config.window };
    const publish = async () => {
      const report = await jsonReport<PublisherReport>(
        "the NATS publisher",
        process.execPath,
        [PUBLISHER, JSON.stringify(request)],
        300_000,
      );
      if (!report.ok) throw new Error(`the NATS publisher failed: ${report.error}`);
      return report;
    };
    const first = config.publish === "first" ? await publish() : undefined;
    let batches: () => CommitCounts;
    if (backend === "sqlite") {
      const sqliteStore = new CountingStore({ path: where, synchronous: SqliteSynchronous.Full });
      store = { uow: sqliteStore, close: () => sqliteStore.close() };
      batches = () => sqliteStore;
    } else {
      const pgStore = await PostgresStore.open({ url: where });
      const counts: CommitCounts = { commits: 0, steps: 0, maxBatch: 0 };
      store = { uow: counting(pgStore, counts), close: () => pgStore.close() };
      batches = () => counts;
    }
    runner = new TimedRunner(new Runtime({ store: store.uow, machines: [paymentMachine] }), events);
    const running = new NatsIngress({ connection: nc, runner, concurrency: config.concurrency });
    ingress = running;
    await running.start();
    // Alongside: a publisher that fails ends the wait at once.
    const [, published] = await Promise.all([
      runner.finished(STALL_MS, () => JSON.stringify(running.counts())),
      first ?? publish(),
    ]);
    await running.stop();
    ingress = undefined;
    const left = await drained(jsm);
    const { commits, steps, maxBatch } = batches();
    await store.close();
    store = undefined;
    const written =
      backend === "sqlite"
        ? [
            checkApplied(where, events, entities),
            checkPerEntity(journalPerEntity(where, BENCH_MACHINE), events, entities),
          ]
        : [
            await checkAppliedPg(where, events, entities),
            checkPerEntity(await journalPerEntityPg(where, BENCH_MACHINE), events, entities),
          ];
    const problems = [
      ...written.filter((c) => !c.ok).map((c) => c.detail),
      ...(published.published === events && published.duplicates === 0
        ? []
        : [`publisher: ${published.published} PubAcks, ${published.duplicates} duplicates, ${events} sent`]),
      ...(runner.other === 0 ? [] : [`${runner.other} results not processed, e.g. ${runner.firstOther}`]),
      ...(left === 0 ? [] : [`DROVER_EVENTS still holds ${left} messages after the run`]),
    ];
    const others = Object.entries(running.counts())
      .filter(([kind, n]) => kind !== RunResultKind.Processed && n !== undefined && n > 0)
      .map(([kind, n]) => `${n} ${kind}`);
    const [p50 = Number.NaN, p99 = Number.NaN] = runner.latencies.quantiles(0.5, 0.99);
    return {
      eventsPerSecond: events / ((runner.lastAt - runner.firstAt) / 1000),
      publishedPerSecond: published.eventsPerSecond,
      p50Ms: p50,
      p99Ms: p99,
      consistency:
        problems.length === 0
          ? { ok: true, detail: `${events} events, each applied once (journal per entity), stream empty` }
          : { ok: false, detail: problems.join("; ") },
      notes: [
        `publisher (own process, ${config.window} PubAcks awaited at once${first === undefined ? ", alongside the ingress" : ", alone"}): ${Math.round(published.eventsPerSecond)} events/s into JetStream`,
        `${(commits === 0 ? 0 : steps / commits).toFixed(1)} steps per commit on average (max ${maxBatch})`,
        `ingress outcomes besides processed: ${others.length === 0 ? "none" : others.join(", ")}`,
      ],
    };
  } finally {
    runner?.cancel();
    await ingress?.stop().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await nc.close().catch(() => undefined);
  }
}

/** The ingress's runner: `runtime.run` timed, results counted, resolved once `expected` were processed. */
class TimedRunner implements EventRunner {
  readonly latencies: Latencies;
  firstAt = 0;
  lastAt = 0;
  processed = 0;
  other = 0;
  firstOther: string | undefined;
  readonly #inner: EventRunner;
  readonly #expected: number;
  #progressAt = now();
  #done: (() => void) | undefined;
  #watch: NodeJS.Timeout | undefined;

  constructor(inner: EventRunner, expected: number) {
    this.#inner = inner;
    this.#expected = expected;
    this.latencies = new Latencies(expected);
  }

  async run(ref: EntityRef, event: unknown, options?: { readonly eventId?: string }): Promise<RunResult> {
    const started = now();
    if (this.firstAt === 0) this.firstAt = started;
    const result = await this.#inner.run(ref, event, options);
    const ended = now();
    this.#progressAt = ended;
    this.latencies.add(ended - started);
    if (result.kind === RunResultKind.Processed) {
      this.processed += 1;
      if (this.processed === this.#expected) {
        this.lastAt = ended;
        this.#done?.();
      }
    } else {
      this.other += 1;
      this.firstOther ??= `${ref.id} ${options?.eventId}: ${JSON.stringify(result)}`;
    }
    return result;
  }

  /** Resolves once every expected event was processed; rejects when none was applied for `stallMs`. */
  finished(stallMs: number, state: () => string): Promise<void> {
    if (this.processed >= this.#expected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#watch = setInterval(() => {
        if (now() - this.#progressAt < stallMs) return;
        this.cancel();
        reject(
          new Error(
            `NATS ingress: ${this.processed} of ${this.#expected} events processed, none for ${stallMs / 1000} s (ingress: ${state()})`,
          ),
        );
      }, 250);
      this.#done = () => {
        this.cancel();
        resolve();
      };
    });
  }

  /** Stop watching for a stall. */
  cancel(): void {
    clearInterval(this.#watch);
  }
}

/** Messages DROVER_EVENTS still holds once acknowledgements settle (a work queue: 0 when all were acked). */
async function drained(jsm: Awaited<ReturnType<typeof jetstreamManager>>): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const left = (await jsm.streams.info(EVENTS_STREAM)).state.messages;
    if (left === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const servers = new Set<TestNatsServer>();

/** Stop every nats-server a run started and remove its store (for a benchmark stopped by a signal). */
export async function stopNatsServers(): Promise<void> {
  await Promise.all([...servers].map((server) => server.dispose()));
}

type RowBase = Pick<NatsRow, "backend" | "label" | "durability" | "events">;

function skippedRow(base: RowBase, error: string): NatsRow {
  return {
    ...base,
    eventsPerSecond: null,
    publishedPerSecond: null,
    p50Ms: null,
    p99Ms: null,
    runs: [],
    consistent: true,
    notes: [],
    error,
  };
}

/** The median run by events/s applied, every run's figure in `runs`, consistency over all. */
function medianRow(base: RowBase, runs: readonly RunOutcome[]): NatsRow {
  const sorted = [...runs].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  if (median === undefined) return skippedRow(base, "did not run");
  const inconsistent = runs.find((r) => !r.consistency.ok);
  return {
    ...base,
    eventsPerSecond: median.eventsPerSecond,
    publishedPerSecond: median.publishedPerSecond,
    p50Ms: median.p50Ms,
    p99Ms: median.p99Ms,
    runs: runs.map((r) => Math.round(r.eventsPerSecond)),
    consistent: inconsistent === undefined,
    notes: [
      ...median.notes,
      ...(inconsistent === undefined ? [] : [`INCONSISTENT: ${inconsistent.consistency.detail}`]),
    ],
  };
}
