import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AnyMachine, Effects, Logger, RecurringSchedule } from "@drover/core";
import { CliError, ExitCode } from "./exit-code.js";

/** What an effects factory is given when `drover serve` wires the app. */
export interface EffectsContext {
  /** The environment (`process.env`), for settings such as a provider's URL. */
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
}

/** Defaults of the settings `drover serve` and the data commands take (flags and env win). */
export interface ConfigDefaults {
  /** `sqlite:PATH` or `postgres://…` (else `DROVER_DB`, else `sqlite:<data dir>/drover.db`). */
  readonly db?: string;
  /** Where tokens (and the default SQLite file) live (default `./data`). */
  readonly dataDir?: string;
  readonly port?: number;
  readonly host?: string;
  /** Attempts at an intent before it is dead-lettered, and firings of a timer before it is dead (default 10). */
  readonly maxAttempts?: number;
  /** The delay before the first retry of an intent or a timer, in ms (default 500; it doubles up to 60 s). */
  readonly backoffMs?: number;
}

/**
 * A drover application as the CLI and the server find it in `drover.config.ts`: its machines,
 * a factory for its effect handlers, and defaults.
 */
export interface DroverConfig {
  /** A name for messages: `drover <name> listening on …` (default `"app"`). */
  readonly name?: string;
  readonly machines: readonly AnyMachine[];
  /** Makes the effect handlers; only `drover serve` calls it (the other commands run no effects). */
  readonly effects?: (context: EffectsContext) => readonly Effects[] | Promise<readonly Effects[]>;
  readonly defaults?: ConfigDefaults;
  /** What `drover serve --nats` (`DROVER_NATS`) does on NATS besides running the events it consumes. */
  readonly nats?: NatsConfig;
  /**
   * Events `drover serve` sends on cron schedules, e.g.
   * `{ cron: "0 3 * * *", tz: "Europe/Paris", machine: "subscriptions", id: "sub_billing", event: { type: "Bill" } }`:
   * each occurrence once across all processes (its instant is in the event id); after
   * downtime the latest missed occurrence fires once on start.
   */
  readonly schedules?: readonly RecurringSchedule[];
}

/** The NATS part of a config; it does nothing until NATS is switched on (`--nats`, `DROVER_NATS`). */
export interface NatsConfig {
  /**
   * Intent types published to `drover.<machine>.intents.<type>` (for other services to consume)
   * instead of being run by this config's effect handlers, e.g. `["NotifyCustomer"]`.
   */
  readonly publish?: readonly string[];
}

/**
 * Declare the application in `drover.config.ts` (or `.js`, `.mjs`): the CLI and `drover serve`
 * load its default export. Returns its argument, typed.
 *
 * @example
 * // drover.config.ts
 * import { defineConfig } from "@drover/cli";
 * // doors and doorEffects: the application's machine and its effects (e.g. exported by src/doors.ts)
 *
 * export default defineConfig({
 *   name: "doors",
 *   machines: [doors],
 *   effects: ({ env }) => [doorEffects({ bellUrl: env.BELL_URL ?? "http://127.0.0.1:9000" })],
 *   defaults: { db: "sqlite:./data/doors.db" },
 * });
 */
export function defineConfig(config: DroverConfig): DroverConfig {
  return config;
}

/** The file names looked for in the working directory, in this order. */
export const CONFIG_FILES = ["drover.config.ts", "drover.config.js", "drover.config.mjs"] as const;

/** A loaded config and where it came from. */
export interface LoadedConfig {
  readonly path: string;
  readonly config: DroverConfig;
}

/** Where the config is: `--config PATH`, else the first of {@link CONFIG_FILES} in `cwd`; undefined if none. */
export function findConfig(explicit: string | undefined, cwd: string): string | undefined {
  if (explicit !== undefined) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path)) {
      throw new CliError(`config file ${path} does not exist; fix the --config path`, ExitCode.Usage);
    }
    return path;
  }
  return CONFIG_FILES.map((name) => resolve(cwd, name)).find((path) => existsSync(path));
}

/**
 * Load the config: `--config PATH` or `drover.config.ts|js|mjs` in `cwd`. TypeScript configs
 * are loaded through jiti (Node 20 cannot import `.ts` itself). Throws a {@link CliError}
 * (exit 2) when there is none or it is not a config.
 */
export async function loadConfig(explicit: string | undefined, cwd: string): Promise<LoadedConfig> {
  const path = findConfig(explicit, cwd);
  if (path === undefined) {
    throw new CliError(
      `no drover.config.ts (or .js, .mjs) in ${cwd}; run drover where your config is, or pass --config PATH`,
      ExitCode.Usage,
    );
  }
  let loaded: unknown;
  try {
    loaded = await importConfig(path);
  } catch (error) {
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new CliError(`cannot load config ${path}: ${why}`, ExitCode.Usage, { cause: error });
  }
  return { path, config: checkConfig(loaded, path) };
}

async function importConfig(path: string): Promise<unknown> {
  if (/\.[cm]?ts$/.test(path)) {
    const { createJiti } = await import("jiti");
    const jiti = createJiti(import.meta.url, { moduleCache: true, fsCache: false });
    return jiti.import(path, { default: true });
  }
  const module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  return module.default;
}

function checkConfig(value: unknown, path: string): DroverConfig {
  const fix = "export default defineConfig({ machines: [...] })";
  if (typeof value !== "object" || value === null) {
    throw new CliError(`config ${path} has no default export object; ${fix}`, ExitCode.Usage);
  }
  const config = value as Partial<DroverConfig>;
  if (!Array.isArray(config.machines) || config.machines.length === 0) {
    throw new CliError(`config ${path} names no machines; ${fix}`, ExitCode.Usage);
  }
  for (const machine of config.machines as unknown[]) {
    const m = machine as Partial<AnyMachine> | null;
    if (typeof m?.name !== "string" || typeof m.handle !== "function" || typeof m.schemas !== "object") {
      throw new CliError(`config ${path} lists something that is not a machine (use defineMachine)`, ExitCode.Usage);
    }
  }
  const publish = (config.nats as { publish?: unknown } | undefined)?.publish;
  if (
    (config.nats !== undefined && (typeof config.nats !== "object" || config.nats === null)) ||
    (publish !== undefined && (!Array.isArray(publish) || !publish.every((type) => typeof type === "string")))
  ) {
    throw new CliError(`config ${path}: nats must be { publish: ["IntentType", …] }`, ExitCode.Usage);
  }
  const schedules = config.schedules as unknown;
  if (
    schedules !== undefined &&
    (!Array.isArray(schedules) ||
      !schedules.every(
        (s: unknown) =>
          typeof s === "object" &&
          s !== null &&
          typeof (s as RecurringSchedule).cron === "string" &&
          typeof (s as RecurringSchedule).machine === "string" &&
          typeof (s as RecurringSchedule).id === "string" &&
          "event" in s,
      ))
  ) {
    throw new CliError(
      `config ${path}: schedules must be [{ cron: "0 3 * * *", machine, id, event, tz? }, …]`,
      ExitCode.Usage,
    );
  }
  if (config.effects !== undefined && typeof config.effects !== "function") {
    throw new CliError(`config ${path}: effects must be a function ({ env, logger }) => Effects[]`, ExitCode.Usage);
  }
  return config as DroverConfig;
}

/** The machine named `name`, or a usage error listing the known ones. */
export function machineNamed(config: DroverConfig, name: string): AnyMachine {
  const machine = config.machines.find((m) => m.name === name);
  if (machine === undefined) {
    const known = config.machines.map((m) => m.name).join(", ");
    throw new CliError(`unknown machine "${name}"; this config has: ${known}`, ExitCode.Usage);
  }
  return machine;
}
