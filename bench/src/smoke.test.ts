import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { natsServerBinary } from "@drover/nats/testing";
import { SqliteSynchronous } from "@drover/sqlite";
import Database from "better-sqlite3";
import { runDrover } from "./contestants/drover.js";
import { runDroverPg } from "./contestants/drover-pg.js";
import { runMinimal } from "./contestants/minimal.js";
import { runRaw } from "./contestants/raw.js";
import { runRawPg } from "./contestants/raw-pg.js";
import { checkApplied, checkPerEntity, createDroverSchema, journalPerEntity, ScratchDir } from "./database.js";
import { ContestantKey, runBenchmark } from "./harness.js";
import { BENCH_MACHINE } from "./payment-machine.js";
import { benchPostgresUrl, createDroverSchemaPg, dumpPg, PgScratch, printableUrl, probePostgres } from "./postgres.js";
import { entityId, Workload } from "./workload.js";

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

  it("has the minimal layout keep what drover keeps: states, journal, inbox and outbox, in fewer B-trees", async () => {
    const scratch = new ScratchDir();
    try {
      const minimal = scratch.file("minimal");
      runMinimal(fixed(7, 60), { path: minimal, synchronous: SqliteSynchronous.Normal, batch: 1 });
      const drover = scratch.file("drover");
      await runDrover(fixed(7, 60), { path: drover, synchronous: SqliteSynchronous.Normal, callers: 1 });
      const project = (path: string) => {
        const db = new Database(path, { readonly: true });
        try {
          const all = (sql: string) => db.prepare(sql).raw().all();
          return {
            entities: all(
              "SELECT machine, id, version, state, created_at, updated_at FROM entities ORDER BY machine, id",
            ),
            journal: all(
              "SELECT machine, id, version, event_id, event, decision, intents, at FROM journal ORDER BY 1, 2, 3",
            ),
            inbox: all("SELECT event_id FROM inbox ORDER BY event_id"),
            outbox: all("SELECT intent_id, machine, entity_id, intent, status, created_at FROM outbox ORDER BY seq"),
          };
        } finally {
          db.close();
        }
      };
      assert.deepEqual(project(minimal), project(drover));
      assert.equal(checkApplied(minimal, 60, 7).ok, true);
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

  it("notices an entity whose journal lost an event or holds one too many", async () => {
    const scratch = new ScratchDir();
    try {
      const path = scratch.file("drover");
      await runDrover(fixed(5, 23), { path, synchronous: SqliteSynchronous.Normal, callers: 4 });
      const journal = journalPerEntity(path, BENCH_MACHINE);
      assert.equal(checkPerEntity(journal, 23, 5).ok, true);
      // Round robin: the first three entities got 5 events, the other two 4.
      assert.match(checkPerEntity(journal, 24, 5).detail, /pay_0000003: 4 journal rows, version 4, sent 5/);
      const doubled = journal.map((j) => (j.id === entityId(0) ? { ...j, rows: j.rows + 1 } : j));
      assert.match(checkPerEntity(doubled, 23, 5).detail, /pay_0000000: 6 journal rows, version 5, sent 5/);
      assert.equal(checkPerEntity([...journal, { id: "pay_9", rows: 1, lastVersion: 1 }], 23, 5).ok, false);
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
        only: [
          ContestantKey.Raw,
          ContestantKey.RawBatched,
          ContestantKey.Minimal,
          ContestantKey.MinimalBatched,
          ContestantKey.Drover,
          ContestantKey.DroverConcurrent,
        ],
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
        [ContestantKey.Minimal, true, undefined],
        [ContestantKey.MinimalBatched, true, undefined],
        [ContestantKey.Drover, true, undefined],
        [ContestantKey.DroverConcurrent, true, undefined],
      ],
    );
    assert.ok(report.contestants.every((c) => c.runs.length === 1));
  });

  it("runs drover with tracing off and on, applies every event both ways and exports a span per event when on", async () => {
    const lines: string[] = [];
    const report = await runBenchmark(
      {
        mode: "quick",
        rounds: 2,
        entities: 20,
        events: { serial: 0, bulk: 0, emmett: 0 },
        callers: 8,
        only: ["tracing"],
        emmett: "skip",
        warmUp: false,
        tracing: { events: 200, noopCalls: 1_000 },
      },
      (line) => lines.push(line),
    );
    assert.equal(report.consistent, true, lines.join("\n"));
    const rows = report.tracing?.rows ?? [];
    assert.deepEqual(
      rows.map((r) => [r.mode, r.consistent, r.runs.length]),
      [
        ["off", true, 2],
        ["on", true, 2],
      ],
    );
    assert.match(rows[1]?.notes.join("; ") ?? "", /every span exported \(200 drover\.run, \d+ drover\.commit\)/);
    assert.equal(report.tracing?.noop.calls, 1_000);
  });

  it("skips the PostgreSQL rows with one line when PostgreSQL is unreachable, or fails if required", async () => {
    const config = {
      mode: "quick",
      rounds: 1,
      entities: 20,
      events: { serial: 0, bulk: 0, emmett: 0 },
      callers: 8,
      only: [ContestantKey.RawPg, ContestantKey.DroverPg],
      emmett: "skip",
      postgres: {
        url: "postgres://postgres@127.0.0.1:1/postgres",
        required: false,
        events: { serial: 10, concurrent: 10, bulk: 10, emmett: 0 },
      },
    } as const;
    const lines: string[] = [];
    const report = await runBenchmark(config, (line) => lines.push(line));
    const skips = lines.filter((line) => line.includes("PostgreSQL not reachable"));
    assert.equal(skips.length, 1, lines.join("\n"));
    assert.match(skips[0] ?? "", /127\.0\.0\.1:1.*skipping the PostgreSQL rows/);
    assert.deepEqual(
      report.contestants.map((c) => [c.key, c.runs.length, /^skipped: PostgreSQL not reachable/.test(c.error ?? "")]),
      [
        [ContestantKey.RawPg, 0, true],
        [ContestantKey.DroverPg, 0, true],
      ],
    );
    await assert.rejects(
      runBenchmark({ ...config, postgres: { ...config.postgres, required: true } }, () => undefined),
      /PostgreSQL not reachable at postgres:\/\/postgres@127\.0\.0\.1:1\/postgres .*DROVER_REQUIRE_SERVICES=1/,
    );
  });
});

// As packages/postgres' tests: without PostgreSQL these are one skipped test that says why,
// or one failing test with DROVER_REQUIRE_SERVICES=1.
const pgUrl = benchPostgresUrl();
const probe = await probePostgres(pgUrl);

describe("bench on PostgreSQL", () => {
  if (!probe.ok) {
    const where = `PostgreSQL not reachable at ${printableUrl(pgUrl)} (${probe.reason})`;
    if (process.env.DROVER_REQUIRE_SERVICES === "1") {
      it("has PostgreSQL (DROVER_REQUIRE_SERVICES=1)", () => {
        throw new Error(`${where}; start it, or point DROVER_BENCH_PG_URL at one`);
      });
    } else {
      it("PostgreSQL rows", { skip: `${where}; start it or set DROVER_REQUIRE_SERVICES=1 to fail` }, () => undefined);
    }
    return;
  }

  it("has the raw pg contestant, per event and batched, write exactly the rows drover-pg writes", async () => {
    const scratch = new PgScratch(pgUrl);
    try {
      const drover = await scratch.create("smoke_drover");
      await runDroverPg(fixed(7, 60), { url: drover, callers: 1 });
      const rows = await dumpPg(drover);
      assert.equal(rows.journal?.length, 60);
      assert.equal(rows.outbox?.length, 60);
      for (const [label, clients, batch] of [
        ["smoke_raw", 1, 1],
        // Batches of 8 over 7 entities: an entity moves twice in some batches.
        ["smoke_raw_batched", 1, 8],
      ] as const) {
        const raw = await scratch.create(label);
        await createDroverSchemaPg(raw);
        await runRawPg(fixed(7, 60), { url: raw, clients, batch });
        assert.deepEqual(await dumpPg(raw), rows, label);
      }
    } finally {
      await scratch.remove();
    }
  });

  it("runs the PostgreSQL rows on tiny sizes and finds every event applied", async () => {
    const lines: string[] = [];
    const keys = [ContestantKey.RawPg8, ContestantKey.DroverPg64];
    const report = await runBenchmark(
      {
        mode: "quick",
        rounds: 1,
        entities: 20,
        events: { serial: 0, bulk: 0, emmett: 0 },
        callers: 8,
        only: keys,
        emmett: "skip",
        warmUp: false,
        postgres: {
          url: pgUrl,
          required: true,
          events: { serial: 50, concurrent: 100, bulk: 200, emmett: 0 },
        },
      },
      (line) => lines.push(line),
    );
    assert.equal(report.consistent, true, lines.join("\n"));
    assert.deepEqual(
      report.contestants.map((c) => [c.key, c.consistent, c.error]),
      keys.map((key) => [key, true, undefined]),
    );
    assert.ok(report.contestants.every((c) => c.runs.length === 1));
    assert.equal(report.machine.postgres?.fsync, "on");
  });
});

// Without nats-server: one skipped test that says why, or one failing test with
// DROVER_REQUIRE_SERVICES=1 (as the PostgreSQL rows).
describe("bench through NATS", () => {
  if (natsServerBinary() === undefined) {
    const why = "nats-server not found (set NATS_SERVER_BIN, or install it: apt-get install nats-server)";
    if (process.env.DROVER_REQUIRE_SERVICES === "1") {
      it("has nats-server (DROVER_REQUIRE_SERVICES=1)", () => {
        throw new Error(why);
      });
    } else {
      it("NATS rows", { skip: `${why}; or set DROVER_REQUIRE_SERVICES=1 to fail` }, () => undefined);
    }
    return;
  }

  for (const publish of ["first", "alongside"] as const) {
    it(`runs the NATS rows on tiny sizes (publishing ${publish}), every event applied once, no nats-server left`, async () => {
      const lines: string[] = [];
      const report = await runBenchmark(
        {
          mode: "quick",
          rounds: 1,
          entities: 20,
          events: { serial: 0, bulk: 300, emmett: 0 },
          callers: 8,
          only: ["nats"],
          emmett: "skip",
          warmUp: false,
          nats: { required: true, concurrency: 64, window: 16, publish },
          ...(probe.ok
            ? { postgres: { url: pgUrl, required: true, events: { serial: 0, concurrent: 0, bulk: 200, emmett: 0 } } }
            : {}),
        },
        (line) => lines.push(line),
      );
      assert.equal(report.consistent, true, lines.join("\n"));
      const rows = report.nats?.rows ?? [];
      assert.deepEqual(
        rows.map((r) => [r.backend, r.consistent, r.runs.length, r.error]),
        [
          ["sqlite", true, 1, undefined],
          probe.ok ? ["postgres", true, 1, undefined] : ["postgres", true, 0, rows[1]?.error],
        ],
      );
      assert.match(rows[0]?.notes.join("; ") ?? "", /ingress outcomes besides processed: none/);
      // Each run's nats-server is stopped and reaped before its row is reported.
      assert.deepEqual(childNatsServers(), []);
    });
  }
});

/** nats-server processes this process started and still has. */
function childNatsServers(): string[] {
  try {
    return execFileSync("pgrep", ["-P", String(process.pid), "nats-server"])
      .toString()
      .trim()
      .split("\n");
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}
