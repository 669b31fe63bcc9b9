import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AcceptedWrite, EntityRef, RunResult } from "@drover/core";
import { CommitOutcomeKind, RunResultKind, Runtime, StoreUnavailableError } from "@drover/core";
import { acceptedWrite, tallyMachine } from "@drover/core/testing";
import pg from "pg";
import { quoteIdent } from "./identifiers.js";
import { migrations } from "./migrations.js";
import type { PostgresStore } from "./postgres-store.js";
import {
  entityLockSql,
  freshSchema,
  openStore,
  postgresAvailable,
  TEST_URL,
  terminateConnections,
  waitFor,
  waitingOnLocks,
} from "./test-support/fixtures.js";

/** An admin connection kept open across steps of a test. */
async function adminSession(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: TEST_URL });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

/** Everything about an entity must agree: version, journal, inbox, outbox, state. */
async function assertConsistent(store: PostgresStore, ref: EntityRef): Promise<void> {
  const entity = await store.getEntity(ref);
  const history = await store.history(ref);
  assert.deepEqual(
    history.map((entry) => entry.version),
    history.map((_, i) => i + 1),
    `${ref.id}: contiguous versions`,
  );
  assert.equal(entity?.version ?? 0, history.length, `${ref.id}: version = journal length`);
  const rows = [
    ...(await store.listOutbox()).map((row) => row.intentId),
    ...(await store.listTimers()).map((t) => t.timerId),
  ];
  const written = new Set(rows);
  let total = 0;
  for (const entry of history) {
    const inbox = await store.findInbox(entry.eventId);
    assert.equal(inbox?.result.kind, RunResultKind.Processed, `${entry.eventId}: inbox row`);
    for (const record of entry.intents) assert.ok(written.has(record.id), `${record.id}: outbox row or timer`);
    const event = entry.event as { type: string; n?: number };
    if (event.type === "Add") total += event.n ?? 0;
  }
  if (entity !== undefined) assert.equal((entity.state as { total: number }).total, total, `${ref.id}: total`);
}

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore: lost connections", () => {
    it("rolls back a commit whose connection is killed, reports StoreUnavailableError, and recovers by itself", async () => {
      const schema = freshSchema();
      const store = await openStore({ schema, poolSize: 4 });
      const admin = await adminSession();
      try {
        await store.commit([acceptedWrite("t_a", "evt_1", 0, { n: 1 })]);
        // Hold the entity's lock: the next commit of t_a waits inside drover_commit.
        await admin.query(entityLockSql(schema, "tally", "t_a"));
        const stuck = store.commit([acceptedWrite("t_a", "evt_2", 1, { n: 2 }, [{ type: "Noted", n: 2 }])]).then(
          () => undefined,
          (error: unknown) => error,
        );
        await waitFor("the commit to wait for the lock", async () => (await waitingOnLocks(schema)) === 1);
        assert.ok((await terminateConnections(schema)) >= 1);
        const error = await stuck;
        assert.ok(error instanceof StoreUnavailableError, String(error));
        assert.match(
          error.message,
          /unavailable while committing: .*; an administrator or a restart ended the connection; retry/,
        );
        await admin.query("SELECT pg_advisory_unlock_all()");
        // Nothing of it was written, and the same store works on, without reopening.
        assert.equal(await store.findInbox("evt_2"), undefined);
        assert.deepEqual(await store.listOutbox(), []);
        assert.deepEqual(await store.commit([acceptedWrite("t_a", "evt_2", 1, { n: 2 }, [{ type: "Noted", n: 2 }])]), [
          { kind: CommitOutcomeKind.Committed },
        ]);
        assert.equal((await store.getEntity({ machine: "tally", id: "t_a" }))?.version, 2);
      } finally {
        await admin.end();
        await store.close();
      }
    });

    it("applies each step whole or not at all when every connection is killed mid-traffic", async (t) => {
      const schema = freshSchema();
      const store = await openStore({ schema, poolSize: 6 });
      const runtime = new Runtime({ store, machines: [tallyMachine], maxAttempts: 50 });
      const refs = Array.from({ length: 8 }, (_, i) => ({ machine: "tally", id: `t_${i}` }));
      try {
        for (const ref of refs) await runtime.run(ref, { type: "Open" }, { eventId: `open_${ref.id}` });
        const outcomes: { eventId: string; result: RunResult | undefined; error: unknown }[] = [];
        let sent = 0;
        let kills = 0;
        const callers = Array.from({ length: 32 }, async () => {
          while (sent < 600) {
            const eventId = `evt_${sent}`;
            const ref = refs[sent % refs.length] ?? { machine: "tally", id: "t_0" };
            sent++;
            if (sent % 150 === 0) {
              kills++;
              void terminateConnections(schema);
            }
            try {
              outcomes.push({
                eventId,
                result: await runtime.run(ref, { type: "Add", n: 1 }, { eventId }),
                error: undefined,
              });
            } catch (error) {
              outcomes.push({ eventId, result: undefined, error });
            }
          }
        });
        await Promise.all(callers);
        assert.equal(kills, 4);
        // Reads are tried again on a fresh connection; a commit in flight is not (it may have
        // committed) and fails with StoreUnavailableError.
        const failures = outcomes.filter((outcome) => outcome.error !== undefined);
        t.diagnostic(`${failures.length} of ${outcomes.length} calls failed with the connections killed 4 times`);
        for (const failure of failures)
          assert.ok(failure.error instanceof StoreUnavailableError, String(failure.error));
        assert.ok(
          outcomes
            .filter((outcome) => outcome.result !== undefined)
            .every((o) => o.result?.kind === RunResultKind.Processed),
        );
        for (const ref of refs) await assertConsistent(store, ref);
        // A failed call either went in whole (journal, inbox and its intent) or left no trace.
        const journal = new Set(
          (await Promise.all(refs.map((ref) => store.history(ref)))).flat().map((e) => e.eventId),
        );
        for (const failure of failures) {
          const inbox = await store.findInbox(failure.eventId);
          assert.equal(inbox !== undefined, journal.has(failure.eventId), failure.eventId);
        }
        // The next calls succeed on the same store.
        const after = await runtime.run(refs[0] ?? { machine: "tally", id: "t_0" }, { type: "Add", n: 1 });
        assert.equal(after.kind, RunResultKind.Processed);
        assert.equal((await store.info()).schemaVersion, migrations.length);
      } finally {
        await store.close();
      }
    });
  });

  describe("PostgresStore: racing processes", () => {
    it("answers duplicate, not failed, when another process commits the same event id in between", async () => {
      const schema = freshSchema();
      const a = await openStore({ schema });
      const b = await openStore({ schema });
      const admin = await adminSession();
      try {
        const s = quoteIdent(schema);
        // The admin's uncommitted outbox row makes a's commit wait after it wrote its inbox row.
        await admin.query("BEGIN");
        await admin.query(
          `INSERT INTO ${s}.outbox (intent_id, machine, entity_id, intent, status, attempts, next_attempt_at, created_at)
           VALUES ('tally/t_x/1/0', 'tally', 't_x', '{}', 'pending', 0, 0, 0)`,
        );
        const fromA: AcceptedWrite = acceptedWrite("t_x", "evt_same", 0, { n: 1 }, [{ type: "Noted", n: 1 }]);
        const first = a.commit([fromA]);
        await waitFor("a to wait", async () => (await waitingOnLocks(schema)) === 1);
        // b decides the same event for another entity: its inbox insert now waits for a.
        const second = b.commit([acceptedWrite("t_y", "evt_same", 0, { n: 9 }, [{ type: "Noted", n: 9 }])]);
        await waitFor("b to wait", async () => (await waitingOnLocks(schema)) === 2);
        await admin.query("ROLLBACK");
        assert.deepEqual(await first, [{ kind: CommitOutcomeKind.Committed }]);
        const [outcome] = await second;
        assert.equal(outcome?.kind, CommitOutcomeKind.Duplicate);
        assert.deepEqual(outcome?.kind === CommitOutcomeKind.Duplicate && outcome.record.result, fromA.result);
        // b wrote nothing.
        assert.equal(await b.getEntity({ machine: "tally", id: "t_y" }), undefined);
        assert.deepEqual(
          (await b.listOutbox()).map((row) => row.intentId),
          ["tally/t_x/1/0"],
        );
      } finally {
        await admin.end();
        await Promise.all([a.close(), b.close()]);
      }
    });

    it("queues batches over the same entities in opposite orders instead of deadlocking", async () => {
      const schema = freshSchema();
      const a = await openStore({ schema });
      const b = await openStore({ schema });
      try {
        const ids = Array.from({ length: 20 }, (_, i) => `t_${i}`);
        for (let v = 0; v < 10; v++) {
          const started = Date.now();
          const [fromA, fromB] = await Promise.all([
            a.commit(ids.map((id) => acceptedWrite(id, `evt_a${v}${id}`, v, { v }))),
            b.commit([...ids].reverse().map((id) => acceptedWrite(id, `evt_b${v}${id}`, v, { v }))),
          ]);
          // Per entity, exactly one of the two won; the loser saw a conflict at the new version.
          ids.forEach((_, i) => {
            const x = fromA?.[i];
            const y = fromB?.[ids.length - 1 - i];
            assert.deepEqual([x?.kind, y?.kind].sort(), [CommitOutcomeKind.Committed, CommitOutcomeKind.Conflict]);
            const conflict = x?.kind === CommitOutcomeKind.Conflict ? x : y;
            assert.equal(conflict?.kind === CommitOutcomeKind.Conflict && conflict.currentVersion, v + 1);
          });
          // The deadlock detector would have taken a second (deadlock_timeout).
          assert.ok(Date.now() - started < 900, "no deadlock");
        }
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}
