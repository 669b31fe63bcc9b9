import { Command, CommanderError } from "commander";
import { checkCommand } from "./commands/check.js";
import type { CliIo, Outcome } from "./commands/context.js";
import { createContext, Running } from "./commands/context.js";
import { diagramCommand } from "./commands/diagram.js";
import { historyCommand } from "./commands/history.js";
import { initCommand } from "./commands/init.js";
import { inspectCommand } from "./commands/inspect.js";
import { migrateCommand } from "./commands/migrate.js";
import { outboxCommand } from "./commands/outbox.js";
import { replayCommand } from "./commands/replay.js";
import { sendCommand } from "./commands/send.js";
import { serveCommand } from "./commands/serve.js";
import { timersCommand } from "./commands/timers.js";
import { tokenCommand } from "./commands/token.js";
import { upgradeCommand } from "./commands/upgrade.js";
import { ExitCode, exitCodeOf } from "./exit-code.js";

/**
 * Run the `drover` command line with `argv` (without `node` and the script). Resolves to the
 * exit code, or `undefined` when a server was started and keeps the process alive. Never
 * throws: errors are one line on stderr (`--verbose` adds the stack).
 *
 * @example
 * const code = await runCli(["inspect", "payments", "pay_0123456789abcdef", "--json"]);
 * if (code !== undefined) process.exitCode = code;
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo()): Promise<ExitCode | undefined> {
  let outcome = ExitCode.Ok as Outcome;
  const program = buildProgram(io, (result) => {
    outcome = result;
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    // With --json, a failure is also a JSON object on stdout, so a script parses every outcome.
    const json = argv.includes("--json");
    if (error instanceof CommanderError) {
      if (error.exitCode === 0 || error.code === "commander.helpDisplayed" || error.code === "commander.version") {
        return ExitCode.Ok;
      }
      if (json) writeJsonError(io, ExitCode.Usage, error.message.replace(/^error: /, ""));
      return ExitCode.Usage;
    }
    const verbose = argv.includes("--verbose");
    io.stderr.write(`drover: ${oneLine(error)}\n`);
    if (verbose) io.stderr.write(`${stackOf(error)}\n`);
    const code = exitCodeOf(error);
    if (json) writeJsonError(io, code, oneLine(error));
    return code;
  }
  return outcome === Running.Running ? undefined : outcome;
}

function writeJsonError(io: CliIo, exitCode: ExitCode, message: string): void {
  io.stdout.write(`${JSON.stringify({ kind: "error", exitCode, message })}\n`);
}

/** The program with its global options; each command registers itself from its own module. */
function buildProgram(io: CliIo, done: (outcome: Outcome) => void): Command {
  const program = new Command("drover")
    .description("drover: run and operate pure domain state machines (DESIGN §7)")
    .option("-c, --config <path>", "the config file (default: drover.config.ts, .js or .mjs in the working directory)")
    .option("--json", "print machine-readable JSON")
    .option("--verbose", "print stack traces with errors")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`drover: ${text.replace(/^error: /, "").trim()} (see drover --help)\n`),
    })
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 rejected or not found, 2 usage or invalid input, 3 infrastructure (database, port).",
    );
  const context = createContext(io, done);
  // Registered in this order because `drover --help` lists the commands in it.
  for (const register of [
    initCommand,
    serveCommand,
    sendCommand,
    inspectCommand,
    historyCommand,
    outboxCommand,
    timersCommand,
    replayCommand,
    upgradeCommand,
    diagramCommand,
    checkCommand,
    migrateCommand,
    tokenCommand,
  ]) {
    register(program, context);
  }
  return program;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]?.trim() || "unknown error";
}

function stackOf(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 5; e = (e as { cause?: unknown }).cause) {
    parts.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    if (!(e instanceof Error)) break;
  }
  return parts.join("\ncaused by: ");
}

function defaultIo(): CliIo {
  return { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}
