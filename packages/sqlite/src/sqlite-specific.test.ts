import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { AcceptedWrite, Json, RejectionWrite, StepWrite } from "@drover/core";
import { CommitOutcomeKind, ConfigurationError, Runtime, StoreUnavailableError } from "@drover/core";
import { acceptedWrite, queueWrite, rejectionWrite } from "@drover/core/testing";
import Database from "better-sqlite3";
import type { Migration } from "./migrations.js";
import { migrate, migrations } from "./migrations.js";
import { SqliteStore } from "./sqlite-store.js";
import { tally } from "./test-support/crash-tally.js";

const root = mkdtempSync(join(tmpdir(), "drover-sqlite-specific-"));
after(() => rmSync(root, { recursive: true, force: true }));

function freshPath(): string {
  return join(mkdtempSync(join(root, "t-")), "drover.db");
}

/** Run `body` on a store at a fresh path, always closing it. */
async function withStore(body: (store: SqliteStore, path: string) => Promise<void>): Promise<void> {
  const path = freshPath();
  const store = SqliteStore.open({ path });
  try {
    await body(store, path);
  } finally {
    await store.close();
  }
}

/** Run `body` on a plain better-sqlite3 connection to `path`, always closing it. */
function withRaw<T>(path: string, body: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return body(db);
  } finally {
    db.close();
  }
}

/** A tally step whose outbox rows carry the given intent ids (to provoke clashes). */
function accepted(
  id: string,
  eventId: string,
  expectedVersion: number,
  intentIds: readonly string[] = [],
): AcceptedWrite {
  const base = acceptedWrite(id, eventId, expectedVersion, { total: expectedVersion + 1 });
  const intents = intentIds.map((intentId) => ({ id: intentId, intent: { type: "Noted", n: 1 } }));
  return {
    ...base,
    intents,
    outbox: intents.map((record) => ({ intentId: record.id, intent: record.intent })),
    result: { ...base.result, intents },
  };
}

/** A timer of entity c_01 as a version 1 database left it: never claimed, next attempt when due, no trace. */
function unclaimedTimer(timerId: string, dueAt: number, status: string) {
  const claim = { attempts: 0, nextAttemptAt: dueAt, leaseOwner: null, leaseUntil: null, lastError: null };
  const timer = {
    timerId,
    machine: "tally",
    entityId: "c_01",
    key: null,
    event: { type: "Tick" },
    eventVersion: 1,
    dueAt,
    status,
    traceParent: null,
  };
  return { ...timer, ...claim };
}

/** Commit `steps` in one call; the kinds of their outcomes, in order. */
async function commitKinds(store: SqliteStore, steps: readonly StepWrite[]): Promise<string[]> {
  return (await store.commit(steps)).map((outcome) => outcome.kind);
}

function rejected(id: string, eventId: string, expectedVersion: number): RejectionWrite {
  return rejectionWrite(id, eventId, expectedVersion, "already_open");
}

describe("SqliteStore: connection settings", () => {
  it("runs in WAL mode with synchronous FULL by default", () =>
    withStore(async (store, path) => {
      assert.equal(store.info().journalMode, "wal");
      assert.equal(store.info().synchronous, "FULL");
      // WAL is a property of the file: a second connection sees it too.
      assert.equal(
        withRaw(path, (db) => db.pragma("journal_mode", { simple: true })),
        "wal",
      );
    }));

  it("claims and settles without an fsync of their own, and is back at synchronous FULL for every step", () =>
    withStore(async (store) => {
      const fsyncOf: string[] = [];
      const seen = () => fsyncOf.push(store.info().synchronous);
      await store.commit([queueWrite("c_01", 1, 0, 2)]);
      seen();
      const claimed = await store.claimOutbox({ owner: "w", now: Date.UTC(2030, 0, 1), leaseMs: 1000, limit: 10 });
      seen();
      assert.equal(claimed.length, 1);
      const done = store.completeOutbox(claimed[0]?.intentId ?? "", "w", 0);
      const failed = store.failOutbox("nothing", "w", { error: "x", now: 0, retryAt: 1 });
      assert.deepEqual(await Promise.all([done, failed]), [true, false]);
      seen();
      assert.deepEqual(fsyncOf, ["FULL", "FULL", "FULL"]);
    }));

  it("uses synchronous NORMAL when asked", async () => {
    const store = SqliteStore.open({ path: freshPath(), synchronous: "NORMAL" });
    try {
      assert.equal(store.info().synchronous, "NORMAL");
    } finally {
      await store.close();
    }
  });

  it("creates missing parent directories", async () => {
    const path = join(root, "deep", "er", "drover.db");
    const store = SqliteStore.open({ path });
    await store.close();
    assert.ok(existsSync(path));
  });

  it("refuses bad options with a ConfigurationError", () => {
    assert.throws(() => SqliteStore.open({ path: "" }), ConfigurationError);
    assert.throws(
      () => SqliteStore.open({ path: freshPath(), synchronous: "OFF" as "FULL" }),
      (error: unknown) => error instanceof ConfigurationError && /"FULL" or "NORMAL", got "OFF"/.test(error.message),
    );
    assert.throws(() => SqliteStore.open({ path: freshPath(), busyTimeout: -1 }), ConfigurationError);
  });
});

describe("SqliteStore: migrations", () => {
  it("records each migration once and does not apply it again on reopen", async () => {
    const path = freshPath();
    await SqliteStore.open({ path }).close();
    const first = withRaw(path, (db) => db.prepare("SELECT version, name, applied_at FROM drover_migrations").all());
    await SqliteStore.open({ path }).close();
    const store = SqliteStore.open({ path });
    try {
      assert.equal(store.info().schemaVersion, migrations.length);
    } finally {
      await store.close();
    }
    const again = withRaw(path, (db) => db.prepare("SELECT version, name, applied_at FROM drover_migrations").all());
    assert.equal(first.length, migrations.length);
    assert.deepEqual(again, first);
  });

  it("reports what opening migrated: everything on a new file, nothing on the next open", async () => {
    const path = freshPath();
    const first = SqliteStore.open({ path });
    const second = SqliteStore.open({ path });
    try {
      const latest = migrations.length;
      assert.deepEqual(first.migration, { from: 0, to: latest, applied: migrations.map((m) => m.version) });
      assert.deepEqual(second.migration, { from: latest, to: latest, applied: [] });
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("knows eight schema versions", () => {
    assert.deepEqual(
      migrations.map((migration) => migration.version),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
  });

  it("applies only the migrations a database lacks, in one transaction each open", () => {
    const path = freshPath();
    const next: Migration = { version: 9, name: "a test table", sql: "CREATE TABLE test_extra (x INTEGER)" };
    withRaw(path, (db) => {
      assert.deepEqual(migrate(db, path, migrations.slice(0, 1)), { from: 0, to: 1, applied: [1] });
      assert.deepEqual(migrate(db, path), { from: 1, to: 8, applied: [2, 3, 4, 5, 6, 7, 8] });
      assert.deepEqual(migrate(db, path, [...migrations, next]), { from: 8, to: 9, applied: [9] });
      assert.deepEqual(migrate(db, path, [...migrations, next]), { from: 9, to: 9, applied: [] });
    });
    const fresh = freshPath();
    withRaw(fresh, (db) => assert.deepEqual(migrate(db, fresh), { from: 0, to: 8, applied: [1, 2, 3, 4, 5, 6, 7, 8] }));
  });

  it("leaves the previous version intact when a migration fails halfway", () => {
    const path = freshPath();
    const broken: Migration = { version: 9, name: "broken", sql: "CREATE TABLE half_done (x INTEGER); CREATE TABLE (" };
    withRaw(path, (db) => {
      migrate(db, path);
      assert.throws(() => migrate(db, path, [...migrations, broken]), /syntax error/);
      assert.equal(db.prepare("SELECT max(version) FROM drover_migrations").pluck().get(), migrations.length);
      assert.equal(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'").pluck().get(), 0);
    });
  });

  it("brings a version 1 database with data to the latest version, and it keeps working", async () => {
    const path = freshPath();
    const T = 1_767_225_600_000;
    withRaw(path, (db) => {
      migrate(db, path, migrations.slice(0, 1));
      db.exec(`
        INSERT INTO entities VALUES ('tally', 'c_01', 1, '{"total":0,"adds":0,"ticks":0}', ${T}, ${T});
        INSERT INTO outbox (intent_id, machine, entity_id, intent, status, attempts, next_attempt_at,
                            lease_owner, lease_until, last_error, created_at)
        VALUES ('o/1', 'tally', 'c_01', '{"type":"Noted","n":1}', 'done', 1, ${T}, NULL, NULL, NULL, ${T}),
               ('o/2', 'tally', 'c_01', '{"type":"Noted","n":2}', 'pending', 2, ${T + 50}, NULL, NULL, 'timeout', ${T}),
               ('o/3', 'tally', 'c_01', '{"type":"Noted","n":3}', 'pending', 0, ${T}, NULL, NULL, NULL, ${T});
        INSERT INTO timers (timer_id, machine, entity_id, event, due_at, status)
        VALUES ('t/late', 'tally', 'c_01', '{"type":"Tick"}', ${T + 300}, 'pending'),
               ('t/soon', 'tally', 'c_01', '{"type":"Tick"}', ${T + 100}, 'pending'),
               ('t/past', 'tally', 'c_01', '{"type":"Tick"}', ${T + 10}, 'fired');
      `);
    });

    const store = SqliteStore.open({ path });
    try {
      assert.equal(store.info().schemaVersion, migrations.length);
      assert.deepEqual(await store.listTimers(), [
        unclaimedTimer("t/past", T + 10, "fired"),
        unclaimedTimer("t/soon", T + 100, "pending"),
        unclaimedTimer("t/late", T + 300, "pending"),
      ]);
      assert.deepEqual(
        (await store.listOutbox()).map((row) => [row.intentId, row.status, row.attempts, row.lastError]),
        [
          ["o/1", "done", 1, null],
          ["o/2", "pending", 2, "timeout"],
          ["o/3", "pending", 0, null],
        ],
      );

      // Timers are claimable from their due time; the old outbox rows keep their order.
      assert.deepEqual(await store.claimTimers({ owner: "s", now: T + 99, leaseMs: 1000, limit: 10 }), []);
      assert.deepEqual(
        (await store.claimTimers({ owner: "s", now: T + 300, leaseMs: 1000, limit: 10 })).map((t) => t.timerId),
        ["t/soon", "t/late"],
      );
      assert.equal(await store.completeTimer("t/soon", "s", T + 301), true);
      assert.deepEqual(await store.claimOutbox({ owner: "d", now: T + 49, leaseMs: 1000, limit: 10 }), []);
      const [first] = await store.claimOutbox({ owner: "d", now: T + 50, leaseMs: 1000, limit: 10 });
      assert.deepEqual([first?.intentId, first?.attempts], ["o/2", 3]);
      assert.equal(await store.completeOutbox("o/2", "d", T + 60), true);

      // New steps write the new timer columns.
      const runtime = new Runtime({ store, machines: [tally] });
      const ref = { machine: "tally", id: "c_01" };
      for (let n = 1; n <= 5; n++) assert.equal((await runtime.run(ref, { type: "Add", n })).kind, "processed");
      const added = (await store.listTimers()).filter((t) => !t.timerId.startsWith("t/"));
      assert.equal(added.length, 1);
      assert.deepEqual(
        [added[0]?.attempts, added[0]?.nextAttemptAt, added[0]?.leaseOwner, added[0]?.status],
        [0, added[0]?.dueAt, null, "pending"],
      );
    } finally {
      await store.close();
    }
    withRaw(path, (db) => {
      assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
      const indexes = db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        .pluck()
        .all();
      assert.deepEqual(indexes, [
        "journal_by_event",
        "outbox_dead",
        "outbox_pending",
        "timers_claim",
        "timers_pending_by_key",
      ]);
    });
  });

  it("refuses to open a database written by a newer schema version, saying what to do", async () => {
    const path = freshPath();
    await SqliteStore.open({ path }).close();
    withRaw(path, (db) =>
      db.prepare("INSERT INTO drover_migrations (version, name, applied_at) VALUES (99, 'from the future', 0)").run(),
    );
    assert.throws(
      () => SqliteStore.open({ path }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.message.includes(path) &&
        error.message.includes(
          `schema version 99, but this @drover/sqlite knows versions up to ${migrations.length}; upgrade @drover/sqlite`,
        ),
    );
    // Refusing must not have touched the file.
    assert.equal(
      withRaw(path, (db) => db.prepare("SELECT count(*) FROM drover_migrations").pluck().get()),
      migrations.length + 1,
    );
  });
});

describe("SqliteStore: commit", () => {
  it("isolates a failing step of a batch in its savepoint; its neighbours commit", () =>
    withStore(async (store) => {
      const outcomes = await store.commit([
        accepted("c_01", "evt_1", 0, ["tally/c_01/1/0"]),
        // The second outbox row repeats an intent id: the UNIQUE constraint fails the step.
        accepted("c_02", "evt_2", 0, ["tally/c_02/1/0", "tally/c_02/1/0"]),
        accepted("c_03", "evt_3", 0, ["tally/c_03/1/0"]),
      ]);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.kind),
        [CommitOutcomeKind.Committed, CommitOutcomeKind.Failed, CommitOutcomeKind.Committed],
      );
      const failure = outcomes[1];
      assert.ok(failure?.kind === CommitOutcomeKind.Failed);
      assert.equal((failure.error as { code?: unknown }).code, "SQLITE_CONSTRAINT_UNIQUE");
      assert.equal(await store.getEntity({ machine: "tally", id: "c_02" }), undefined);
      assert.deepEqual(await store.history({ machine: "tally", id: "c_02" }), []);
      assert.equal(await store.findInbox("evt_2"), undefined);
      assert.deepEqual(
        (await store.listOutbox()).map((row) => row.intentId),
        ["tally/c_01/1/0", "tally/c_03/1/0"],
      );
    }));

  it("rolls a failing single step back whole and stays usable", () =>
    withStore(async (store) => {
      const [outcome] = await store.commit([accepted("c_01", "evt_1", 0, ["x/1", "x/1"])]);
      assert.equal(outcome?.kind, CommitOutcomeKind.Failed);
      assert.equal(await store.getEntity({ machine: "tally", id: "c_01" }), undefined);
      assert.equal(await store.findInbox("evt_1"), undefined);
      assert.deepEqual(await store.commit([accepted("c_01", "evt_1", 0, ["x/1"])]), [
        { kind: CommitOutcomeKind.Committed },
      ]);
    }));

  it("fails a step whose value JSON cannot hold, without touching the others", () =>
    withStore(async (store) => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const bad: AcceptedWrite = { ...accepted("c_02", "evt_2", 0), event: cyclic as unknown as Json };
      assert.deepEqual(await commitKinds(store, [accepted("c_01", "evt_1", 0), bad]), [
        CommitOutcomeKind.Committed,
        CommitOutcomeKind.Failed,
      ]);
      assert.equal(await store.getEntity({ machine: "tally", id: "c_02" }), undefined);
    }));

  it("answers a stale version with conflict and the current version", () =>
    withStore(async (store) => {
      await store.commit([accepted("c_01", "evt_1", 0)]);
      await store.commit([accepted("c_01", "evt_2", 1)]);
      assert.deepEqual(await store.commit([accepted("c_01", "evt_3", 1)]), [
        { kind: CommitOutcomeKind.Conflict, currentVersion: 2 },
      ]);
      assert.deepEqual(await store.commit([accepted("c_01", "evt_4", 0)]), [
        { kind: CommitOutcomeKind.Conflict, currentVersion: 2 },
      ]);
      assert.deepEqual(await store.commit([rejected("c_01", "evt_5", 1)]), [
        { kind: CommitOutcomeKind.Conflict, currentVersion: 2 },
      ]);
      assert.equal((await store.history({ machine: "tally", id: "c_01" })).length, 2);
    }));

  it("answers a known event id with duplicate and the stored record, ahead of any version check", () =>
    withStore(async (store) => {
      const first = accepted("c_01", "evt_1", 0, ["tally/c_01/1/0"]);
      await store.commit([first]);
      const outcomes = await store.commit([accepted("c_01", "evt_1", 5), rejected("c_09", "evt_1", 0)]);
      for (const outcome of outcomes) {
        assert.ok(outcome.kind === CommitOutcomeKind.Duplicate);
        assert.deepEqual(outcome.record, {
          eventId: "evt_1",
          machine: "tally",
          id: "c_01",
          fingerprint: "fp:evt_1",
          result: first.result,
          at: first.at,
        });
      }
      assert.equal((await store.listOutbox()).length, 1);
    }));

  it("commits one event per step when a batch repeats an event id", () =>
    withStore(async (store) => {
      assert.deepEqual(await commitKinds(store, [accepted("c_01", "evt_1", 0), accepted("c_02", "evt_1", 0)]), [
        CommitOutcomeKind.Committed,
        CommitOutcomeKind.Duplicate,
      ]);
      assert.equal(await store.getEntity({ machine: "tally", id: "c_02" }), undefined);
    }));

  it("compiles no SQL after opening: every statement is prepared once", () =>
    withStore(async (store) => {
      const runtime = new Runtime({ store, machines: [tally] });
      const ref = { machine: "tally", id: "c_01" };
      await runtime.run(ref, { type: "Open" });
      const prepare = Database.prototype.prepare;
      let compiled = 0;
      Database.prototype.prepare = function (this: Database.Database, ...args: Parameters<typeof prepare>) {
        compiled++;
        return prepare.apply(this, args);
      } as typeof prepare;
      try {
        for (let i = 0; i < 20; i++) await runtime.run(ref, { type: "Add", n: 1 });
        await runtime.run(ref, { type: "Open" });
        await store.commit([accepted("c_02", "evt_a", 0), accepted("c_03", "evt_b", 0)]);
        await store.listEntities("tally", { limit: 10 });
        await store.listEntities("tally", { limit: 10, after: "c_01" });
        await store.history(ref);
        await store.listOutbox();
        await store.listOutbox({ status: "pending", limit: 3 });
        await store.listTimers();
        await store.countStateVersions("tally");
        await store.rewriteStates([{ ref, version: 1, state: {}, stateName: null, stateVersion: 2 }]);
        const query = { owner: "w", now: Date.now() + 60_000, leaseMs: 1000, limit: 5 };
        const [row] = await store.claimOutbox(query);
        assert.ok(row !== undefined);
        await store.failOutbox(row.intentId, "w", { error: "x", now: query.now, retryAt: null });
        await store.retryDead(row.intentId, query.now);
        const [again] = await store.claimOutbox(query);
        await store.failOutbox(again?.intentId ?? "", "w", { error: "x", now: query.now, retryAt: query.now + 1 });
        await store.completeOutbox(again?.intentId ?? "", "w", query.now);
        const [timer] = await store.claimTimers({ ...query, now: query.now + 3_600_000 });
        assert.ok(timer !== undefined);
        await store.failTimer(timer.timerId, "w", { error: "x", now: query.now, retryAt: query.now });
        await store.completeTimer(timer.timerId, "w", query.now);
        store.info();
        assert.equal(compiled, 0);
        // The spy does see a compilation on another connection.
        withRaw(":memory:", (db) => db.prepare("SELECT 1").get());
        assert.equal(compiled, 1);
      } finally {
        Database.prototype.prepare = prepare;
      }
    }));
});

describe("SqliteStore: lifecycle and failures", () => {
  it("keeps data through close and reopen", async () => {
    const path = freshPath();
    const ref = { machine: "tally", id: "c_01" };
    const first = SqliteStore.open({ path });
    const runtime = new Runtime({ store: first, machines: [tally] });
    await runtime.run(ref, { type: "Open" });
    for (let n = 1; n <= 5; n++) await runtime.run(ref, { type: "Add", n });
    const before = await first.history(ref);
    await first.close();

    const second = SqliteStore.open({ path });
    try {
      assert.deepEqual((await second.getEntity(ref))?.state, { total: 15, adds: 5, ticks: 0 });
      assert.deepEqual(await second.history(ref), before);
      assert.equal((await second.listOutbox()).length, 5);
      assert.equal((await second.listTimers()).length, 1);
    } finally {
      await second.close();
    }
  });

  it("closes idempotently, then refuses work with StoreUnavailableError", async () => {
    const store = SqliteStore.open({ path: freshPath() });
    await store.close();
    await store.close();
    await assert.rejects(store.getEntity({ machine: "tally", id: "c_01" }), StoreUnavailableError);
    await assert.rejects(store.commit([accepted("c_01", "evt_1", 0)]), /is closed; open a new one/);
  });

  it("reports a path it cannot open as StoreUnavailableError with the cause", () => {
    const file = join(mkdtempSync(join(root, "t-")), "not-a-dir");
    writeFileSync(file, "");
    const path = join(file, "drover.db");
    assert.throws(
      () => SqliteStore.open({ path }),
      (error: unknown) =>
        error instanceof StoreUnavailableError &&
        error.message.startsWith(`cannot open SQLite database at ${path}: `) &&
        error.message.endsWith("; check the path and permissions") &&
        error.cause instanceof Error,
    );
  });

  it("reports a file that is not a database as StoreUnavailableError", () => {
    const path = join(mkdtempSync(join(root, "t-")), "garbage.db");
    writeFileSync(path, "this is not a database, just text long enough to have a header".repeat(20));
    assert.throws(
      () => SqliteStore.open({ path }),
      (error: unknown) => error instanceof StoreUnavailableError && /file is not a database/.test(error.message),
    );
  });

  it("reports a write lock held past the busy timeout as StoreUnavailableError, writing nothing", async () => {
    const path = freshPath();
    const store = SqliteStore.open({ path, busyTimeout: 50 });
    const other = new Database(path);
    try {
      other.prepare("BEGIN IMMEDIATE").run();
      await assert.rejects(
        store.commit([accepted("c_01", "evt_1", 0)]),
        (error: unknown) =>
          error instanceof StoreUnavailableError &&
          (error.cause as { code?: unknown }).code === "SQLITE_BUSY" &&
          /unavailable while committing: .*; another connection held the write lock/.test(error.message),
      );
      other.prepare("ROLLBACK").run();
      assert.equal(await store.findInbox("evt_1"), undefined);
      assert.deepEqual(await store.commit([accepted("c_01", "evt_1", 0)]), [{ kind: CommitOutcomeKind.Committed }]);
    } finally {
      other.close();
      await store.close();
    }
  });
});
