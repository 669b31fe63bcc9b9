import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { SqliteStore } from "./sqlite-store.js";
import type { Statements } from "./statements.js";
import { prepare } from "./statements.js";

const dir = mkdtempSync(join(tmpdir(), "drover-sqlite-plans-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The lines of `EXPLAIN QUERY PLAN` for one of the store's statements, bound as the store binds it. */
type Planner = (statement: keyof Statements, ...params: unknown[]) => string[];

let files = 0;

async function withPlanner(check: (plan: Planner) => void): Promise<void> {
  files += 1;
  const path = join(dir, `plans-${files}.db`);
  await SqliteStore.open({ path }).close();
  const db = new Database(path);
  try {
    const statements = prepare(db);
    check((statement, ...params) =>
      db
        .prepare(`EXPLAIN QUERY PLAN ${statements[statement].source}`)
        .all(...params)
        .map((row) => (row as { detail: string }).detail),
    );
  } finally {
    db.close();
  }
}

/** A plan that reads table or index `name` by a full scan, if it has such a line. */
const scans = (plan: readonly string[], name: string): string | undefined =>
  plan.find((line) => line === `SCAN ${name}` || line.startsWith(`SCAN ${name} `));

// The plans are what the hot path and the dashboard rely on; a planner that changes its mind
// (or a schema change that loses an index) shows up here rather than as a slow store.
describe("SqliteStore: query plans", () => {
  it("looks an event's inbox record up by event id in the journal and the refusals, scanning neither", async () => {
    await withPlanner((plan) => {
      for (const lines of [plan("inbox", "e", "e"), plan("load", { machine: "m", id: "i", eventId: "e" })]) {
        assert.ok(lines.includes("SEARCH journal USING INDEX journal_by_event (event_id=?)"), lines.join("\n"));
        assert.ok(lines.includes("SEARCH refusals USING PRIMARY KEY (event_id=?)"), lines.join("\n"));
        for (const table of ["journal", "refusals", "e", "entities"]) assert.equal(scans(lines, table), undefined);
      }
    });
  });

  it("claims by walking the partial index of pending rows in commit order, never the done history", async () => {
    await withPlanner((plan) => {
      // The walk (outbox-claim.ts) stops at its limit: no sort, which would read the whole backlog.
      assert.deepEqual(plan("pendingHeads"), ["SCAN outbox USING INDEX outbox_pending"]);
      assert.deepEqual(plan("leaseOutbox", "o", 2, 1), ["SEARCH outbox USING INTEGER PRIMARY KEY (rowid=?)"]);
    });
  });

  it("walks the same partial index when some intent type is paused", async () => {
    await withPlanner((plan) => {
      assert.deepEqual(plan("typedPendingHeads"), ["SCAN outbox USING INDEX outbox_pending"]);
    });
  });

  it("cancels a step's timers by key through the index of pending keyed timers, by id through the key", async () => {
    await withPlanner((plan) => {
      assert.deepEqual(plan("cancelTimersByKey", "m", "e", "k"), [
        "SEARCH timers USING INDEX timers_pending_by_key (machine=? AND entity_id=? AND timer_key=?)",
      ]);
      const byId = "SEARCH timers USING INDEX sqlite_autoindex_timers_1 (timer_id=?)";
      assert.deepEqual(plan("cancelTimerById", "t", "m", "e"), [byId]);
      assert.deepEqual(plan("timer", "t"), [byId]);
      assert.deepEqual(plan("buryTimer", "e", 0, "t", "o"), [byId]);
      assert.deepEqual(plan("reviveTimer", 1, "t"), [byId]);
      assert.equal(scans(plan("timersIn", "dead", 10), "timers"), undefined);
      assert.deepEqual(plan("timerStats"), ["SCAN timers USING COVERING INDEX timers_claim"]);
    });
  });

  it("lists pending and dead rows from their partial indexes, and settles rows by intent id", async () => {
    await withPlanner((plan) => {
      assert.deepEqual(plan("outboxPending", 10), ["SCAN outbox USING INDEX outbox_pending"]);
      assert.deepEqual(plan("outboxDead", 10), ["SCAN outbox USING INDEX outbox_dead"]);
      const byIntent = "SEARCH outbox USING INDEX sqlite_autoindex_outbox_1 (intent_id=?)";
      assert.deepEqual(plan("outboxRow", "x"), [byIntent]);
      assert.deepEqual(plan("completeOutbox", "x", "o"), [byIntent]);
      assert.deepEqual(plan("retryOutbox", 1, "e", 0, "x", "o"), [byIntent]);
      assert.deepEqual(plan("buryOutbox", "e", "x", "o"), [byIntent]);
      assert.deepEqual(plan("reviveOutbox", 1, "x"), [byIntent]);
    });
  });

  it("counts pending and dead rows from their partial indexes", async () => {
    await withPlanner((plan) => {
      const lines = plan("outboxStats");
      assert.ok(lines.includes("SCAN outbox USING COVERING INDEX outbox_pending"), lines.join("\n"));
      assert.ok(lines.includes("SCAN outbox USING COVERING INDEX outbox_dead"), lines.join("\n"));
    });
  });
});
