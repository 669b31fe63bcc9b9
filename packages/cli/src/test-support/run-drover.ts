// How the black-box tests run the `drover` command: the built bin as a child process.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The CLI package's folder. */
export const PACKAGE = fileURLToPath(new URL("../..", import.meta.url));
/** The `drover` executable. */
export const BIN = join(PACKAGE, "bin", "drover.js");
/** The repository root (where the payments example's drover.config.ts is). */
export const ROOT = join(PACKAGE, "..", "..");

/** What a finished `drover …` run left. */
export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run `drover …` to completion, without the caller's `DROVER_DB` and `DROVER_DATA_DIR`. Runs
 * in the repo root (where drover.config.ts is) unless told.
 *
 * @example
 * const ran = drover(["inspect", "payments", id, "--db", db, "--json"]);
 * assert.equal(ran.code, 0, ran.stderr);
 */
export function drover(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): Ran {
  const env: Record<string, string | undefined> = { ...process.env, DROVER_DB: undefined, DROVER_DATA_DIR: undefined };
  const run = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...env, DROVER_LOG_LEVEL: "warn", ...options.env } as NodeJS.ProcessEnv,
    encoding: "utf8",
    timeout: 60_000,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** One line on stderr, `drover: …` matching `pattern`, no stack trace. */
export function assertOneLine(ran: Ran, pattern: RegExp): void {
  const lines = ran.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${ran.stderr}`);
  assert.match(lines[0] ?? "", /^drover: /);
  assert.match(lines[0] ?? "", pattern);
  assert.doesNotMatch(ran.stderr, /\n\s+at /);
}
