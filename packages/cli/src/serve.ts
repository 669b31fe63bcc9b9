import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { Store } from "@drover/core";
import { App, checkInstanceName, DEFAULT_LEASE_MS } from "@drover/core";
import { dashboardAssetsDir } from "@drover/dashboard";
import { serve, settingsFromEnv } from "@drover/http";
import { EVENTS_STREAM, NatsTransport } from "@drover/nats";
import type { Logger as PinoLogger } from "pino";
import type { ConfigDefaults, DroverConfig } from "./config.js";
import { CliError, ExitCode } from "./exit-code.js";
import { serverLogger } from "./log-format.js";
import { natsUrl, withPublishers } from "./nats.js";
import { describeDb, openStore, resolveDataDir, resolveDb } from "./store.js";
import { checkStoredVersions } from "./stored-versions.js";
import { startTelemetry } from "./telemetry.js";

/** The settings of `drover serve` given as flags; each wins over its environment variable. */
export interface ServeFlags {
  /** `--port` (`DROVER_PORT`, default 3000). */
  readonly port?: string | number;
  /** `--host` (`DROVER_HOST`, default 127.0.0.1). */
  readonly host?: string;
  /** `--db` (`DROVER_DB`, default `sqlite:<data dir>/drover.db`). */
  readonly db?: string;
  /** `--data-dir` (`DROVER_DATA_DIR`, default `./data`). */
  readonly dataDir?: string;
  /**
   * `--allow-newer-states` (`DROVER_ALLOW_NEWER_STATES=1`): start even when entities are stored
   * at state versions newer than the code (they answer `unreadable`); else serve refuses.
   */
  readonly allowNewerStates?: boolean;
  /**
   * `--nats` (`DROVER_NATS`), e.g. `nats://127.0.0.1:4222`: also run the events published to
   * `drover.<machine>.<id>.events` and publish the intent types the config's `nats.publish` lists.
   */
  readonly nats?: string;
  /**
   * `--max-attempts` (`DROVER_MAX_ATTEMPTS`, default 10): attempts at an intent before it is
   * dead-lettered, and firings of a timer before it is dead.
   */
  readonly maxAttempts?: string | number;
  /** `--backoff-ms` (`DROVER_BACKOFF_MS`, default 500): the delay before the first retry; it doubles up to 60 s. */
  readonly backoffMs?: string | number;
  /**
   * `--lease-ms` (`DROVER_LEASE_MS`, default 10000): how long a claimed intent or timer is this
   * process's unless renewed; renewed every third of it while it runs.
   */
  readonly leaseMs?: string | number;
  /**
   * `--instance` (`DROVER_INSTANCE`, default `<host>:<port>:<hash of the data dir>`): stable
   * across restarts, unique among the processes on the store; a restart frees the leases its
   * previous run held at once.
   */
  readonly instance?: string;
}

/** A server started by {@link serveConfig}. */
export interface ServedApp {
  readonly url: string;
  readonly db: string;
  /** Stop taking requests, drain in-flight work, close the store. */
  close(): Promise<void>;
}

/**
 * Serve a config's application over HTTP, as `drover serve` and `npm start` do: open the
 * store, make the effect handlers, start the dispatcher and scheduler, listen (with the built
 * dashboard of `@drover/dashboard` at `/`), and print the address (and the admin token made on
 * a first start). Settings: flags, else `DROVER_*` environment variables, else the config's
 * defaults (DESIGN "Running it").
 *
 * @example
 * const served = await serveConfig(config, { port: 8080 });
 * process.on("SIGTERM", () => served.close().then(() => process.exit(0)));
 */
export async function serveConfig(
  config: DroverConfig,
  flags: ServeFlags = {},
  env: NodeJS.ProcessEnv = process.env,
  out: NodeJS.WritableStream = process.stdout,
): Promise<ServedApp> {
  const port = flags.port === undefined ? undefined : String(flags.port);
  if (port !== undefined && !/^\d{1,5}$/.test(port)) {
    throw new CliError(`--port must be a port number 0–65535, got ${JSON.stringify(port)}`, ExitCode.Usage);
  }
  const defaults = config.defaults ?? {};
  const dataDir = resolveDataDir(flags.dataDir, env, defaults);
  const db = resolveDb(flags.db, env, defaults, dataDir);
  const settings = settingsFromEnv({
    ...env,
    DROVER_PORT: port ?? (env.DROVER_PORT || (defaults.port === undefined ? undefined : String(defaults.port))),
    DROVER_HOST: flags.host ?? (env.DROVER_HOST || defaults.host),
    DROVER_DB: db,
    DROVER_DATA_DIR: dataDir,
  });
  const retries = retrySettings(flags, env, defaults);
  const leases = leaseSettings(flags, env, settings);
  const telemetry = await startTelemetry(env, env.OTEL_SERVICE_NAME || config.name || "drover");
  const logger = serverLogger(env, process.stdout.isTTY === true);
  let nats: NatsTransport | undefined;
  try {
    nats = await connectNats(natsUrl(flags.nats, env), logger, env);
  } catch (error) {
    await telemetry?.shutdown();
    throw error;
  }
  let store: Store;
  try {
    store = await openStore(db);
  } catch (error) {
    await nats?.close();
    await telemetry?.shutdown();
    throw error;
  }
  let running: Awaited<ReturnType<typeof serve>>;
  let app: App | undefined;
  try {
    const own = (await config.effects?.({ env, logger })) ?? [];
    const effects =
      nats === undefined ? own : withPublishers(own, nats.effects(config.machines, config.nats?.publish ?? []));
    app = new App({
      store,
      machines: config.machines,
      effects,
      logger,
      recurring: config.schedules ?? [],
      instance: leases.instance,
      dispatcher: { maxAttempts: retries.maxAttempts, backoff: retries.backoff, leaseMs: leases.leaseMs },
      scheduler: { maxAttempts: retries.maxAttempts, backoff: retries.backoff, leaseMs: leases.leaseMs },
    });
    // Before any request or intent: a rollback would answer every event to those entities unreadable.
    const allowNewer = flags.allowNewerStates ?? /^(1|true)$/i.test(env.DROVER_ALLOW_NEWER_STATES ?? "");
    await checkStoredVersions(app, config.machines, { allowNewer, logger });
    // @drover/http serves a dashboard only when handed its folder; `drover serve` hands the built one.
    running = await serve(app, settings, {
      logger,
      dashboard: dashboardAssetsDir(),
      title: config.name ?? "drover",
      diagramSamples: diagramSamples(env),
      // A store shared by processes (PostgreSQL) keeps the tokens for all of them; else the data directory's file.
      tokenVault: store.tokenVault,
    });
    if (nats !== undefined) {
      app.attach(nats);
      await nats.start(app);
    }
  } catch (error) {
    // serve starts the dispatcher and scheduler before it listens: stop them before the store.
    await nats?.stop();
    await app?.stop({ timeoutMs: 1_000 });
    await nats?.close();
    await store.close();
    await telemetry?.shutdown();
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      throw new CliError(
        `cannot listen on ${settings.host}:${settings.port} (${code}); pick another --port (DROVER_PORT) or --host`,
        ExitCode.Infrastructure,
        { cause: error },
      );
    }
    throw error;
  }
  out.write(`drover ${config.name ?? "app"} listening on ${running.url}  (database ${describeDb(settings.db)})\n`);
  if (telemetry !== undefined) out.write(`tracing: spans exported by ${telemetry.description}\n`);
  if (nats !== undefined) {
    out.write(`NATS: running events from stream ${EVENTS_STREAM} on ${natsUrl(flags.nats, env)}\n`);
  }
  if (running.generatedToken !== undefined) {
    out.write(`admin token (shown once; stored hashed in ${running.tokens.where}): ${running.generatedToken}\n`);
  }
  let closing: Promise<void> | undefined;
  return {
    url: running.url,
    db: settings.db,
    close() {
      closing ??= (async () => {
        logger.info("stopping: draining requests and intents");
        // Events first: no new step starts, those in flight finish and are acknowledged.
        await nats?.stop();
        await running.close();
        // After the dispatcher has stopped: it publishes intents on this connection.
        await nats?.close();
        await store.close();
        // Last: the spans of the drain above are flushed too.
        await telemetry?.shutdown();
      })();
      return closing;
    },
  };
}

/**
 * A whole-number setting: `undefined` when unset, a usage error naming where it came from (the
 * flag or the variable) and its range otherwise.
 */
function wholeNumberSetting(
  value: string | number | undefined,
  name: string,
  range: { readonly min: number; readonly max?: number },
  what: string,
): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < range.min || (range.max !== undefined && n > range.max)) {
    throw new CliError(`${name} must be ${what}, got ${value}`, ExitCode.Usage);
  }
  return n;
}

/** A setting's value and where it came from (for the message when it is wrong). */
interface Given {
  readonly name: string;
  readonly value: string | number | undefined;
}

/** The first of `sources` that is set (a flag, its variable, the config's default), as {@link wholeNumberSetting} reads it. */
function firstSetting(
  sources: readonly Given[],
  range: { readonly min: number; readonly max?: number },
  what: string,
): number | undefined {
  const given = sources.find(({ value }) => value !== undefined && value !== "");
  return given === undefined ? undefined : wholeNumberSetting(given.value, given.name, range, what);
}

/** The dispatcher's and the scheduler's retry settings: `--max-attempts` and `--backoff-ms`. */
function retrySettings(flags: ServeFlags, env: NodeJS.ProcessEnv, defaults: ConfigDefaults) {
  const maxAttempts = firstSetting(
    [
      { name: "--max-attempts", value: flags.maxAttempts },
      { name: "DROVER_MAX_ATTEMPTS", value: env.DROVER_MAX_ATTEMPTS },
      { name: "the config's defaults.maxAttempts", value: defaults.maxAttempts },
    ],
    { min: 1, max: 1_000 },
    "a whole number of attempts 1–1000",
  );
  const initialMs = firstSetting(
    [
      { name: "--backoff-ms", value: flags.backoffMs },
      { name: "DROVER_BACKOFF_MS", value: env.DROVER_BACKOFF_MS },
      { name: "the config's defaults.backoffMs", value: defaults.backoffMs },
    ],
    { min: 1, max: 3_600_000 },
    "a whole number of milliseconds 1–3600000",
  );
  return {
    maxAttempts: maxAttempts ?? 10,
    // The delay doubles up to 60 s; a first delay above that is the longest one too.
    backoff: { initialMs: initialMs ?? 500, maxMs: Math.max(60_000, initialMs ?? 0) },
  };
}

/**
 * The lease settings: `--lease-ms` and `--instance`. The default instance is what stays the
 * same when one deployment restarts and differs between two on one host: the host, the port
 * and (hashed, to fit the name's alphabet) the data directory.
 */
function leaseSettings(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv,
  settings: { readonly port: number; readonly dataDir: string },
): { readonly leaseMs: number; readonly instance: string } {
  const leaseMs = firstSetting(
    [
      { name: "--lease-ms", value: flags.leaseMs },
      { name: "DROVER_LEASE_MS", value: env.DROVER_LEASE_MS },
    ],
    { min: 1_000, max: 3_600_000 },
    "a whole number of milliseconds 1000–3600000",
  );
  const given = flags.instance ?? (env.DROVER_INSTANCE || undefined);
  let instance: string;
  if (given === undefined) {
    const dir = createHash("sha256").update(resolve(settings.dataDir)).digest("hex").slice(0, 12);
    instance = `${hostname()
      .replace(/[^\x21-\x22\x24-\x7e]/g, "_")
      .slice(0, 150)}:${settings.port}:${dir}`;
  } else {
    try {
      instance = checkInstanceName(given);
    } catch (error) {
      const name = flags.instance === undefined ? "DROVER_INSTANCE" : "--instance";
      throw new CliError(`${name}: ${(error as Error).message}`, ExitCode.Usage);
    }
  }
  return { leaseMs: leaseMs ?? DEFAULT_LEASE_MS, instance };
}

/** `DROVER_DIAGRAM_SAMPLES`: payloads per event type and state when the dashboard's diagram is explored. */
function diagramSamples(env: NodeJS.ProcessEnv): number | undefined {
  const what = "a whole number 1–10000";
  return wholeNumberSetting(env.DROVER_DIAGRAM_SAMPLES, "DROVER_DIAGRAM_SAMPLES", { min: 1, max: 10_000 }, what);
}

/** `DROVER_NATS_ACK_WAIT_MS`: how long JetStream waits for a process's ack before redelivering (default 30 s). */
function ackWait(env: NodeJS.ProcessEnv): number {
  const what = "a whole number of milliseconds ≥ 1000";
  return wholeNumberSetting(env.DROVER_NATS_ACK_WAIT_MS, "DROVER_NATS_ACK_WAIT_MS", { min: 1_000 }, what) ?? 30_000;
}

async function connectNats(
  url: string | undefined,
  logger: PinoLogger,
  env: NodeJS.ProcessEnv,
): Promise<NatsTransport | undefined> {
  if (url === undefined) return undefined;
  const ackWaitMs = ackWait(env);
  try {
    return await NatsTransport.connect({ url, logger, ingress: { consumer: { ackWaitMs } } });
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), ExitCode.Infrastructure, {
      cause: error,
    });
  }
}

/**
 * {@link serveConfig}, then stop gracefully on SIGTERM/SIGINT and exit 0. The process stays up
 * while the server listens.
 */
export async function serveUntilSignalled(config: DroverConfig, flags: ServeFlags = {}): Promise<void> {
  // The handlers go in before the server starts: a SIGTERM that came between the "listening"
  // line and their installation would kill the process without draining (seen in the e2e
  // tests on a loaded machine). One that comes while starting stops the server once it runs.
  let served: Awaited<ReturnType<typeof serveConfig>> | undefined;
  let signalled = false;
  const stop = () => {
    if (served === undefined) {
      signalled = true;
      process.stderr.write("drover: stopping as soon as the server has started\n");
      return;
    }
    served.close().then(
      () => process.exit(ExitCode.Ok),
      (error: unknown) => {
        process.stderr.write(`drover: stopping failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(ExitCode.Infrastructure);
      },
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  try {
    served = await serveConfig(config, flags);
  } catch (error) {
    process.removeListener("SIGTERM", stop);
    process.removeListener("SIGINT", stop);
    throw error;
  }
  if (signalled) stop();
}
