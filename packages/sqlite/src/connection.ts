import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigurationError } from "@drover/core";
import Database from "better-sqlite3";
import type { MigrationReport } from "./migrations.js";
import { migrate } from "./migrations.js";
import { cannotOpen } from "./unavailable.js";

/** How durable a commit is: the value of SQLite's `synchronous` pragma in WAL mode. */
export const SqliteSynchronous = {
  /** fsync the WAL on every commit: a committed step survives a power cut. The default. */
  Full: "FULL",
  /** fsync only at checkpoints: survives a process crash, may lose the last commits on power loss. */
  Normal: "NORMAL",
} as const;
export type SqliteSynchronous = (typeof SqliteSynchronous)[keyof typeof SqliteSynchronous];

/** What {@link SqliteStore} is opened with. */
export interface SqliteStoreOptions {
  /** The database file. Its directory is created if missing. */
  readonly path: string;
  /** Durability of a commit (default `"FULL"`). */
  readonly synchronous?: SqliteSynchronous;
  /** Milliseconds a writer waits for another connection's write lock (default 5000). */
  readonly busyTimeout?: number;
}

/** What {@link SqliteStore.info} reports about the open connection. */
export interface SqliteStoreInfo {
  readonly path: string;
  /** `"wal"` for a file database. */
  readonly journalMode: string;
  readonly synchronous: SqliteSynchronous;
  /** The newest migration applied to the file. */
  readonly schemaVersion: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * WAL pages before SQLite checkpoints them into the database file (its default is 1000, ~4 MB).
 * A step dirties ~10 pages, so the default checkpoints every ~100 steps, rewriting the same hot
 * pages (entities, index leaves) into the file again and again, with an fsync each time. At
 * 10,000 pages (~40 MB of WAL) group-committed throughput rose by a third in bench/ (64 callers,
 * 9,200 → 12,200 steps/s), for rarer but longer checkpoints (p99 24 → 42 ms there) — but a WAL
 * of 40 MB filled a small volume whose database was 4 KiB (issue 21). 4,000 pages (~16 MB)
 * keeps the bench figures (see bench/README.md) and bounds the WAL with
 * {@link WAL_SIZE_LIMIT_BYTES}.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 4_000;

/**
 * `journal_size_limit`: when a checkpoint has copied the whole WAL and the WAL starts over, the
 * file is truncated to this size instead of keeping the largest size it ever reached (it only
 * outgrows the checkpoint's size while a reader holds an old snapshot, or within one large
 * transaction). 16 MiB: the autocheckpoint's 4,000 pages of 4 KiB with their frame headers fit in it.
 */
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;

/** After this long without a write the WAL is checkpointed and truncated to 0 bytes (see `IdleCheckpoint`). */
export const IDLE_CHECKPOINT_MS = 1_000;

/** Open the file in WAL mode and migrate it; every failure becomes one clear error. */
export function connect({ path, synchronous, busyTimeout }: Required<SqliteStoreOptions>): {
  db: Database.Database;
  migration: MigrationReport;
} {
  let db: Database.Database | undefined;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { timeout: busyTimeout });
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal" && path !== ":memory:") {
      throw new Error(`SQLite refused WAL mode (journal_mode is ${String(mode)}); put the file on a local disk`);
    }
    db.pragma(`synchronous = ${synchronous}`);
    // Savepoints (one per step of a batch that has to be retried step by step) keep their undo
    // pages in memory instead of spilling them to temporary files.
    db.pragma("temp_store = MEMORY");
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    return { db, migration: migrate(db, path) };
  } catch (error) {
    db?.close();
    if (error instanceof ConfigurationError) throw error;
    throw cannotOpen(error, path);
  }
}
