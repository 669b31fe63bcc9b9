import { ConfigurationError, StoreUnavailableError } from "@drover/core";
import pg from "pg";
import { checkSchemaName, quoteIdent, truncateBytes } from "./identifiers.js";

/** Connection settings as node-postgres takes them (host, port, user, password, database, ssl…). */
export type PostgresConnection = Omit<pg.ClientConfig, "connectionString" | "types">;

/** What {@link PostgresStore.open} is given: a URL or connection settings, and where to keep the tables. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database?…`. Give this or `connection`. */
  readonly url?: string;
  /** Connection settings instead of a URL. Give this or `url`. */
  readonly connection?: PostgresConnection;
  /** The schema that holds drover's tables; created if missing (default `"public"`). */
  readonly schema?: string;
  /** Connections in the pool (default 10). The LISTEN connection of `watch` is one more. */
  readonly poolSize?: number;
  /** Milliseconds to wait for a connection, new or from a busy pool (default 10000). */
  readonly connectTimeoutMs?: number;
  /** Create the database when it does not exist (default true; needs the CREATEDB privilege). */
  readonly createDatabase?: boolean;
}

/** What {@link PostgresStore.info} reports. */
export interface PostgresStoreInfo {
  /** `host:port/database` (never the password). */
  readonly server: string;
  readonly serverVersion: string;
  readonly schema: string;
  /** The newest migration applied to the schema. */
  readonly schemaVersion: number;
  /** The LISTEN/NOTIFY channel commits announce work on. */
  readonly channel: string;
  readonly poolSize: number;
  /** The connections' plan_cache_mode: `force_custom_plan` (see the README on generic plans). */
  readonly planCacheMode: string;
}

export interface Settings {
  readonly url: string | undefined;
  readonly connection: PostgresConnection | undefined;
  readonly schema: string;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  readonly createDatabase: boolean;
}

export const DEFAULT_POOL_SIZE = 10;

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Set on every connection. Custom plans: the planner sees each statement's real arguments (the
 * generic-plan trap). READ COMMITTED, whatever the database's default: claims and commits rely
 * on each statement seeing what committed before it.
 */
export const SESSION_OPTIONS = "-c plan_cache_mode=force_custom_plan -c default_transaction_isolation=read\\ committed";

export const UNIQUE_VIOLATION = "23505";

/** `bigint` columns as numbers: drover's versions, times and counts stay below 2^53. */
export const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 && format !== "binary"
      ? Number
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

export function codeOf(error: unknown): string | undefined {
  return error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined;
}

export function constraintOf(error: unknown): string | undefined {
  return error instanceof Error && "constraint" in error && typeof error.constraint === "string"
    ? error.constraint
    : undefined;
}

/**
 * Keep a borrowed connection's `error` events (a dead socket) from crashing the process, and
 * remember the error, so the connection is destroyed on release rather than pooled again.
 */
export function watchClient(client: pg.PoolClient): { error: Error | undefined } {
  const failure: { error: Error | undefined } = { error: undefined };
  const onError = (error: Error) => {
    failure.error ??= error;
  };
  client.on("error", onError);
  const release = client.release.bind(client);
  client.release = (destroy?: Error | boolean) => {
    client.removeListener("error", onError);
    release(destroy);
  };
  return failure;
}

export function settingsOf(options: PostgresStoreOptions): Settings {
  const { url, connection } = options;
  if ((url === undefined) === (connection === undefined)) {
    throw new ConfigurationError(
      "PostgresStore.open needs either url (postgres://user@host:5432/database) or connection settings, not both",
    );
  }
  if (url !== undefined && (typeof url !== "string" || !/^postgres(ql)?:\/\//.test(url))) {
    throw new ConfigurationError(
      `PostgresStore url must be postgres://… or postgresql://…, got ${JSON.stringify(url)}`,
    );
  }
  const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1) {
    throw new ConfigurationError(`PostgresStore poolSize must be a positive integer, got ${poolSize}`);
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!Number.isSafeInteger(connectTimeoutMs) || connectTimeoutMs < 1) {
    throw new ConfigurationError(
      `PostgresStore connectTimeoutMs must be a positive integer of milliseconds, got ${connectTimeoutMs}`,
    );
  }
  return Object.freeze({
    url,
    connection: connection === undefined ? undefined : Object.freeze({ ...connection }),
    schema: checkSchemaName(options.schema ?? "public"),
    poolSize,
    connectTimeoutMs,
    createDatabase: options.createDatabase ?? true,
  });
}

/** The settings every connection of the store gets, whatever the user gave. */
export function clientConfig(settings: Settings, database?: string): pg.ClientConfig {
  const applicationName = truncateBytes(`drover:${settings.schema}`, 63);
  const common = {
    types: TYPES,
    keepAlive: true,
    connectionTimeoutMillis: settings.connectTimeoutMs,
  };
  if (settings.url !== undefined) {
    const url = new URL(settings.url);
    // Values in the URL win over separate settings in node-postgres: merge ours into it.
    url.searchParams.set("options", [url.searchParams.get("options"), SESSION_OPTIONS].filter(Boolean).join(" "));
    if (!url.searchParams.has("application_name")) url.searchParams.set("application_name", applicationName);
    if (database !== undefined) url.pathname = `/${encodeURIComponent(database)}`;
    return { ...common, connectionString: url.toString() };
  }
  const connection = settings.connection ?? {};
  return {
    ...connection,
    ...common,
    ...(database === undefined ? {} : { database }),
    options: [connection.options, SESSION_OPTIONS].filter(Boolean).join(" "),
    application_name: connection.application_name ?? applicationName,
  };
}

/** `host:port/database`, for messages: never the password. */
export function describeServer(settings: Settings): string {
  if (settings.url !== undefined) {
    try {
      const url = new URL(settings.url);
      const host = url.hostname || url.searchParams.get("host") || "localhost";
      return `${host}:${url.port || "5432"}/${databaseOf(settings) ?? ""}`;
    } catch {
      return "the configured server";
    }
  }
  const c = settings.connection ?? {};
  return `${c.host ?? "localhost"}:${c.port ?? 5432}/${databaseOf(settings) ?? ""}`;
}

export function databaseOf(settings: Settings): string | undefined {
  if (settings.url !== undefined) {
    const path = new URL(settings.url).pathname.replace(/^\//, "");
    return path === "" ? undefined : decodeURIComponent(path);
  }
  return settings.connection?.database ?? settings.connection?.user;
}

/** Create the missing database through the server's `postgres` database; a concurrent creator is fine. */
export async function createDatabase(settings: Settings, where: string, missing: unknown): Promise<void> {
  const name = databaseOf(settings);
  if (name === undefined) throw missing;
  const client = new pg.Client(clientConfig(settings, "postgres"));
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } catch (error) {
    const code = codeOf(error);
    // 42P04: it exists now; 23505: another process created it in the same instant.
    if (code === "42P04" || code === UNIQUE_VIOLATION) return;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreUnavailableError(
      `the database "${name}" at ${where} does not exist and could not be created (${reason}); ` +
        `create it with \`createdb ${name}\` or CREATE DATABASE ${quoteIdent(name)}, or fix the URL`,
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
