import type Database from "better-sqlite3";

/**
 * The store's write probe (`Store.probe`): one `BEGIN IMMEDIATE` transaction that moves a row
 * of `drover_migrations` and moves it back, so a page really goes to the WAL and is synced at
 * `COMMIT` — an `UPDATE` to the same value would write nothing, SQLite skips identical content.
 * It fails where a step's commit would (disk full, read-only file, write lock held past the
 * busy timeout) and leaves nothing behind.
 *
 * @example
 * const probe = writeProbe(db);
 * probe(); // throws SQLITE_FULL while the disk is full
 */
export function writeProbe(db: Database.Database): () => void {
  const shift = db.prepare(
    "UPDATE drover_migrations SET applied_at = applied_at + ? WHERE version = (SELECT max(version) FROM drover_migrations)",
  );
  const probe = db.transaction(() => {
    shift.run(1);
    shift.run(-1);
  }).immediate;
  return () => probe();
}
