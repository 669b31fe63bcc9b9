import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { CommitOutcomeKind } from "@drover/core";
import {
  acceptedWrite,
  checkStateNameUpgrade,
  checkTimerKeysUpgrade,
  checkTraceContextUpgrade,
  checkVersionUpgrade,
  checkWritesAfterStateNameUpgrade,
  stateNameFixtureSteps,
} from "@drover/core/testing";
import Database from "better-sqlite3";
import { migrations } from "./migrations.js";
import { SqliteStore } from "./sqlite-store.js";

// Each fixture is, gzipped, the file @drover/sqlite wrote at one schema version with
// stateNameFixtureSteps(); see test-fixtures/README.md.
function fixture(name: string): Buffer {
  return gunzipSync(readFileSync(fileURLToPath(new URL(`../test-fixtures/${name}`, import.meta.url))));
}
/** Schema version 2: before entities kept their state's name. */
const V2 = fixture("schema-v2.db.gz");
/** Schema version 3: before rows kept their state and event versions. */
const V3 = fixture("schema-v3.db.gz");
/** Schema version 4: before the journal row became an accepted event's inbox record. */
const V4 = fixture("schema-v4.db.gz");
/** Schema version 5: before the claim walked the pending rows without an index of them by entity. */
const V5 = fixture("schema-v5.db.gz");
/** Schema version 6: before outbox rows and timers kept the trace context of their step. */
const V6 = fixture("schema-v6.db.gz");
/** Schema version 7: before timers had keys, and intent types could be paused or limited. */
const V7 = fixture("schema-v7.db.gz");
const dir = mkdtempSync(join(tmpdir(), "drover-sqlite-old-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function copyOf(database: Buffer, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, database);
  return path;
}

async function assertReopensUnchanged(path: string): Promise<void> {
  const reopened = SqliteStore.open({ path });
  try {
    assert.deepEqual(reopened.migration, { from: migrations.length, to: migrations.length, applied: [] });
  } finally {
    await reopened.close();
  }
}

describe("SqliteStore: a database written by schema version 2", () => {
  it("upgrades in place: every row kept, each entity named by the default convention", async () => {
    const store = SqliteStore.open({ path: copyOf(V2, "v2-upgrade.db") });
    try {
      assert.deepEqual(store.migration, { from: 2, to: migrations.length, applied: [3, 4, 5, 6, 7, 8] });
      await checkStateNameUpgrade(store);
    } finally {
      await store.close();
    }
  });

  it("keeps working after the upgrade: loads, and the next step writes the machine's name", async () => {
    const path = copyOf(V2, "v2-next-step.db");
    const store = SqliteStore.open({ path });
    try {
      await checkWritesAfterStateNameUpgrade(store);
    } finally {
      await store.close();
    }
    await assertReopensUnchanged(path);
  });

  it("counts every row as state and event version 1, and the next writes keep their versions", async () => {
    const store = SqliteStore.open({ path: copyOf(V2, "v2-versions.db") });
    try {
      await checkVersionUpgrade(store);
    } finally {
      await store.close();
    }
  });
});

describe("SqliteStore: a database written by schema version 3", () => {
  it("upgrades in place: every row kept and named, each at state and event version 1", async () => {
    const path = copyOf(V3, "v3-upgrade.db");
    const store = SqliteStore.open({ path });
    try {
      assert.deepEqual(store.migration, { from: 3, to: migrations.length, applied: [4, 5, 6, 7, 8] });
      // Read-only checks first: the names version 3 wrote survive the migration.
      await checkStateNameUpgrade(store);
      await checkVersionUpgrade(store);
    } finally {
      await store.close();
    }
    await assertReopensUnchanged(path);
  });
});

// The outbox and timer columns of schema version 6, which every later version keeps as they are:
// a dump of them compares a file before and after an upgrade that adds columns.
const OUTBOX_V6 =
  "seq, intent_id, machine, entity_id, intent, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at";
const TIMERS_V6 =
  "rowid, timer_id, machine, entity_id, event, due_at, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, event_version";

/** Every row of the tables a step writes, read straight from the file, in a stable order. */
function dump(path: string): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true });
  try {
    const all = (query: string): unknown[] => db.prepare(query).all();
    return {
      entities: all("SELECT * FROM entities ORDER BY machine, id"),
      journal: all(
        `SELECT machine, id, version, event_id, event, decision, intents, at, state_version, event_version
           FROM journal ORDER BY machine, id, version`,
      ),
      inbox: all("SELECT event_id, machine, id, fingerprint, result, at FROM inbox ORDER BY event_id"),
      outbox: all(`SELECT ${OUTBOX_V6} FROM outbox ORDER BY seq`),
      timers: all(`SELECT ${TIMERS_V6} FROM timers ORDER BY rowid`),
    };
  } finally {
    db.close();
  }
}

describe("SqliteStore: a database written by schema version 4", () => {
  it("upgrades in place: every row kept, rejections included", async () => {
    const path = copyOf(V4, "v4-upgrade.db");
    const store = SqliteStore.open({ path });
    try {
      assert.deepEqual(store.migration, { from: 4, to: migrations.length, applied: [5, 6, 7, 8] });
      await checkStateNameUpgrade(store);
      await checkVersionUpgrade(store);
    } finally {
      await store.close();
    }
    await assertReopensUnchanged(path);
  });

  it("keeps each row exactly: the inbox view gives back the very text of every old inbox row", async () => {
    const path = copyOf(V4, "v4-rows.db");
    const before = dump(path);
    await SqliteStore.open({ path }).close();
    assert.deepEqual(dump(path), before);

    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
      // Each journal row carries its old inbox row's fingerprint; the one rejection moved to refusals.
      const unmatched = db
        .prepare(
          `SELECT count(*) FROM journal AS j
            WHERE j.fingerprint IS NULL OR j.fingerprint <> (SELECT i.fingerprint FROM inbox AS i WHERE i.event_id = j.event_id)`,
        )
        .pluck()
        .get();
      assert.equal(unmatched, 0);
      assert.deepEqual(db.prepare("SELECT event_id FROM refusals").pluck().all(), ["e7"]);
      assert.equal(db.prepare("SELECT count(*) FROM sqlite_sequence WHERE name = 'outbox'").pluck().get(), 0);
    } finally {
      db.close();
    }
  });

  it("answers a repeated old event, accepted or rejected, as a duplicate with its original result", async () => {
    const store = SqliteStore.open({ path: copyOf(V4, "v4-duplicates.db") });
    try {
      for (const step of stateNameFixtureSteps()) {
        const original = {
          eventId: step.eventId,
          machine: step.ref.machine,
          id: step.ref.id,
          fingerprint: step.fingerprint,
          result: step.result,
          at: step.at,
        };
        assert.deepEqual(await store.findInbox(step.eventId), original, step.eventId);
        assert.deepEqual((await store.load(step.ref, step.eventId)).inbox, original, step.eventId);
        assert.deepEqual(await store.commit([step]), [{ kind: CommitOutcomeKind.Duplicate, record: original }]);
      }
      // Both kinds are among them.
      assert.deepEqual([...new Set(stateNameFixtureSteps().map((step) => step.result.kind))].sort(), [
        "processed",
        "rejected",
      ]);
    } finally {
      await store.close();
    }
  });
});

describe("SqliteStore: a database written by schema version 5", () => {
  it("upgrades in place: the index of pending rows by entity goes, every row stays, claims keep each entity's order", async () => {
    const path = copyOf(V5, "v5-upgrade.db");
    const store = SqliteStore.open({ path });
    try {
      assert.deepEqual(store.migration, { from: 5, to: migrations.length, applied: [6, 7, 8] });
      await checkStateNameUpgrade(store);
      await checkVersionUpgrade(store);
      // The fixture's outbox row, then two intents of one new entity: its second waits for its first.
      const fixtureRows = (await store.listOutbox()).map((row) => row.intentId);
      assert.deepEqual(fixtureRows, ["tally/a1/1/0"]);
      const two = acceptedWrite("f1", "v6_e1", 0, { n: 1 }, [
        { type: "Noted", n: 1 },
        { type: "Noted", n: 2 },
      ]);
      assert.deepEqual(await store.commit([two]), [{ kind: CommitOutcomeKind.Committed }]);
      const lease = { owner: "o", now: Date.UTC(2027, 0, 1), leaseMs: 60_000, limit: 10 };
      assert.deepEqual(
        (await store.claimOutbox(lease)).map((row) => row.intentId),
        ["tally/a1/1/0", "tally/f1/1/0"],
      );
      assert.equal(await store.completeOutbox("tally/f1/1/0", "o", lease.now), true);
      assert.deepEqual(
        (await store.claimOutbox({ ...lease, owner: "p" })).map((row) => row.intentId),
        ["tally/f1/1/1"],
      );
    } finally {
      await store.close();
    }
    await assertReopensUnchanged(path);

    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
      const indexes = db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
        .pluck()
        .all();
      assert.equal(indexes.includes("outbox_pending_by_entity"), false);
    } finally {
      db.close();
    }
  });

  it("keeps each row exactly", async () => {
    const path = copyOf(V5, "v5-rows.db");
    const before = dump(path);
    await SqliteStore.open({ path }).close();
    assert.deepEqual(dump(path), before);
  });
});

describe("SqliteStore: a database written by schema version 6", () => {
  it("upgrades in place: old outbox rows and timers have no trace, are claimed and settled, new steps keep theirs", async () => {
    const path = copyOf(V6, "v6-upgrade.db");
    const store = SqliteStore.open({ path });
    try {
      assert.deepEqual(store.migration, { from: 6, to: migrations.length, applied: [7, 8] });
      await checkStateNameUpgrade(store);
      await checkVersionUpgrade(store);
      await checkTraceContextUpgrade(store);
    } finally {
      await store.close();
    }
    await assertReopensUnchanged(path);
  });

  it("keeps each row exactly, with no trace on any old row", async () => {
    const path = copyOf(V6, "v6-rows.db");
    const before = dump(path);
    await SqliteStore.open({ path }).close();
    assert.deepEqual(dump(path), before);

    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
      const traced = (table: string): unknown =>
        db.prepare(`SELECT count(*) FROM ${table} WHERE trace_parent IS NOT NULL`).pluck().get();
      assert.deepEqual([traced("outbox"), traced("timers")], [0, 0]);
    } finally {
      db.close();
    }
  });
});

describe("SqliteStore: a database written by schema version 7", () => {
  it("upgrades in place: its pending timer has no key, is claimed and fires; keys, cancels, dead timers, pauses, slots and tokens work", async () => {
    const path = copyOf(V7, "v7-upgrade.db");
    const store = SqliteStore.open({ path });
    try {
      assert.deepEqual(store.migration, { from: 7, to: migrations.length, applied: [8] });
      await checkStateNameUpgrade(store);
      await checkTimerKeysUpgrade(store);
    } finally {
      await store.close();
    }
    await assertReopensUnchanged(path);
  });

  it("keeps each row exactly, with no key on any old timer and nothing paused or held", async () => {
    const path = copyOf(V7, "v7-rows.db");
    const before = dump(path);
    await SqliteStore.open({ path }).close();
    assert.deepEqual(dump(path), before);

    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
      const count = (query: string): unknown => db.prepare(query).pluck().get();
      assert.equal(count("SELECT count(*) FROM timers WHERE timer_key IS NOT NULL"), 0);
      assert.equal(count("SELECT count(*) FROM timers WHERE trace_parent IS NOT NULL"), 0);
      for (const table of ["paused_intent_types", "intent_slots", "token_buckets"]) {
        assert.equal(count(`SELECT count(*) FROM ${table}`), 0, table);
      }
      // The old timer has no key: the index of pending keyed timers holds nothing yet.
      assert.equal(
        count(
          "SELECT count(*) FROM timers INDEXED BY timers_pending_by_key WHERE status = 'pending' AND timer_key IS NOT NULL",
        ),
        0,
      );
    } finally {
      db.close();
    }
  });
});
