import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { App, TokenVault } from "@drover/core";
import { ConfigurationError } from "@drover/core";
import type { FastifyInstance } from "fastify";
import type { Logger as PinoLogger } from "pino";
import { pino } from "pino";
import { z } from "zod";
import type { ConnectionLimits } from "./connection-limits.js";
import type { ReadinessOptions } from "./readiness.js";
import { buildServer } from "./server.js";
import { ensureAdminToken, importTokenFile, TokenStore } from "./tokens.js";

/** The server's settings, from the environment (DESIGN "Running it"). **contract** */
export interface ServeSettings {
  readonly host: string;
  readonly port: number;
  /** `sqlite:PATH` or `postgres://…` */
  readonly db: string;
  readonly dataDir: string;
  readonly adminToken: string | undefined;
}

const Port = z.coerce.number().int().min(0).max(65_535);

/**
 * Read `DROVER_PORT`, `DROVER_HOST`, `DROVER_DB`, `DROVER_DATA_DIR`, `DROVER_ADMIN_TOKEN`,
 * with their defaults (3000, 127.0.0.1, `sqlite:<data dir>/drover.db`, `./data`). Throws a
 * {@link ConfigurationError} that names the variable and says what it must look like.
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): ServeSettings {
  const port = Port.safeParse(env.DROVER_PORT === undefined || env.DROVER_PORT === "" ? 3000 : env.DROVER_PORT);
  if (!port.success) {
    throw new ConfigurationError(`DROVER_PORT must be a port number 0–65535, got ${JSON.stringify(env.DROVER_PORT)}`);
  }
  const dataDir = env.DROVER_DATA_DIR || "./data";
  const db = env.DROVER_DB || `sqlite:${resolve(dataDir, "drover.db")}`;
  if (!db.startsWith("sqlite:") && !/^postgres(ql)?:\/\//.test(db)) {
    throw new ConfigurationError(`DROVER_DB must be sqlite:PATH or postgres://…, got ${JSON.stringify(db)}`);
  }
  const host = env.DROVER_HOST || "127.0.0.1";
  return { host, port: port.data, db, dataDir, adminToken: env.DROVER_ADMIN_TOKEN || undefined };
}

/** A running server: where it listens, and how to stop it. */
export interface RunningServer {
  readonly url: string;
  readonly server: FastifyInstance;
  /** The admin token made on this first start, if one was (print it once). */
  readonly generatedToken: string | undefined;
  /** Where the tokens it accepts live: the data directory's file, or the shared store's table. */
  readonly tokens: TokenStore;
  /** Stop taking requests, finish those in flight, stop the app (drains intents). */
  close(): Promise<void>;
}

/**
 * Serve `app`: open its tokens — the file in the data directory, or, given `tokenVault` (a
 * store shared by processes), the vault, after importing a `tokens.json` the data directory
 * still holds ({@link importTokenFile}) — making the first admin token if there is none and no
 * `DROVER_ADMIN_TOKEN`; start the app's dispatcher and scheduler, and listen. The dashboard is
 * served only when its folder is handed in.
 *
 * @example
 * import { dashboardAssetsDir } from "@drover/dashboard";
 *
 * const running = await serve(app, settingsFromEnv(), { dashboard: dashboardAssetsDir() });
 * console.log(`drover listening on ${running.url}`);
 */
export async function serve(
  app: App,
  settings: Pick<ServeSettings, "host" | "port" | "dataDir" | "adminToken">,
  options: {
    readonly logger?: PinoLogger;
    /** The folder of the dashboard's built files to serve at `/` (see `ServerOptions.dashboard`). */
    readonly dashboard?: string | undefined;
    /** The API's name in the OpenAPI document (the application's name). */
    readonly title?: string | undefined;
    /** See `ServerOptions.diagramSamples`. */
    readonly diagramSamples?: number | undefined;
    /** Keep the tokens here, shared by every process on the store, rather than in the data directory's file. */
    readonly tokenVault?: TokenVault | undefined;
    /** Timeouts for slow and idle clients, and the connection cap (see `ServerOptions.connections`). */
    readonly connections?: ConnectionLimits | undefined;
    /** How `GET /readyz` judges (see `ServerOptions.readiness`). */
    readonly readiness?: ReadinessOptions | undefined;
  } = {},
): Promise<RunningServer> {
  mkdirSync(settings.dataDir, { recursive: true });
  const logger = options.logger ?? pino({ level: process.env.DROVER_LOG_LEVEL ?? "info" });
  const tokens = await openTokens(settings.dataDir, options.tokenVault, logger);
  let generated: string | undefined;
  try {
    ({ generated } = await ensureAdminToken(tokens, { envAdminToken: settings.adminToken }));
  } catch (error) {
    tokens.close();
    throw error;
  }
  const server = await buildServer({
    app,
    tokens,
    logger,
    dashboard: options.dashboard,
    ...(options.title === undefined ? {} : { title: options.title }),
    ...(options.diagramSamples === undefined ? {} : { diagramSamples: options.diagramSamples }),
    ...(options.connections === undefined ? {} : { connections: options.connections }),
    ...(options.readiness === undefined ? {} : { readiness: options.readiness }),
  });
  await app.start();
  await server.listen({ host: settings.host, port: settings.port });
  const address = server.server.address();
  const port = typeof address === "object" && address !== null ? address.port : settings.port;
  const host = settings.host.includes(":") ? `[${settings.host}]` : settings.host;
  return {
    url: `http://${host}:${port}`,
    server,
    generatedToken: generated,
    tokens,
    async close() {
      await server.close();
      tokens.close();
      await app.stop({ timeoutMs: 10_000 });
    },
  };
}

/** The file of `dataDir`, or the vault (with the file's tokens imported into it once, said in the log). */
async function openTokens(dataDir: string, vault: TokenVault | undefined, logger: PinoLogger): Promise<TokenStore> {
  if (vault === undefined) return TokenStore.open(dataDir);
  const imported = await importTokenFile(dataDir, vault);
  // A one-time change an operator should see (the file is renamed): warn, above the default level of most deployments.
  if (imported !== undefined) {
    logger.warn(
      { ...imported, into: vault.where },
      `imported ${imported.imported} of the ${imported.found} tokens of ${imported.file} into ${vault.where}` +
        (imported.renamedTo === undefined
          ? "; the file could not be renamed: delete it"
          : `; the file is now ${imported.renamedTo} and no longer read`),
    );
  }
  return TokenStore.shared(vault, {
    onRefreshError: (error) => logger.warn({ err: error }, "reading the shared tokens failed; retrying"),
  });
}
