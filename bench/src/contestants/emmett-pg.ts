import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { exec, lastLines } from "../child.js";
import type { Timing } from "../measure.js";

/**
 * Emmett's PostgreSQL folder: not a workspace, its own lock file (`emmett-postgresql` exists
 * only as 0.42.0, with `emmett` 0.42.0, which the SQLite flavour cannot share), installed on
 * demand. Pure JavaScript: `npm ci` takes seconds.
 */
export const EMMETT_PG_DIR = fileURLToPath(new URL("../../contestants/emmett-postgresql/", import.meta.url));
const SCRIPT = `${EMMETT_PG_DIR}emmett-pg-bench.mjs`;
const INSTALLED = [
  "node_modules/@event-driven-io/emmett-postgresql/package.json",
  "node_modules/@event-driven-io/emmett/package.json",
  "node_modules/pg/package.json",
];

/** What the child reports (its last line of output). */
interface ChildReport {
  readonly events: number;
  readonly applied: number;
  readonly seconds: number;
  readonly latenciesMs: readonly [number | null, number | null];
  readonly stored: number | null;
  readonly retries: number;
  readonly settings?: { readonly fsync?: string; readonly synchronous_commit?: string };
  readonly error?: string;
}

/** An Emmett PostgreSQL run: a timing, or why there is none. */
export type EmmettPgOutcome =
  | {
      readonly ok: true;
      readonly timing: Timing;
      readonly stored: number | null;
      readonly retries: number;
      readonly durability: string;
    }
  | { readonly ok: false; readonly error: string };

/** Is Emmett's PostgreSQL flavour installed in its folder? */
export function emmettPgInstalled(): boolean {
  return INSTALLED.every((file) => existsSync(`${EMMETT_PG_DIR}${file}`));
}

/** Install it from its lock file (`npm ci`). Resolves to undefined, or why it failed (never throws). */
export async function installEmmettPg(log: (line: string) => void): Promise<string | undefined> {
  log(`installing Emmett (PostgreSQL) in ${EMMETT_PG_DIR} (npm ci, ~10 s)…`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const { code, output } = await exec(
    npm,
    ["ci", "--no-audit", "--no-fund", "--prefix", EMMETT_PG_DIR],
    10 * 60_000,
    EMMETT_PG_DIR,
  );
  if (code !== 0) return `npm ci failed (exit ${code}): ${lastLines(output, 6)}`;
  if (!emmettPgInstalled()) return `npm ci succeeded but packages are missing: ${lastLines(output, 6)}`;
  return undefined;
}

/**
 * Run Emmett (PostgreSQL event store + DeciderCommandHandler) in a child process of its own on
 * a fresh database: `events` commands over `entities` streams, `concurrency` at a time.
 */
export async function runEmmettPg(
  url: string,
  entities: number,
  events: number,
  concurrency: number,
): Promise<EmmettPgOutcome> {
  const { code, output, stdout, timedOut } = await exec(
    process.execPath,
    [SCRIPT, JSON.stringify({ url, entities, events, concurrency })],
    10 * 60_000,
    EMMETT_PG_DIR,
  );
  const last = stdout.trim().split("\n").at(-1) ?? "";
  let report: ChildReport;
  try {
    report = JSON.parse(last) as ChildReport;
  } catch {
    const why = timedOut ? "timed out" : `exited ${code}`;
    return { ok: false, error: `the Emmett PostgreSQL child ${why} without a report: ${lastLines(output, 4)}` };
  }
  if (report.error !== undefined) {
    return { ok: false, error: `failed after ${report.applied} of ${events} commands: ${report.error}` };
  }
  return {
    ok: true,
    timing: {
      events: report.applied,
      seconds: report.seconds,
      eventsPerSecond: report.applied / report.seconds,
      p50Ms: report.latenciesMs[0] ?? Number.NaN,
      p99Ms: report.latenciesMs[1] ?? Number.NaN,
    },
    stored: report.stored,
    retries: report.retries,
    durability: `fsync=${report.settings?.fsync ?? "?"}, synchronous_commit=${report.settings?.synchronous_commit ?? "?"}`,
  };
}
