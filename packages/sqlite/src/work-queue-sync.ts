import type Database from "better-sqlite3";

/**
 * Run the work queue's writes — claims (leases) and settles (done, failed, dead) — without an
 * fsync of their own, on a connection that otherwise commits with `synchronous=FULL`.
 *
 * Why this keeps every guarantee: such a write that a power cut loses only repeats an attempt
 * — a lease that vanished lets the row be claimed again, a lost "done" lets the intent run
 * again — which the outbox already allows after a crash (effects get the intent id as
 * idempotency key; a follow-up's event id makes its step apply once). Steps still commit with
 * FULL, and in WAL mode a FULL commit fsyncs the whole log, so the work-queue writes before it
 * become durable with it: no later commit survives an earlier one lost. Measured: under HTTP
 * load a claim or a settle batch was an fsync per dispatcher turn, each as slow as a step's.
 *
 * @example
 * const relaxed = workQueueSync(db, true);
 * relaxed(() => claim(params));
 */
export function workQueueSync(db: Database.Database, full: boolean): <T>(work: () => T) => T {
  if (!full) return (work) => work();
  const normal = db.prepare("PRAGMA synchronous = NORMAL");
  const restore = db.prepare("PRAGMA synchronous = FULL");
  return (work) => {
    normal.run();
    try {
      return work();
    } finally {
      restore.run();
    }
  };
}
