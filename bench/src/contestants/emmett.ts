import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { exec, lastLines } from "../child.js";
import type { Timing } from "../measure.js";

/**
 * Emmett's own folder: not a workspace (its node `sqlite3` compiles from source here, ~2 min,
 * and must not slow down or break the main `npm ci`), installed on demand from its lock file.
 */
export const EMMETT_DIR = fileURLToPath(new URL("../../contestants/emmett-sqlite/", import.meta.url));
const SCRIPT = `${EMMETT_DIR}emmett-bench.mjs`;
const INSTALLED = [
  "node_modules/@event-driven-io/emmett-sqlite/package.json",
  "node_modules/@event-driven-io/emmett/package.json",
  "node_modules/sqlite3/build/Release/node_sqlite3.node",
];

/** What the Emmett child reports (its last line of output). */
interface ChildReport {
  readonly events: number;
  readonly applied: number;
  readonly seconds: number;
  readonly latenciesMs: readonly [number | null, number | null];
  readonly synchronous: string;
  readonly journalMode: string;
  readonly stored: number | null;
  readonly busyRetries: number;
  readonly error?: string;
}

/** An Emmett run: a timing, or why there is none. */
export type EmmettOutcome =
  | {
      readonly ok: true;
      readonly timing: Timing;
      readonly synchronous: string;
      readonly journalMode: string;
      readonly stored: number | null;
      readonly busyRetries: number;
    }
  | { readonly ok: false; readonly error: string; readonly partial?: Timing };

/** Is Emmett installed in its folder? */
export function emmettInstalled(): boolean {
  return INSTALLED.every((file) => existsSync(`${EMMETT_DIR}${file}`));
}

/**
 * Install Emmett from its lock file (`npm ci` in its folder). Resolves to undefined on
 * success, or to the reason it failed (never throws: a failed install is a result).
 */
export async function installEmmett(log: (line: string) => void): Promise<string | undefined> {
  log(`installing Emmett in ${EMMETT_DIR} (npm ci; node sqlite3 compiles from source, ~2 min)…`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const { code, output } = await exec(
    npm,
    ["ci", "--no-audit", "--no-fund", "--prefix", EMMETT_DIR],
    20 * 60_000,
    EMMETT_DIR,
  );
  if (code !== 0) return `npm ci failed (exit ${code}): ${lastLines(output, 6)}`;
  if (!emmettInstalled()) return `npm ci succeeded but the sqlite3 addon is missing: ${lastLines(output, 6)}`;
  return undefined;
}

/**
 * Run Emmett (SQLite event store + DeciderCommandHandler) in a child process of its own on a
 * fresh database file: `events` commands over `entities` streams, one at a time.
 */
export async function runEmmett(path: string, entities: number, events: number): Promise<EmmettOutcome> {
  const { code, output, stdout, timedOut } = await exec(
    process.execPath,
    [SCRIPT, JSON.stringify({ db: path, entities, events })],
    10 * 60_000,
    EMMETT_DIR,
  );
  const last = stdout.trim().split("\n").at(-1) ?? "";
  let report: ChildReport;
  try {
    report = JSON.parse(last) as ChildReport;
  } catch {
    const why = timedOut ? "timed out" : `exited ${code}`;
    return { ok: false, error: `the Emmett child ${why} without a report: ${lastLines(output, 4)}` };
  }
  const timing: Timing = {
    events: report.applied,
    seconds: report.seconds,
    eventsPerSecond: report.applied / report.seconds,
    p50Ms: report.latenciesMs[0] ?? Number.NaN,
    p99Ms: report.latenciesMs[1] ?? Number.NaN,
  };
  if (report.error !== undefined) {
    return {
      ok: false,
      error: `failed after ${report.applied} of ${events} commands: ${report.error}`,
      partial: timing,
    };
  }
  return {
    ok: true,
    timing,
    synchronous: report.synchronous,
    journalMode: report.journalMode,
    stored: report.stored,
    busyRetries: report.busyRetries,
  };
}
