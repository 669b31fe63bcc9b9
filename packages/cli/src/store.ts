import { resolve } from "node:path";
import type { Store } from "@drover/core";
import type { MigrationReport } from "@drover/postgres";
import { PostgresStore } from "@drover/postgres";
import { SqliteStore } from "@drover/sqlite";
import type { ConfigDefaults } from "./config.js";
import { CliError, ExitCode } from "./exit-code.js";

const POSTGRES_URL = /^postgres(ql)?:\/\//;

/**
 * The database to use: `--db`, else `DROVER_DB`, else the config's default, else
 * `sqlite:<data dir>/drover.db` — as the server picks it (DESIGN "Running it").
 */
export function resolveDb(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  defaults: ConfigDefaults | undefined,
  dataDir: string,
): string {
  const [db, source] =
    flag !== undefined
      ? [flag, "--db"]
      : env.DROVER_DB
        ? [env.DROVER_DB, "DROVER_DB"]
        : defaults?.db !== undefined
          ? [defaults.db, "the config's defaults.db"]
          : [`sqlite:${resolve(dataDir, "drover.db")}`, "the default"];
  if (!db.startsWith("sqlite:") && !POSTGRES_URL.test(db)) {
    throw new CliError(`${source} must be sqlite:PATH or postgres://…, got ${JSON.stringify(db)}`, ExitCode.Usage);
  }
  if (db === "sqlite:") throw new CliError(`${source} must name a file after sqlite:`, ExitCode.Usage);
  return db;
}

/** The data directory: `--data-dir`, else `DROVER_DATA_DIR`, else the config's default, else `./data`. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv, defaults?: ConfigDefaults): string {
  return flag ?? (env.DROVER_DATA_DIR || undefined) ?? defaults?.dataDir ?? "./data";
}

/** A store the CLI opened: a {@link Store} that also says what opening migrated. */
export type OpenedStore = Store & { readonly migration: MigrationReport };

/** Open (and migrate) the store `db` names. Unreachable databases throw `StoreUnavailableError` (exit 3). */
export async function openStore(db: string): Promise<OpenedStore> {
  if (db.startsWith("sqlite:")) return SqliteStore.open({ path: db.slice("sqlite:".length) });
  return PostgresStore.open({ url: db, poolSize: 2, connectTimeoutMs: 5_000 });
}

/** `db` without a password, for messages. */
export function describeDb(db: string): string {
  return db.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/, "$1:***@");
}
