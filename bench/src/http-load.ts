// The load generators of the HTTP rows: wrk (Debian's package, C, one thread) when it is on the
// PATH, else autocannon (npm, JavaScript). On this 2-core machine the generator shares the cores
// with the server: autocannon used about a third of one core at ~7,000 requests/s and the
// server waited for it (~26% of its main thread idle); wrk needs a fraction of that, so the
// server's figure is more nearly its own (drover serve ~7,500 → ~9,000 requests/s).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { jsonReport } from "./child.js";

/** What to send: POSTs of `body` to `pathOf(n)` for the n-th request, with `headers`. */
export interface Load {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The n-th request's path is `${pathPrefix}${n}${pathSuffix}`, n zero-padded to 16 digits. */
  readonly pathPrefix: string;
  readonly pathSuffix: string;
  readonly body: string;
}

/** What came back. */
export interface LoadResult {
  readonly generator: "wrk" | "autocannon";
  /** Requests answered. */
  readonly completed: number;
  /** Requests that may have reached the server: the answered ones and those in flight at the end. */
  readonly sentAtMost: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** wrk if installed (`DROVER_BENCH_LOADGEN=autocannon` forces autocannon). */
export async function drive(load: Load): Promise<LoadResult> {
  const choice = process.env.DROVER_BENCH_LOADGEN;
  if (choice !== "autocannon" && (choice === "wrk" || (await hasWrk()))) return driveWrk(load);
  return driveAutocannon(load);
}

function hasWrk(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("wrk", ["--version"], { stdio: "ignore" });
    child.once("error", () => resolve(false));
    // wrk --version exits 1 after printing its version.
    child.once("exit", () => resolve(true));
  });
}

/**
 * wrk's per-request hook numbers the paths; its `done` hook prints the summary as one line of
 * JSON (requests, non-2xx/3xx answers, socket errors, latency percentiles in µs).
 */
const WRK_SCRIPT = `
local counter = 0
local prefix = ""
local suffix = ""
function init(args)
  prefix = args[1]
  suffix = args[2]
  wrk.method = "POST"
  wrk.body = args[3]
  for i = 4, #args, 2 do wrk.headers[args[i]] = args[i + 1] end
end
function request()
  counter = counter + 1
  return wrk.format(nil, string.format("%s%016d%s", prefix, counter, suffix))
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\n{"requests":%d,"durationUs":%d,"status":%d,"socket":%d,"p50Us":%d,"p99Us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

async function driveWrk(load: Load): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "drover-wrk-"));
  const script = join(dir, "load.lua");
  writeFileSync(script, WRK_SCRIPT);
  try {
    const headers = Object.entries(load.headers).flat();
    const args = ["-t1", `-c${load.connections}`, `-d${load.seconds}s`, "-s", script, load.url];
    const summary = await jsonReport<{
      requests: number;
      durationUs: number;
      status: number;
      socket: number;
      p50Us: number;
      p99Us: number;
    }>(
      "wrk",
      "wrk",
      [...args, "--", load.pathPrefix, load.pathSuffix, load.body, ...headers],
      (load.seconds + 60) * 1000,
    );
    return {
      generator: "wrk",
      completed: summary.requests,
      sentAtMost: summary.requests + load.connections,
      ok: summary.requests - summary.status,
      non2xx: summary.status,
      errors: summary.socket,
      requestsPerSecond: summary.requests / (summary.durationUs / 1e6),
      p50Ms: summary.p50Us / 1000,
      p99Ms: summary.p99Us / 1000,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function driveAutocannon(load: Load): Promise<LoadResult> {
  let n = 0;
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.seconds,
    headers: { ...load.headers },
    requests: [
      {
        method: "POST",
        setupRequest: (request) => ({
          ...request,
          path: `${load.pathPrefix}${String(++n).padStart(16, "0")}${load.pathSuffix}`,
          body: load.body,
        }),
      },
    ],
  });
  return {
    generator: "autocannon",
    completed: result.requests.total,
    sentAtMost: result.requests.sent,
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}
