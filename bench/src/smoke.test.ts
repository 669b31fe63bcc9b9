import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SqliteSynchronous } from "@drover/sqlite";
import Database from "better-sqlite3";
import { runDrover } from "./contestants/drover.js";
import { runRaw } from "./contestants/raw.js";
import { checkApplied, createDroverSchema, ScratchDir } from "./database.js";
import { ContestantKey, runBenchmark } from "./harness.js";
import { Workload } from "./workload.js";

// Benchmarks are not tests: nothing here looks at a timing, only at what was written.

const fixed = (entities: number, events: number) =>
  new Workload({
    entities,
    events,
    ids: (seq) => `evt_${String(seq).padStart(8, "0")}`,
    clock: (seq) => 1_767_225_600_000 + seq,
  });

function dump(path: string): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true });
  try {
    return {
      entities: db.prepare("SELECT * FROM entities ORDER BY machine, id").all(),
      journal: db.prepare("SELECT * FROM journal ORDER BY machine, id, version").all(),
      inbox: db.prepare("SELECT * FROM inbox ORDER BY event_id").all(),
      outbox: db.prepare("SELECT * FROM outbox ORDER BY seq").all(),
    };
  } finally {
    db.close();
  }
}

describe("bench", () => {
  it("has the raw contestant write exactly the rows drover writes", async () => {
    const scratch = new ScratchDir();
    try {
      const raw = scratch.file("raw");
      await createDroverSchema(raw);
      runRaw(fixed(7, 60), { path: raw, synchronous: SqliteSynchronous.Normal, batch: 1 });
      const drover = scratch.file("drover");
      await runDrover(fixed(7, 60), { path: drover, synchronous: SqliteSynchronous.Normal, callers: 1 });
      const rows = dump(drover);
      assert.equal(rows.journal?.length, 60);
      assert.deepEqual(dump(raw), rows);
    } finally {
      scratch.remove();
    }
  });

  it("notices an event that did not land", async () => {
    const scratch = new ScratchDir();
    try {
      const path = scratch.file("raw");
      await createDroverSchema(path);
      runRaw(fixed(5, 20), { path, synchronous: SqliteSynchronous.Normal, batch: 1 });
      assert.equal(checkApplied(path, 20, 5).ok, true);
      const db = new Database(path);
      db.prepare("DELETE FROM outbox WHERE seq = (SELECT max(seq) FROM outbox)").run();
      db.close();
      const broken = checkApplied(path, 20, 5);
      assert.equal(broken.ok, false);
      assert.match(broken.detail, /outbox 19, expected 20/);
    } finally {
      scratch.remove();
    }
  });

  it("runs raw and drover on tiny sizes and finds every event applied", async () => {
    const lines: string[] = [];
    const report = await runBenchmark(
      {
        mode: "quick",
        rounds: 1,
        entities: 20,
        events: { serial: 100, bulk: 300, emmett: 0 },
        callers: 8,
        only: [ContestantKey.Raw, ContestantKey.RawBatched, ContestantKey.Drover, ContestantKey.DroverConcurrent],
        emmett: "skip",
      },
      (line) => lines.push(line),
    );
    assert.equal(report.consistent, true, lines.join("\n"));
    assert.deepEqual(
      report.contestants.map((c) => [c.key, c.consistent, c.error]),
      [
        [ContestantKey.Raw, true, undefined],
        [ContestantKey.RawBatched, true, undefined],
        [ContestantKey.Drover, true, undefined],
        [ContestantKey.DroverConcurrent, true, undefined],
      ],
    );
    assert.ok(report.contestants.every((c) => c.runs.length === 1));
  });
});
