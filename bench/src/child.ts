// The benchmark's child processes (Emmett's installs and runs, the memory child, wrk): run one,
// collect what it prints, and read the one-line JSON report it ends with.
import { spawn } from "node:child_process";

/** Run a command (in `cwd`, if given), collecting its output; never rejects. It is killed after `timeoutMs`. */
export function exec(
  command: string,
  args: readonly string[],
  timeoutMs: number,
  cwd?: string,
): Promise<{ code: number | null; output: string; stdout: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...(cwd === undefined ? {} : { cwd }), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let stdout = "";
    let timedOut = false;
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, output: `${output}\n${error.message}`, stdout, timedOut });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output, stdout, timedOut });
    });
  });
}

/** The last `n` lines of `text`, on one line. */
export function lastLines(text: string, n: number): string {
  return text.trim().split("\n").slice(-n).join(" | ");
}

/**
 * Run a command whose last line of standard output is a JSON report, and parse that line; a
 * command that ends without one is an error naming `what` and quoting its last output.
 */
export async function jsonReport<T>(
  what: string,
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<T> {
  const { code, output, stdout, timedOut } = await exec(command, args, timeoutMs);
  try {
    return JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as T;
  } catch {
    const why = timedOut ? `timed out after ${timeoutMs} ms` : `exited ${code}`;
    throw new Error(`${what} ${why} without a report: ${lastLines(output, 6)}`);
  }
}
