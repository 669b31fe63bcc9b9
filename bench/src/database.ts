import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore, type SqliteSynchronous } from "@drover/sqlite";
import Database from "better-sqlite3";
import { entityId } from "./workload.js";

const scratchDirs = new Set<ScratchDir>();

/** Remove every scratch folder still there (for a benchmark stopped by a signal). */
export function removeScratchDirs(): void {
  for (const dir of scratchDirs) dir.remove();
}

/** A folder for the run's database files, removed at the end. */
export class ScratchDir {
  readonly path: string;
  #n = 0;

  constructor(parent: string = tmpdir()) {
    this.path = mkdtempSync(join(parent, "drover-bench-"));
    scratchDirs.add(this);
  }

  /** A fresh database file name. */
  file(label: string): string {
    this.#n += 1;
    return join(this.path, `${String(this.#n).padStart(3, "0")}-${label}.db`);
  }

  /** Delete one database file (and its WAL and shared-memory files) once it has been checked. */
  drop(file: string): void {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
  }

  remove(): void {
    scratchDirs.delete(this);
    rmSync(this.path, { recursive: true, force: true });
  }
}

/**
 * Create drover's schema (DESIGN §3, its migrations with every index) in a new file, so the
 * contestants that do not run drover write to exactly the same tables.
 */
export async function createDroverSchema(path: string): Promise<void> {
  const store = SqliteStore.open({ path });
  await store.close();
}

/**
 * A better-sqlite3 connection set up as `SqliteStore` sets up its own: WAL mode at the given
 * durability, checkpoints every 4,000 WAL pages, the WAL truncated to 16 MiB after each. The raw
 * and XState contestants use it, so every SQLite contestant runs with the same settings.
 */
export function openWal(path: string, synchronous: SqliteSynchronous): Database.Database {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma("wal_autocheckpoint = 4000");
  db.pragma(`journal_size_limit = ${16 * 1024 * 1024}`);
  return db;
}

/** Row counts of drover's tables. */
export interface RowCounts {
  readonly entities: number;
  /** Sum of entity versions: one per accepted event. */
  readonly versions: number;
  readonly journal: number;
  readonly inbox: number;
  readonly outbox: number;
}

/** Count what a contestant left in drover's tables. */
export function countRows(path: string): RowCounts {
  const db = new Database(path, { readonly: true });
  try {
    const count = (sql: string): number => Number(db.prepare(sql).pluck().get() ?? 0);
    return {
      entities: count("SELECT count(*) FROM entities"),
      versions: count("SELECT coalesce(sum(version), 0) FROM entities"),
      journal: count("SELECT count(*) FROM journal"),
      inbox: count("SELECT count(*) FROM inbox"),
      outbox: count("SELECT count(*) FROM outbox"),
    };
  } finally {
    db.close();
  }
}

/** Did every event land: one version, journal row, inbox row and outbox row each? */
export interface Consistency {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * Check that `events` events over `entities` entities were all applied, by counting rows
 * (only entity rows and versions with `snapshotsOnly`).
 */
export function checkApplied(path: string, events: number, entities: number, snapshotsOnly = false): Consistency {
  return compareCounts(countRows(path), events, entities, snapshotsOnly);
}

/** Compare row counts with what `events` events over `entities` entities must leave. */
export function compareCounts(rows: RowCounts, events: number, entities: number, snapshotsOnly: boolean): Consistency {
  const each = snapshotsOnly ? 0 : events;
  const wanted: RowCounts = {
    entities: Math.min(entities, events),
    versions: events,
    journal: each,
    inbox: each,
    outbox: each,
  };
  const wrong = (Object.keys(wanted) as (keyof RowCounts)[]).filter((key) => rows[key] !== wanted[key]);
  return wrong.length === 0
    ? {
        ok: true,
        detail: snapshotsOnly
          ? `${events} events: ${rows.versions} versions over ${rows.entities} snapshots`
          : `${events} events: ${rows.journal} journal, inbox and outbox rows each`,
      }
    : { ok: false, detail: wrong.map((key) => `${key} ${rows[key]}, expected ${wanted[key]}`).join("; ") };
}

/** One entity's journal: its rows and its highest version. */
export interface EntityJournal {
  readonly id: string;
  readonly rows: number;
  readonly lastVersion: number;
}

/** Journal rows per entity of `machine`. */
export function journalPerEntity(path: string, machine: string): EntityJournal[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare<[string], EntityJournal>(
        "SELECT id, count(*) AS rows, max(version) AS lastVersion FROM journal WHERE machine = ? GROUP BY id",
      )
      .all(machine);
  } finally {
    db.close();
  }
}

/**
 * Check that each entity's journal holds exactly the events the workload sent it (round robin:
 * `events` over `entities`), versions 1 to that count: an event lost, or applied twice, shows.
 */
export function checkPerEntity(journal: readonly EntityJournal[], events: number, entities: number): Consistency {
  const found = new Map(journal.map((j) => [j.id, j]));
  const wrong: string[] = [];
  for (let index = 0; index < entities; index++) {
    const id = entityId(index);
    const sent = Math.floor(events / entities) + (index < events % entities ? 1 : 0);
    const rows = found.get(id)?.rows ?? 0;
    const lastVersion = found.get(id)?.lastVersion ?? 0;
    if (rows !== sent || lastVersion !== sent)
      wrong.push(`${id}: ${rows} journal rows, version ${lastVersion}, sent ${sent}`);
    found.delete(id);
  }
  for (const extra of found.values()) wrong.push(`${extra.id}: ${extra.rows} journal rows, sent none`);
  return wrong.length === 0
    ? { ok: true, detail: `every entity's journal holds the events sent to it, once each` }
    : { ok: false, detail: `${wrong.length} entities wrong, e.g. ${wrong.slice(0, 3).join("; ")}` };
}
