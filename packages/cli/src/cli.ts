import { checkMain } from "@drover/check";
import { InvalidReason, OutboxStatus, RunResultKind, Runtime } from "@drover/core";
import { parseScopes, TokenStore } from "@drover/http";
import { Command, CommanderError, Option } from "commander";
import type { DroverConfig } from "./config.js";
import { findConfig, loadConfig, machineNamed } from "./config.js";
import { diagramCommand } from "./diagram-command.js";
import { CliError, ExitCode, exitCodeOf } from "./exit-code.js";
import {
  describeEntity,
  describeEntry,
  describeOutbox,
  describeResult,
  entityJson,
  exitCodeOfResult,
  journalJson,
  outboxJson,
} from "./format.js";
import { replayCommand } from "./replay-command.js";
import { serveUntilSignalled } from "./serve.js";
import type { OpenedStore } from "./store.js";
import { describeDb, openStore, resolveDataDir, resolveDb } from "./store.js";

/** Options every command takes. */
export interface GlobalOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

/** Where a command runs: its environment, directory and output streams. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdout: NodeJS.WriteStream | NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Where `send … -` reads its event from (default: none, so `-` is refused). */
  readonly stdin?: NodeJS.ReadableStream;
}

/** What a command's action hands back: an exit code, or `"running"` for `serve`. */
type Outcome = ExitCode | "running";

const EVENT_EXAMPLE = `'{"type":"CancelPayment"}'`;

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
  return outcome === "running" ? undefined : outcome;
}

function writeJsonError(io: CliIo, exitCode: ExitCode, message: string): void {
  io.stdout.write(`${JSON.stringify({ kind: "error", exitCode, message })}\n`);
}

function buildProgram(io: CliIo, done: (outcome: Outcome) => void): Command {
  const print = (text: string) => io.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
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

  const globals = (command: Command) => command.optsWithGlobals<GlobalOptions & Record<string, unknown>>();
  const config = async (command: Command): Promise<DroverConfig> =>
    (await loadConfig(globals(command).config, io.cwd)).config;
  /** The config if there is one: commands that need no machines only take its defaults. */
  const optionalConfig = async (command: Command): Promise<DroverConfig | undefined> =>
    findConfig(globals(command).config, io.cwd) === undefined ? undefined : config(command);
  const dbOption = () =>
    new Option("--db <url>", "sqlite:PATH or postgres://… (default: DROVER_DB, else sqlite:./data/drover.db)");
  const withStore = async <T>(db: string, use: (store: OpenedStore) => Promise<T>): Promise<T> => {
    const store = await openStore(db);
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  };
  const dbOf = (command: Command, cfg: DroverConfig | undefined) =>
    resolveDb(
      globals(command).db as string | undefined,
      io.env,
      cfg?.defaults,
      resolveDataDir(undefined, io.env, cfg?.defaults),
    );
  const idOf = (cfgMachine: ReturnType<typeof machineNamed>, id: string): string => {
    const parsed = cfgMachine.schemas.id.safeParse(id);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => i.message).join("; ");
      throw new CliError(`invalid ${cfgMachine.name} id ${JSON.stringify(id)}: ${why}`, ExitCode.Usage);
    }
    return parsed.data;
  };

  program
    .command("serve")
    .description("serve the config's application over HTTP: API, dashboard, dispatcher and scheduler")
    .option("--port <port>", "port to listen on (DROVER_PORT, default 3000; 0 picks a free one)")
    .option("--host <host>", "address to bind (DROVER_HOST, default 127.0.0.1)")
    .addOption(dbOption())
    .option("--data-dir <dir>", "tokens and the default SQLite file (DROVER_DATA_DIR, default ./data)")
    .addHelpText(
      "after",
      "\nDROVER_ADMIN_TOKEN: an admin token to accept (then none is generated). SIGTERM/SIGINT drain and exit 0.",
    )
    .action(async (options: { port?: string; host?: string; db?: string; dataDir?: string }, command: Command) => {
      await serveUntilSignalled(await config(command), {
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.host === undefined ? {} : { host: options.host }),
        ...(options.db === undefined ? {} : { db: options.db }),
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      });
      done("running");
    });

  program
    .command("send")
    .description("apply one event to one entity through the runtime (no HTTP) and print the result")
    .argument("<machine>", "machine name, e.g. payments")
    .argument("<id>", "entity id")
    .argument("<event-json>", `the event as a JSON object, e.g. ${EVENT_EXAMPLE}; - reads it from stdin`)
    .option("--idempotency-key <key>", "the event's id: sending it again answers the first outcome (duplicate)")
    .option("--internal", "allow an event type that only drover sends (effect follow-ups, timers), for repairs")
    .addOption(dbOption())
    .addHelpText(
      "after",
      "\nExit: 0 processed, 1 rejected or not found, 2 invalid, 3 conflict or database unavailable.",
    )
    .action(
      async (
        machineName: string,
        id: string,
        eventJson: string,
        options: { idempotencyKey?: string; internal?: boolean },
        command: Command,
      ) => {
        const cfg = await config(command);
        const machine = machineNamed(cfg, machineName);
        const event = parseEvent(eventJson === "-" ? await readAll(io.stdin) : eventJson);
        const type = (event as { type?: unknown }).type;
        if (typeof type === "string" && machine.internal.includes(type) && options.internal !== true) {
          throw new CliError(
            `${type} is sent by drover itself (effects and timers), not by callers; add --internal to send it anyway`,
            ExitCode.Usage,
          );
        }
        const result = await withStore(dbOf(command, cfg), (store) =>
          new Runtime({ store, machines: cfg.machines, groupCommit: false }).run({ machine: machine.name, id }, event, {
            ...(options.idempotencyKey === undefined ? {} : { eventId: options.idempotencyKey }),
          }),
        );
        if (result.kind === RunResultKind.Invalid && result.reason === InvalidReason.InvalidEventId) {
          throw new CliError(`--idempotency-key ${result.message.replace(/^an event id/, "")}`, ExitCode.Usage);
        }
        print(globals(command).json ? JSON.stringify(result) : describeResult(result));
        done(exitCodeOfResult(result));
      },
    );

  program
    .command("inspect")
    .description("print an entity: version, times and state")
    .argument("<machine>", "machine name")
    .argument("<id>", "entity id")
    .addOption(dbOption())
    .action(async (machineName: string, rawId: string, _options: unknown, command: Command) => {
      const cfg = await config(command);
      const machine = machineNamed(cfg, machineName);
      const id = idOf(machine, rawId);
      const entity = await withStore(dbOf(command, cfg), (store) => store.getEntity({ machine: machine.name, id }));
      if (entity === undefined) throw notFound(machine.name, id, machine.creates);
      print(globals(command).json ? JSON.stringify(entityJson(entity)) : describeEntity(entity));
      done(ExitCode.Ok);
    });

  program
    .command("history")
    .description("print an entity's journal, oldest first: every accepted event and what it led to")
    .argument("<machine>", "machine name")
    .argument("<id>", "entity id")
    .addOption(dbOption())
    .action(async (machineName: string, rawId: string, _options: unknown, command: Command) => {
      const cfg = await config(command);
      const machine = machineNamed(cfg, machineName);
      const id = idOf(machine, rawId);
      const entries = await withStore(dbOf(command, cfg), (store) => store.history({ machine: machine.name, id }));
      if (entries.length === 0) throw notFound(machine.name, id, machine.creates);
      print(
        globals(command).json
          ? JSON.stringify({ machine: machine.name, id, entries: entries.map(journalJson) })
          : [
              `${machine.name} ${id}: ${entries.length} event${entries.length === 1 ? "" : "s"}`,
              ...entries.map(describeEntry),
            ].join("\n"),
      );
      done(ExitCode.Ok);
    });

  program
    .command("outbox")
    .description("list pending intents (or dead letters with --dead); --retry ID gives a dead letter new attempts")
    .option("--dead", "list dead letters: intents that failed for good")
    .option("--retry <intentId>", "make a dead intent pending again (a running server then executes it)")
    .option("--limit <n>", "at most this many rows", "100")
    .addOption(dbOption())
    .action(async (options: { dead?: boolean; retry?: string; limit: string }, command: Command) => {
      const cfg = await optionalConfig(command);
      const json = globals(command).json === true;
      const limit = Number(options.limit);
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new CliError(`--limit must be a whole number ≥ 1, got ${JSON.stringify(options.limit)}`, ExitCode.Usage);
      }
      await withStore(dbOf(command, cfg), async (store) => {
        if (options.retry !== undefined) {
          const intentId = options.retry;
          if (await store.retryDead(intentId, Date.now())) {
            print(
              json
                ? JSON.stringify({ intentId, status: OutboxStatus.Pending })
                : `intent ${intentId} is pending again; a running server executes it`,
            );
            done(ExitCode.Ok);
            return;
          }
          const found = await store.findOutbox(intentId);
          throw new CliError(
            found === undefined
              ? `no intent ${intentId} in the outbox; list dead letters with drover outbox --dead`
              : `intent ${intentId} is ${found.status}, not dead; only dead letters can be retried`,
            ExitCode.Rejected,
          );
        }
        const status = options.dead === true ? OutboxStatus.Dead : OutboxStatus.Pending;
        const rows = await store.listOutbox({ status, limit });
        const label = status === OutboxStatus.Dead ? "dead letters" : "pending intents";
        print(
          json
            ? JSON.stringify({ status, items: rows.map(outboxJson) })
            : rows.length === 0
              ? `no ${label}`
              : [
                  `${label} (${rows.length}${rows.length === limit ? ", more may follow: raise --limit" : ""}):`,
                  ...rows.map((row) => `  ${describeOutbox(row).replaceAll("\n", "\n  ")}`),
                ].join("\n"),
        );
        done(ExitCode.Ok);
      });
    });

  program
    .command("replay")
    .description("re-run the journal through the current code and report every divergence (exit 1 if any)")
    .argument("<machine>", "machine name")
    .argument("[id]", "only this entity (default: every entity of the machine)")
    .addOption(dbOption())
    .action(async (machineName: string, rawId: string | undefined, _options: unknown, command: Command) => {
      const cfg = await config(command);
      const machine = machineNamed(cfg, machineName);
      const id = rawId === undefined ? undefined : idOf(machine, rawId);
      const code = await withStore(dbOf(command, cfg), (store) =>
        replayCommand({ store, machine, id, json: globals(command).json === true, io }),
      );
      done(code);
    });

  program
    .command("diagram")
    .description("print a Mermaid stateDiagram-v2 of a machine, found by running it (never a hand-kept copy)")
    .argument("<machine>", "machine name")
    .option("--seed <n>", "seed of the generated events", "1")
    .option("--samples <n>", "random payloads per event type and state", "16")
    .action(async (machineName: string, options: { seed: string; samples: string }, command: Command) => {
      const cfg = await config(command);
      const machine = machineNamed(cfg, machineName);
      const seed = wholeNumber("--seed", options.seed);
      const samples = wholeNumber("--samples", options.samples);
      print(diagramCommand(machine, { seed, samplesPerEvent: samples }, globals(command).json === true));
      done(ExitCode.Ok);
    });

  program
    .command("check")
    .description(
      "check TypeScript sources for drover's cognitive rules (pure machines, no domain branching outside the domain, smart enums, value objects); exit 1 on findings",
    )
    .argument("[args...]", "drover-check's options and paths (see drover check --help)")
    // Everything after `check` is drover-check's own command line, its --help included.
    .helpOption(false)
    .allowUnknownOption()
    .action((args: string[], _options: unknown, command: Command) => {
      const write = (stream: NodeJS.WritableStream) => (text: string) => {
        stream.write(`${text}\n`);
      };
      // --json is also drover's global option, which commander takes before the command sees it.
      const argv = globals(command).json === true ? ["--json", ...args] : args;
      const status = checkMain(argv, io.cwd, { out: write(io.stdout), err: write(io.stderr) });
      done(status === 0 ? ExitCode.Ok : status === 1 ? ExitCode.Rejected : ExitCode.Usage);
    });

  program
    .command("migrate")
    .description("apply the store's migrations and report its schema version")
    .addOption(dbOption())
    .action(async (_options: unknown, command: Command) => {
      const cfg = await optionalConfig(command);
      const db = dbOf(command, cfg);
      const { from, to, applied } = await withStore(db, async (store) => store.migration);
      const where = describeDb(db);
      print(
        globals(command).json
          ? JSON.stringify({ db: where, from, to, applied })
          : applied.length === 0
            ? `${where}: drover schema version ${to}, nothing to migrate`
            : `${where}: migrated from drover schema version ${from} to ${to} (applied ${applied.join(", ")})`,
      );
      done(ExitCode.Ok);
    });

  const token = program
    .command("token")
    .description("manage the HTTP API's bearer tokens (kept hashed in <data dir>/tokens.json)");
  const dataDirOption = () =>
    new Option("--data-dir <dir>", "the server's data directory (DROVER_DATA_DIR, default ./data)");
  token
    .command("create")
    .description("mint a token and print it once")
    .requiredOption("--scopes <scopes>", "comma-separated: read, write, admin (admin > write > read)")
    .option("--name <name>", "a label, e.g. grafana")
    .addOption(dataDirOption())
    .action(async (options: { scopes: string; name?: string; dataDir?: string }, command: Command) => {
      const cfg = await optionalConfig(command);
      const dataDir = resolveDataDir(options.dataDir, io.env, cfg?.defaults);
      const scopes = parseScopes(options.scopes);
      const tokens = TokenStore.open(dataDir);
      const created = tokens.create({ scopes, ...(options.name === undefined ? {} : { name: options.name }) });
      print(
        globals(command).json
          ? JSON.stringify(created)
          : `token ${created.id} (${created.scopes.join(", ")}); shown once, stored hashed in ${tokens.file}:\n${created.token}`,
      );
      done(ExitCode.Ok);
    });
  token
    .command("list")
    .description("list tokens (never their secrets)")
    .addOption(dataDirOption())
    .action(async (options: { dataDir?: string }, command: Command) => {
      const cfg = await optionalConfig(command);
      const list = TokenStore.open(resolveDataDir(options.dataDir, io.env, cfg?.defaults)).list();
      print(
        globals(command).json
          ? JSON.stringify({ tokens: list })
          : list.length === 0
            ? "no tokens"
            : list.map((t) => `${t.id}  ${t.scopes.join(",")}  ${t.createdAt}  ${t.name ?? ""}`.trimEnd()).join("\n"),
      );
      done(ExitCode.Ok);
    });
  token
    .command("revoke")
    .description("revoke a token by id (a running server stops accepting it at once)")
    .argument("<id>", "token id, tok_…")
    .addOption(dataDirOption())
    .action(async (id: string, options: { dataDir?: string }, command: Command) => {
      const cfg = await optionalConfig(command);
      const revoked = TokenStore.open(resolveDataDir(options.dataDir, io.env, cfg?.defaults)).revoke(id);
      if (!revoked) throw new CliError(`no token ${id}; list them with drover token list`, ExitCode.Rejected);
      print(globals(command).json ? JSON.stringify({ id, revoked: true }) : `token ${id} revoked`);
      done(ExitCode.Ok);
    });

  return program;
}

function parseEvent(text: string): object {
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new CliError(
      `<event-json> is not valid JSON (${why}); pass one JSON object in quotes, e.g. ${EVENT_EXAMPLE}`,
      ExitCode.Usage,
    );
  }
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new CliError(`<event-json> must be a JSON object with a "type", e.g. ${EVENT_EXAMPLE}`, ExitCode.Usage);
  }
  return event;
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (stream === undefined)
    throw new CliError("<event-json> is -, but there is no stdin to read it from", ExitCode.Usage);
  let text = "";
  for await (const chunk of stream) text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
  return text;
}

function notFound(machine: string, id: string, creates: readonly string[]): CliError {
  return new CliError(`no ${machine} ${id}; it is created by ${creates.join(" or ")} (drover send)`, ExitCode.Rejected);
}

function wholeNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new CliError(`${flag} must be a whole number, got ${JSON.stringify(text)}`, ExitCode.Usage);
  return n;
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
