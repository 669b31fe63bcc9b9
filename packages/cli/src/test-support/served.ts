// `drover serve` as a child process for the black-box tests that need several of them (NATS,
// PostgreSQL): started with flags and environment, ready once its output says so, stopped with
// a signal (SIGKILL for a crash). Not a test file itself.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { BIN, ROOT } from "./run-drover.js";

const LISTENING = /listening on (http:\/\/\S+)/;

/** One running `drover serve`. */
export class Served {
  readonly #child: ChildProcess;
  readonly #output: { text: string };
  readonly url: string;
  readonly exited: Promise<number | null>;

  private constructor(child: ChildProcess, output: { text: string }, url: string, exited: Promise<number | null>) {
    this.#child = child;
    this.#output = output;
    this.url = url;
    this.exited = exited;
  }

  /**
   * Start `drover serve --port 0 …args` and resolve once its output matches `ready` (default:
   * the listening line); rejects with its output when it exits first or takes over 30 s.
   */
  static async start(
    args: readonly string[],
    options: { env?: Record<string, string>; ready?: RegExp; cwd?: string; bin?: string } = {},
  ): Promise<Served> {
    const child = spawn(process.execPath, [options.bin ?? BIN, "serve", "--port", "0", ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, DROVER_LOG_LEVEL: "warn", DROVER_DB: undefined, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    process.once("exit", () => child.kill("SIGKILL"));
    const output = { text: "" };
    const append = (chunk: Buffer) => {
      output.text += chunk.toString();
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const ready = options.ready ?? LISTENING;
    const deadline = Date.now() + 30_000;
    while (!ready.test(output.text)) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`drover serve exited (${child.exitCode ?? child.signalCode}):\n${output.text}`);
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`drover serve was not ready within 30 s:\n${output.text}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return new Served(child, output, LISTENING.exec(output.text)?.[1] ?? "", exited);
  }

  /** What it printed so far, stdout and stderr. */
  output(): string {
    return this.#output.text;
  }

  /** Send `signal` (default SIGTERM) and wait for the exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
    return this.exited;
  }
}
