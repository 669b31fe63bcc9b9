import type { EntityRef } from "@drover/core";
import { App, silentLogger } from "@drover/core";
import type { Command } from "commander";
import { Option } from "commander";
import type { DroverConfig } from "../config.js";
import { findConfig, loadConfig, machineNamed } from "../config.js";
import { CliError, ExitCode } from "../exit-code.js";
import type { OpenedStore } from "../store.js";
import { openStore, resolveDataDir, resolveDb } from "../store.js";

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

/** The outcome that is not an exit code: `serve` started and keeps the process alive. */
export const Running = { Running: "running" } as const;

/** What a command's action hands back: an exit code, or {@link Running} for `serve`. */
export type Outcome = ExitCode | (typeof Running)[keyof typeof Running];

/** A machine of the config, as `machineNamed` finds it. */
export type ConfigMachine = ReturnType<typeof machineNamed>;

/** What every command module is given: the io, how to report its outcome, and shared helpers. */
export interface CommandContext {
  readonly io: CliIo;
  /** Report the command's outcome (the exit code `runCli` resolves to). */
  readonly done: (outcome: Outcome) => void;
  /** Write `text` to stdout, with a trailing newline. */
  print(text: string): void;
  /** The global options merged with the command's own. */
  globals(command: Command): GlobalOptions & Record<string, unknown>;
  /** The config, which must exist. */
  config(command: Command): Promise<DroverConfig>;
  /** The config if there is one: commands that need no machines only take its defaults. */
  optionalConfig(command: Command): Promise<DroverConfig | undefined>;
  /** The database `--db`, `DROVER_DB` or the config's defaults name. */
  dbOf(command: Command, cfg: DroverConfig | undefined): string;
}

/** Build the {@link CommandContext} commands of one `runCli` call share. */
export function createContext(io: CliIo, done: (outcome: Outcome) => void): CommandContext {
  const globals = (command: Command) => command.optsWithGlobals<GlobalOptions & Record<string, unknown>>();
  const config = async (command: Command): Promise<DroverConfig> =>
    (await loadConfig(globals(command).config, io.cwd)).config;
  return {
    io,
    done,
    print: (text) => {
      io.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    },
    globals,
    config,
    optionalConfig: async (command) =>
      findConfig(globals(command).config, io.cwd) === undefined ? undefined : config(command),
    dbOf: (command, cfg) =>
      resolveDb(
        globals(command).db as string | undefined,
        io.env,
        cfg?.defaults,
        resolveDataDir(undefined, io.env, cfg?.defaults),
      ),
  };
}

/** The `--db` option, shared by every command that opens the store. */
export function dbOption(): Option {
  return new Option(
    "--db <url>",
    "sqlite:PATH or postgres://… (default: DROVER_DB, else the config's defaults.db, else sqlite:<data dir>/drover.db)",
  );
}

/** Open the store `db` names, hand it to `use`, and close it whatever happens. */
export async function withStore<T>(db: string, use: (store: OpenedStore) => Promise<T>): Promise<T> {
  const store = await openStore(db);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/**
 * Open the store and read it through an {@link App} that is never started: commands query
 * the app as the HTTP edge does, so the store stays a detail of the wiring.
 */
export function withApp<T>(db: string, cfg: DroverConfig | undefined, use: (app: App) => Promise<T>): Promise<T> {
  return withStore(db, (store) => use(new App({ store, machines: cfg?.machines ?? [], logger: silentLogger })));
}

/** `id` parsed by the machine's id schema; a malformed id is a usage error (exit 2). */
export function idOf(machine: ConfigMachine, id: string): string {
  const parsed = machine.schemas.id.safeParse(id);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => i.message).join("; ");
    throw new CliError(`invalid ${machine.name} id ${JSON.stringify(id)}: ${why}`, ExitCode.Usage);
  }
  return parsed.data;
}

/** Add the `<machine> <id>` arguments and `--db` that `inspect` and `history` share. */
export function entityCommand(command: Command): Command {
  return command.argument("<machine>", "machine name").argument("<id>", "entity id").addOption(dbOption());
}

/**
 * Resolve `<machine> <id>` against the config and read the entity through the app: the
 * steps `inspect` and `history` share. Returns the machine, the parsed id and what `read` found.
 */
export async function readEntity<T>(
  context: CommandContext,
  command: Command,
  names: { readonly machine: string; readonly id: string },
  read: (app: App, ref: EntityRef) => Promise<T>,
): Promise<{ machine: ConfigMachine; id: string; found: T }> {
  const cfg = await context.config(command);
  const machine = machineNamed(cfg, names.machine);
  const id = idOf(machine, names.id);
  const found = await withApp(context.dbOf(command, cfg), cfg, (app) => read(app, { machine: machine.name, id }));
  return { machine, id, found };
}

/** The error for an entity that does not exist, naming the events that create one. */
export function notFound(machine: string, id: string, creates: readonly string[]): CliError {
  return new CliError(`no ${machine} ${id}; it is created by ${creates.join(" or ")} (drover send)`, ExitCode.Rejected);
}

/** `text` as a whole number ≥ 0, else a usage error naming `flag`. */
export function wholeNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new CliError(`${flag} must be a whole number, got ${JSON.stringify(text)}`, ExitCode.Usage);
  return n;
}
