// `npm run bench [-- --quick] [-- --json [FILE]]`: the benchmark from the command line.
import { writeFileSync } from "node:fs";
import { removeScratchDirs } from "./database.js";
import type { BenchConfig, BenchReport, Measurement, PostgresConfig } from "./harness.js";
import { ContestantKey, MEASUREMENTS, runBenchmark } from "./harness.js";
import type { NatsConfig } from "./nats.js";
import { stopNatsServers } from "./nats.js";
import { benchPostgresUrl, removeScratchDatabases } from "./postgres.js";
import { formatReport } from "./report.js";

/**
 * The NATS rows. Concurrency 256 (the ingress's default) ran best of 64, 256 and 1,024 here
 * (README, "NATS ingress").
 */
const NATS_CONCURRENCY = 256;

const USAGE = `usage: npm run bench -- [options]
  --quick            CI smoke sizes (under a minute), no warm-up; Emmett only if already installed
  --json [FILE]      write the results as JSON to FILE, or to stdout (the tables then go to stderr)
  --rounds N         runs per contestant, median reported (full: 3, quick: 1)
  --only A,B         only these contestants and measurements: ${[...Object.values(ContestantKey), ...MEASUREMENTS].join(", ")}
  --skip-emmett      leave Emmett out (both flavours); --install-emmett installs them even with --quick
  --skip-postgres    leave the PostgreSQL rows out (they run when PostgreSQL is reachable at
                     DROVER_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres;
                     DROVER_REQUIRE_SERVICES=1 makes an unreachable server an error)
  --skip-nats        leave the NATS ingress rows out (they run when nats-server is installed: a
                     private one per run; DROVER_REQUIRE_SERVICES=1 makes a missing one an error)
  --nats-concurrency N  the NATS ingress's concurrency (default ${NATS_CONCURRENCY})
  --nats-publish first|alongside  publish every event before the ingress starts (default: the
                     row is the ingress draining a backlog, the publisher's figure the broker's
                     alone), or while it runs (publisher, broker and drover share the machine)
  --dir PATH         where the database files go (default: the OS temp folder)`;

/** The PostgreSQL rows, from the environment. */
const postgres = (events: PostgresConfig["events"]): PostgresConfig => ({
  url: benchPostgresUrl(),
  required: process.env.DROVER_REQUIRE_SERVICES === "1",
  events,
});

const nats: NatsConfig = {
  required: process.env.DROVER_REQUIRE_SERVICES === "1",
  concurrency: NATS_CONCURRENCY,
  window: 256,
  publish: "first",
};

/** The full run: the sizes README's table comes from (a few minutes). */
const FULL: BenchConfig = {
  mode: "full",
  rounds: 3,
  entities: 1000,
  events: { serial: 10_000, bulk: 50_000, emmett: 2_000 },
  callers: 64,
  emmett: "install",
  scale: { small: 1_000, large: 100_000, events: 50_000 },
  rss: { entities: 1000, checkpoints: [10_000, 20_000, 50_000, 100_000, 200_000] },
  http: { connections: 64, seconds: 10 },
  postgres: postgres({ serial: 5_000, concurrent: 10_000, bulk: 20_000, emmett: 1_000 }),
  nats,
  tracing: { events: 50_000, noopCalls: 1_000_000 },
};

/** The smoke test: same contestants and checks, small sizes. */
const QUICK: BenchConfig = {
  mode: "quick",
  rounds: 1,
  entities: 1000,
  events: { serial: 1_000, bulk: 5_000, emmett: 300 },
  callers: 64,
  emmett: "if-installed",
  scale: { small: 1_000, large: 10_000, events: 10_000 },
  rss: { entities: 1000, checkpoints: [2_000, 20_000] },
  http: { connections: 16, seconds: 2 },
  postgres: postgres({ serial: 500, concurrent: 1_000, bulk: 2_000, emmett: 200 }),
  nats,
  tracing: { events: 5_000, noopCalls: 100_000 },
  // A smoke run: a warm-up per contestant (a database each, for PostgreSQL) would cost a third of it.
  warmUp: false,
};

function parse(argv: readonly string[]): { config: BenchConfig; json: string | undefined } {
  let config: BenchConfig = argv.includes("--quick") ? QUICK : FULL;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) fail(`${arg} needs a value`);
      i += 1;
      return next;
    };
    switch (arg) {
      case "--quick":
        break;
      case "--json": {
        const next = argv[i + 1];
        json = next !== undefined && !next.startsWith("--") ? next : "-";
        if (json !== "-") i += 1;
        break;
      }
      case "--rounds": {
        const rounds = Number(value());
        if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds must be a positive integer`);
        config = { ...config, rounds };
        break;
      }
      case "--only": {
        const keys = value().split(",");
        const known: string[] = [...Object.values(ContestantKey), ...MEASUREMENTS];
        const unknown = keys.filter((key) => !known.includes(key));
        if (unknown.length > 0) fail(`unknown name(s) ${unknown.join(", ")}; known: ${known.join(", ")}`);
        config = { ...config, only: keys as (ContestantKey | Measurement)[] };
        break;
      }
      case "--skip-emmett":
        config = { ...config, emmett: "skip" };
        break;
      case "--skip-postgres": {
        const { postgres: _, ...rest } = config;
        config = rest;
        break;
      }
      case "--skip-nats": {
        const { nats: _, ...rest } = config;
        config = rest;
        break;
      }
      case "--nats-concurrency": {
        const concurrency = Number(value());
        if (!Number.isInteger(concurrency) || concurrency < 1) fail("--nats-concurrency must be a positive integer");
        if (config.nats !== undefined) config = { ...config, nats: { ...config.nats, concurrency } };
        break;
      }
      case "--nats-publish": {
        const publish = value();
        if (publish !== "first" && publish !== "alongside") fail(`--nats-publish must be first or alongside`);
        if (config.nats !== undefined) config = { ...config, nats: { ...config.nats, publish } };
        break;
      }
      case "--install-emmett":
        config = { ...config, emmett: "install" };
        break;
      case "--dir":
        config = { ...config, dir: value() };
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        fail(`unknown option ${arg}`);
    }
  }
  return { config, json };
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const { config, json } = parse(process.argv.slice(2));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    removeScratchDirs();
    void Promise.allSettled([removeScratchDatabases(), stopNatsServers()]).finally(() => process.exit(130));
  });
}
const log = (line: string): void => {
  console.error(`[bench] ${line}`);
};
let report: BenchReport;
try {
  report = await runBenchmark(config, log);
} catch (error) {
  // A contestant that is not a peer failed, or a required service is missing: say so, no stack.
  log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const text = formatReport(report);
if (json === "-") {
  console.error(text);
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(text);
  if (json !== undefined) {
    writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${json}`);
  }
}
if (!report.consistent) {
  log("some events were not applied: failing");
  process.exitCode = 1;
}
