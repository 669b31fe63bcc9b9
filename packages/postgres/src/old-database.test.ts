import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { CommitOutcomeKind, TimerStatus } from "@drover/core";
import {
  acceptedWrite,
  checkStateNameUpgrade,
  checkTraceContextUpgrade,
  checkVersionUpgrade,
  checkWritesAfterStateNameUpgrade,
  storedToken,
} from "@drover/core/testing";
import { quoteIdent } from "./identifiers.js";
import { migrations } from "./migrations.js";
import { freshSchema, openStore, postgresAvailable, withAdmin } from "./test-support/fixtures.js";

// test-fixtures/schema-v<N>.sql.gz is a dump of a schema written by @drover/postgres at schema
// version N with stateNameFixtureSteps(): version 1 before entities kept their state's name,
// version 2 before rows kept their state and event versions, version 3 before drover_commit_one,
// version 4 before outbox rows and timers kept their step's trace context, version 5 before timers
// kept their key (and could be cancelled or dead) and the intent controls, version 6 before the
// HTTP API's tokens were kept in the schema; see test-fixtures/README.md.
const FIXTURES = {
  v1: new URL("../test-fixtures/schema-v1.sql.gz", import.meta.url),
  v2: new URL("../test-fixtures/schema-v2.sql.gz", import.meta.url),
  v3: new URL("../test-fixtures/schema-v3.sql.gz", import.meta.url),
  v4: new URL("../test-fixtures/schema-v4.sql.gz", import.meta.url),
  v5: new URL("../test-fixtures/schema-v5.sql.gz", import.meta.url),
  v6: new URL("../test-fixtures/schema-v6.sql.gz", import.meta.url),
} as const;

/** A fresh schema holding what the code of an older schema version wrote. */
async function restoredFixture(fixture: URL): Promise<string> {
  const schema = freshSchema("drover_old");
  const dump = gunzipSync(readFileSync(fixture)).toString("utf8").replaceAll("__SCHEMA__", schema);
  await withAdmin((client) => client.query(dump));
  return schema;
}

/** Opening `schema` again applies nothing. */
async function reopensAsIs(schema: string): Promise<void> {
  const reopened = await openStore({ schema });
  try {
    assert.deepEqual(reopened.migration, { from: migrations.length, to: migrations.length, applied: [] });
  } finally {
    await reopened.close();
  }
}

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore: a schema written by schema version 1", () => {
    it("upgrades in place: every row kept, each entity named by the default convention, every row at version 1", async () => {
      const store = await openStore({ schema: await restoredFixture(FIXTURES.v1) });
      try {
        assert.deepEqual(store.migration, { from: 1, to: migrations.length, applied: [2, 3, 4, 5, 6, 7] });
        await checkStateNameUpgrade(store);
        await checkVersionUpgrade(store);
      } finally {
        await store.close();
      }
    });

    it("keeps working after the upgrade: loads, and the next step writes the machine's name", async () => {
      const schema = await restoredFixture(FIXTURES.v1);
      const store = await openStore({ schema });
      try {
        await checkWritesAfterStateNameUpgrade(store);
      } finally {
        await store.close();
      }
      await reopensAsIs(schema);
    });
  });

  describe("PostgresStore: a schema written by schema version 2", () => {
    it("upgrades in place: every row kept and counted at state and event version 1, new versions written", async () => {
      const schema = await restoredFixture(FIXTURES.v2);
      const store = await openStore({ schema });
      try {
        assert.deepEqual(store.migration, { from: 2, to: migrations.length, applied: [3, 4, 5, 6, 7] });
        await checkStateNameUpgrade(store);
        await checkVersionUpgrade(store);
      } finally {
        await store.close();
      }
      await reopensAsIs(schema);
    });
  });

  describe("PostgresStore: a schema written by schema version 3", () => {
    it("upgrades in place (drover_commit_one added), every row kept, and commits lone and batched steps after", async () => {
      const schema = await restoredFixture(FIXTURES.v3);
      const store = await openStore({ schema });
      try {
        assert.deepEqual(store.migration, { from: 3, to: migrations.length, applied: [4, 5, 6, 7] });
        await checkStateNameUpgrade(store);
        await checkVersionUpgrade(store);
        // A lone step goes through drover_commit_one, a batch through drover_commit.
        const before = await store.getEntity({ machine: "tally", id: "c1" });
        const lone = { ...acceptedWrite("c1", "v4_lone", before?.version ?? 0, { n: 5 }, [{ type: "Noted", n: 5 }]) };
        assert.deepEqual(await store.commit([lone]), [{ kind: CommitOutcomeKind.Committed }]);
        assert.deepEqual(
          await store.commit([
            acceptedWrite("n1", "v4_batch_1", 0, { n: 1 }),
            acceptedWrite("n2", "v4_batch_2", 0, { n: 2 }),
          ]),
          [{ kind: CommitOutcomeKind.Committed }, { kind: CommitOutcomeKind.Committed }],
        );
        assert.equal((await store.getEntity({ machine: "tally", id: "c1" }))?.version, (before?.version ?? 0) + 1);
        assert.equal((await store.findInbox("v4_lone"))?.eventId, "v4_lone");
        // A repeated event id is still a duplicate, answered with the original result.
        const [again] = await store.commit([lone]);
        assert.equal(again?.kind, CommitOutcomeKind.Duplicate);
      } finally {
        await store.close();
      }
      await reopensAsIs(schema);
    });
  });

  describe("PostgresStore: a schema written by schema version 4", () => {
    it("upgrades in place: old outbox rows and timers have no trace, are claimed and settled, new steps keep theirs", async () => {
      const schema = await restoredFixture(FIXTURES.v4);
      const store = await openStore({ schema });
      try {
        assert.deepEqual(store.migration, { from: 4, to: migrations.length, applied: [5, 6, 7] });
        await checkStateNameUpgrade(store);
        await checkVersionUpgrade(store);
        // A lone step through the new drover_commit_one, a batch through the new drover_commit.
        await checkTraceContextUpgrade(store);
        const [again] = await store.commit([acceptedWrite("f1", "trace_1", 0, { n: 1 })]);
        assert.equal(again?.kind, CommitOutcomeKind.Duplicate);
      } finally {
        await store.close();
      }
      await reopensAsIs(schema);
    });

    it("keeps the commit functions of version 4: a process still running it commits on, without traces", async () => {
      const schema = await restoredFixture(FIXTURES.v4);
      const store = await openStore({ schema });
      try {
        const s = quoteIdent(schema);
        const overloads = await withAdmin((client) =>
          client.query<{ proname: string; n: number }>(
            `SELECT proname, count(*)::int AS n FROM pg_proc WHERE pronamespace = $1::regnamespace
              GROUP BY proname ORDER BY proname`,
            [s],
          ),
        );
        assert.deepEqual(
          overloads.rows.map((row) => [row.proname, row.n]),
          [
            ["drover_acquire_slot", 1],
            ["drover_commit", 3],
            ["drover_commit_one", 3],
            ["drover_load", 1],
            ["drover_take_token", 1],
          ],
        );
        // drover_commit_one as the code of schema version 4 calls it: no traceparent among its arguments.
        const at = Date.UTC(2026, 0, 1);
        const intents = [{ id: "tally/o1/1/0", intent: { type: "Noted", n: 1 } }];
        const result = {
          kind: "processed",
          machine: "tally",
          id: "o1",
          eventId: "old_1",
          version: 1,
          state: {},
          intents,
        };
        const written = await withAdmin((client) =>
          client.query<{ written: boolean }>(
            `SELECT ${s}.drover_commit_one($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint,
               $7::json, $8::int, $9::json, $10::text, $11::int, $12::json, $13::json, $14::text[], $15::json[],
               $16::text[], $17::json[], $18::int[], $19::bigint[], 0, 'old', 'old') AS written`,
            [
              ...["tally", "o1", "old_1", "fp:old_1", at, 0, '{"type":"Add","n":1}', 1, "{}", null, 1],
              JSON.stringify(intents),
              JSON.stringify(result),
              ["tally/o1/1/0"],
              ['{"type":"Noted","n":1}'],
              ["tally/o1/1/1"],
              ['{"type":"Close"}'],
              [1],
              [at + 60_000],
            ],
          ),
        );
        assert.equal(written.rows[0]?.written, true);
        assert.deepEqual(
          [(await store.findOutbox("tally/o1/1/0"))?.traceParent, (await store.findInbox("old_1"))?.result],
          [null, result],
        );
        assert.deepEqual(
          (await store.listTimers()).map((timer) => [timer.timerId, timer.traceParent]),
          [
            ["tally/b1/1/0", null],
            ["tally/o1/1/1", null],
          ],
        );
      } finally {
        await store.close();
      }
    });
  });

  describe("PostgresStore: a schema written by schema version 5", () => {
    const LATER = Date.UTC(2027, 0, 1);
    const claim = { owner: "o", now: LATER, leaseMs: 60_000, limit: 10 };

    it("upgrades in place: its pending timer has no key, dies, is retried and fires; keys, cancels and intent controls work", async () => {
      const schema = await restoredFixture(FIXTURES.v5);
      const store = await openStore({ schema });
      try {
        assert.deepEqual(store.migration, { from: 5, to: migrations.length, applied: [6, 7] });
        await checkStateNameUpgrade(store);
        await checkVersionUpgrade(store);
        const old = "tally/b1/1/0";
        assert.deepEqual(
          [(await store.findTimer(old))?.key, (await store.findTimer(old))?.status],
          [null, TimerStatus.Pending],
        );
        assert.deepEqual(await store.timerStats(), { pending: 1, fired: 0, cancelled: 0, dead: 0 });
        assert.deepEqual(
          (await store.listTimers({ status: TimerStatus.Pending, entity: { machine: "tally", id: "b1" } })).map(
            (timer) => timer.timerId,
          ),
          [old],
        );
        // The old timer is claimed, dies, is retried and fires.
        assert.deepEqual(
          (await store.claimTimers(claim)).map((timer) => [timer.timerId, timer.key]),
          [[old, null]],
        );
        assert.equal(await store.failTimer(old, "o", { now: LATER, retryAt: null, error: "boom" }), true);
        assert.deepEqual(
          [(await store.findTimer(old))?.status, (await store.findTimer(old))?.lastError],
          [TimerStatus.Dead, "boom"],
        );
        assert.deepEqual(await store.claimTimers(claim), []);
        assert.equal(await store.retryDeadTimer(old, LATER), true);
        assert.deepEqual(
          (await store.claimTimers({ ...claim, owner: "p" })).map((timer) => [timer.timerId, timer.attempts]),
          [[old, 1]],
        );
        assert.equal(await store.completeTimer(old, "p", LATER), true);

        // A keyed timer (a lone step: the new drover_commit_one), replaced by the next step's,
        // which also cancels an unkeyed one by id (a batch: the new drover_commit).
        const first = acceptedWrite("b1", "k_1", 1, { state: "idle", n: 4 }, [], [{ type: "Remind" }]);
        const keyed = (write: typeof first, key: string) => ({
          ...write,
          timers: write.timers.map((timer) => ({ ...timer, key })),
        });
        assert.deepEqual(await store.commit([keyed(first, "reminder")]), [{ kind: CommitOutcomeKind.Committed }]);
        const second = acceptedWrite(
          "b1",
          "k_2",
          2,
          { state: "idle", n: 5 },
          [],
          [{ type: "Remind" }, { type: "Tick" }],
        );
        const other = acceptedWrite("c1", "k_3", 2, { n: 6 }, [], [{ type: "Tick" }]);
        assert.deepEqual(
          await store.commit([
            { ...second, timers: second.timers.map((timer, i) => (i === 0 ? { ...timer, key: "reminder" } : timer)) },
            other,
          ]),
          [{ kind: CommitOutcomeKind.Committed }, { kind: CommitOutcomeKind.Committed }],
        );
        const third = { ...acceptedWrite("b1", "k_4", 3, { state: "idle", n: 7 }), cancelTimers: ["tally/b1/3/1"] };
        assert.deepEqual(await store.commit([third, acceptedWrite("n1", "k_5", 0, { n: 8 })]), [
          { kind: CommitOutcomeKind.Committed },
          { kind: CommitOutcomeKind.Committed },
        ]);
        assert.deepEqual(
          (await store.listTimers({ entity: { machine: "tally", id: "b1" } })).map((timer) => [
            timer.timerId,
            timer.key,
            timer.status,
          ]),
          [
            [old, null, TimerStatus.Fired],
            ["tally/b1/2/0", "reminder", TimerStatus.Cancelled],
            ["tally/b1/3/0", "reminder", TimerStatus.Pending],
            ["tally/b1/3/1", null, TimerStatus.Cancelled],
          ],
        );
        assert.equal((await store.findTimer("tally/c1/3/0"))?.status, TimerStatus.Pending);

        // The old outbox row's type paused: not claimed, attempts kept; resumed: claimed.
        assert.equal(await store.pauseIntentType("Ping", LATER), true);
        assert.deepEqual(await store.listPausedIntentTypes(), [{ intentType: "Ping", pausedAt: LATER }]);
        assert.deepEqual(await store.claimOutbox(claim), []);
        assert.equal((await store.findOutbox("tally/a1/1/0"))?.attempts, 0);
        assert.equal(await store.resumeIntentType("Ping"), true);
        assert.deepEqual(
          (await store.claimOutbox(claim)).map((row) => row.intentId),
          ["tally/a1/1/0"],
        );
        const slot = { key: "k", limit: 1, owner: "o", now: LATER, leaseMs: 1000 };
        assert.deepEqual(
          [await store.acquireSlot({ ...slot, holder: "h1" }), await store.acquireSlot({ ...slot, holder: "h2" })],
          [true, false],
        );
        const token = { key: "t", perSecond: 1, now: LATER };
        assert.deepEqual([await store.takeToken(token), await store.takeToken(token)], [0, 1000]);
      } finally {
        await store.close();
      }
      await reopensAsIs(schema);
    });

    it("keeps the commit functions of version 5: a process still running it commits on, its timers without a key", async () => {
      const schema = await restoredFixture(FIXTURES.v5);
      const store = await openStore({ schema });
      try {
        const s = quoteIdent(schema);
        const at = Date.UTC(2026, 0, 1);
        const result = {
          kind: "processed",
          machine: "tally",
          id: "o1",
          eventId: "old_1",
          version: 1,
          state: {},
          intents: [],
        };
        // drover_commit_one as the code of schema version 5 calls it: a traceparent, no timer keys nor cancels.
        const written = await withAdmin((client) =>
          client.query<{ written: boolean }>(
            `SELECT ${s}.drover_commit_one($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint,
               $7::json, $8::int, $9::json, $10::text, $11::int, $12::json, $13::json, $14::text, $15::text[],
               $16::json[], $17::text[], $18::json[], $19::int[], $20::bigint[], 0, 'old', 'old') AS written`,
            [
              ...["tally", "o1", "old_1", "fp:old_1", at, 0, '{"type":"Add","n":1}', 1, "{}", null, 1],
              "[]",
              JSON.stringify(result),
              null,
              [],
              [],
              ["tally/o1/1/0"],
              ['{"type":"Close"}'],
              [1],
              [at + 60_000],
            ],
          ),
        );
        assert.equal(written.rows[0]?.written, true);
        const timer = await store.findTimer("tally/o1/1/0");
        assert.deepEqual([timer?.key, timer?.status], [null, TimerStatus.Pending]);
      } finally {
        await store.close();
      }
    });
  });

  describe("PostgresStore: a schema written by schema version 6", () => {
    it("upgrades in place: every row kept, no token yet; tokens are added, revoked and seen by a second store", async () => {
      const schema = await restoredFixture(FIXTURES.v6);
      const store = await openStore({ schema });
      const peer = await openStore({ schema, poolSize: 2 });
      try {
        assert.deepEqual(store.migration, { from: 6, to: migrations.length, applied: [7] });
        assert.deepEqual(peer.migration, { from: 7, to: 7, applied: [] });
        await checkStateNameUpgrade(store);
        await checkVersionUpgrade(store);
        assert.deepEqual(await store.tokenVault.loadTokens(), { version: 0, tokens: [] });
        const token = storedToken(1, { scopes: ["read", "write"] });
        assert.equal(await store.tokenVault.addToken(token, { ifNone: true }), true);
        assert.deepEqual(await peer.tokenVault.loadTokens(), { version: 1, tokens: [token] });
        assert.equal(await peer.tokenVault.revokeToken(token.id, Date.UTC(2027, 0, 1)), true);
        assert.deepEqual(await store.tokenVault.loadTokens(), { version: 2, tokens: [] });
        // The step path is untouched: the fixture's entities take their next steps.
        assert.deepEqual(await store.commit([acceptedWrite("n1", "k_1", 0, { n: 8 })]), [
          { kind: CommitOutcomeKind.Committed },
        ]);
      } finally {
        await peer.close();
        await store.close();
      }
      await reopensAsIs(schema);
    });
  });
}
