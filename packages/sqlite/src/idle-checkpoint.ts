import type Database from "better-sqlite3";

/** What one `PRAGMA wal_checkpoint` answers. */
interface CheckpointRow {
  /** 1 when it could not finish (a reader or a writer was in the way). */
  readonly busy: number;
  readonly log: number;
  readonly checkpointed: number;
}

/**
 * Empties the WAL once the database has been quiet for a while: every `quietMs` it looks at
 * whether anything was written — by this connection (`total_changes()`) or another one on the
 * file (`PRAGMA data_version`) — since its last look; after a quiet interval that follows
 * writes, it checkpoints with `TRUNCATE`, which copies the WAL into the database file and
 * truncates the WAL to zero bytes. It never waits: the busy timeout is 0 for that call, so a
 * reader or a writer in the way (another process) only postpones it to the next quiet interval,
 * and so does a failure (a full disk: the database file may have to grow): the store's own
 * calls report those. Under load the WAL is bounded by `wal_autocheckpoint` and
 * `journal_size_limit` instead.
 *
 * @example
 * const idle = new IdleCheckpoint(db, 1_000, 5_000);
 * idle.start();
 * // …
 * idle.stop();
 */
export class IdleCheckpoint {
  readonly #db: Database.Database;
  readonly #quietMs: number;
  readonly #busyTimeout: number;
  readonly #changes: Database.Statement<[], number>;
  readonly #dataVersion: Database.Statement<[], number>;
  #timer: NodeJS.Timeout | undefined;
  #last = "";
  #dirty = false;

  constructor(db: Database.Database, quietMs: number, busyTimeout: number) {
    this.#db = db;
    this.#quietMs = quietMs;
    this.#busyTimeout = busyTimeout;
    this.#changes = db.prepare<[], number>("SELECT total_changes()").pluck();
    this.#dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
  }

  start(): void {
    // unref: an idle store does not keep the process alive for its checkpoints.
    this.#timer ??= setInterval(() => this.tick(), this.#quietMs).unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * One look (the timer's; tests call it too): `true` when it emptied the WAL. Writes since the
   * last look mean "not quiet yet"; a quiet look after writes checkpoints.
   */
  tick(): boolean {
    if (!this.#db.open || this.#db.inTransaction) return false;
    try {
      const mark = `${this.#changes.get()}:${this.#dataVersion.get()}`;
      if (mark !== this.#last) {
        this.#last = mark;
        this.#dirty = true;
        return false;
      }
      if (!this.#dirty) return false;
      this.#db.pragma("busy_timeout = 0");
      let row: CheckpointRow | undefined;
      try {
        row = (this.#db.pragma("wal_checkpoint(TRUNCATE)") as CheckpointRow[])[0];
      } finally {
        this.#db.pragma(`busy_timeout = ${this.#busyTimeout}`);
      }
      if (row === undefined || row.busy !== 0) return false;
      this.#dirty = false;
      return true;
    } catch {
      // Postponed to the next quiet interval (see above).
      return false;
    }
  }
}
