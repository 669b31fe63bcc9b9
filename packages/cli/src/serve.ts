import type { Store } from "@drover/core";
import { App } from "@drover/core";
import { dashboardAssetsDir } from "@drover/dashboard";
import { serve, settingsFromEnv } from "@drover/http";
import { EVENTS_STREAM, NatsTransport } from "@drover/nats";
import type { Logger as PinoLogger } from "pino";
import type { DroverConfig } from "./config.js";
import { CliError, ExitCode } from "./exit-code.js";
import { serverLogger } from "./log-format.js";
import { natsUrl, withPublishers } from "./nats.js";
import type { ServeFlags } from "./serve-settings.js";
import { ackWait, connectionSettings, diagramSamples, leaseSettings, retrySettings } from "./serve-settings.js";

export type { ServeFlags } from "./serve-settings.js";

import { describeDb, openStore, resolveDataDir, resolveDb } from "./store.js";
import { checkStoredVersions } from "./stored-versions.js";
import { startTelemetry } from "./telemetry.js";

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
  const connections = connectionSettings(flags, env);
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
      connections,
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
