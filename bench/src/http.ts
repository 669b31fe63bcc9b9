// Issue 16's HTTP row: `drover serve` (the payments app, provider latency 0) and a bare
// Fastify route doing the raw durable step per request, each in a process of its own, driven
// by wrk (or autocannon, see http-load.ts) with keep-alive connections creating payments.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { createDroverSchema, type ScratchDir } from "./database.js";
import { drive } from "./http-load.js";
import { BENCH_MACHINE } from "./payment-machine.js";

/** How the HTTP rows run. */
export interface HttpConfig {
  readonly connections: number;
  readonly seconds: number;
}

/** One HTTP contestant's figures. */
export interface HttpRow {
  readonly label: string;
  readonly durability: string;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Rows the server stored for the requests (counted in its database after it stopped). */
  readonly stored: number;
  /**
   * Steps applied per second while the load ran (journal rows whose time falls in the run):
   * drover's requests each start a payment whose provider follow-up is a second step.
   */
  readonly stepsPerSecond: number;
  readonly consistent: boolean;
  readonly notes: readonly string[];
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = `drv_bench_${randomBytes(16).toString("hex")}`;
const DURABILITY = "WAL, synchronous=FULL";

/**
 * Measure `drover serve` and the bare Fastify baseline, alternating for `rounds` rounds, each
 * run on a fresh file; the median run of each is reported (this VM's fsync time drifts from
 * minute to minute, so one run each would compare two moods of the disk). A request creates
 * a payment (a new id each); drover also runs each payment's provider follow-up in the
 * background, as a real deployment does.
 */
export async function measureHttp(
  config: HttpConfig,
  rounds: number,
  scratch: ScratchDir,
  log: (line: string) => void,
): Promise<{ drover: HttpRow; baseline: HttpRow }> {
  const runs: { drover: HttpRow[]; baseline: HttpRow[] } = { drover: [], baseline: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const who of ["drover", "baseline"] as const) {
      log(`http: round ${round}/${rounds}, ${who}, ${config.connections} connections for ${config.seconds} s`);
      runs[who].push(await measureServer(config, scratch.file(`http-${who}`), who));
    }
  }
  return { drover: median(runs.drover), baseline: median(runs.baseline) };
}

/** The median run by requests/s, with every run's figure in its notes and consistency over all. */
function median(rows: readonly HttpRow[]): HttpRow {
  const sorted = [...rows].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  if (middle === undefined) throw new Error("http: no run");
  const runs = rows.map((r) => Math.round(r.requestsPerSecond)).join(", ");
  return { ...middle, consistent: rows.every((r) => r.consistent), notes: [`runs: ${runs}`, ...middle.notes] };
}

async function measureServer(config: HttpConfig, path: string, who: "drover" | "baseline"): Promise<HttpRow> {
  if (who === "baseline") await createDroverSchema(path);
  const child =
    who === "drover"
      ? spawn(process.execPath, [`${ROOT}/examples/payments/dist/main.js`], {
          env: {
            ...process.env,
            DROVER_PORT: "0",
            DROVER_DB: `sqlite:${path}`,
            DROVER_DATA_DIR: `${path}.data`,
            DROVER_ADMIN_TOKEN: TOKEN,
            DROVER_LOG_LEVEL: "warn",
            PAYMENTS_PROVIDER_LATENCY_MS: "0",
          },
          stdio: ["ignore", "pipe", "pipe"],
        })
      : spawn(process.execPath, [fileURLToPath(new URL("./http-baseline.js", import.meta.url)), path], {
          stdio: ["ignore", "pipe", "pipe"],
        });
  try {
    const url = await listeningUrl(child);
    const run = randomBytes(4).toString("hex");
    const body =
      who === "drover"
        ? JSON.stringify({ type: "RequestPayment", amount: 125_000, currency: "EUR", customerId: "cus_42" })
        : JSON.stringify({ type: "RequestPayment", amount: 125_000 });
    const loadStarted = Date.now();
    const result = await drive({
      url,
      connections: config.connections,
      seconds: config.seconds,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      pathPrefix: `/v1/payments/pay_${run}`,
      pathSuffix: "/events",
      body,
    });
    const loadEnded = Date.now();
    await stopped(child);
    const stored = countEntities(path, who === "drover" ? "payments" : BENCH_MACHINE);
    const steps = countSteps(path, loadStarted, loadEnded);
    const consistent = result.non2xx === 0 && result.errors === 0 && stored >= result.ok && stored <= result.sentAtMost;
    return {
      label:
        who === "drover"
          ? `drover serve over HTTP (payments, provider latency 0), ${config.connections} connections`
          : `bare Fastify route + hand-written transaction per request, ${config.connections} connections`,
      durability: DURABILITY,
      requests: result.completed,
      requestsPerSecond: result.requestsPerSecond,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      stored,
      stepsPerSecond: steps / ((loadEnded - loadStarted) / 1000),
      consistent,
      notes: [
        `${result.generator}: ${result.ok} answered 2xx, ${result.non2xx} other, ${result.errors} errors, ${stored} stored`,
        `${Math.round(steps / ((loadEnded - loadStarted) / 1000))} steps/s applied during the run`,
        ...(who === "drover" ? ["each payment's provider follow-up also runs (dispatcher)"] : []),
      ],
    };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

/** The URL a child prints once it listens (`drover serve`'s line, or the baseline's JSON). */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`the server did not start in 30 s: ${err || out}`)), 30_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)|"url":"(http:\/\/[^"]+)"/.exec(out);
      const url = match?.[1] ?? match?.[2];
      if (url !== undefined) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before listening: ${err || out}`));
    });
  });
}

/** SIGTERM, then wait: both servers finish what is in flight and close their database. */
function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

function countEntities(path: string, machine: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return Number(db.prepare("SELECT count(*) FROM entities WHERE machine = ?").pluck().get(machine) ?? 0);
  } finally {
    db.close();
  }
}

/** Journal rows (accepted steps) whose time falls between `from` and `to`, epoch ms. */
function countSteps(path: string, from: number, to: number): number {
  const db = new Database(path, { readonly: true });
  try {
    return Number(db.prepare("SELECT count(*) FROM journal WHERE at BETWEEN ? AND ?").pluck().get(from, to) ?? 0);
  } finally {
    db.close();
  }
}
