import assert from "node:assert/strict";
import { StoreUnavailableError } from "../../errors.js";
import type { AcceptedWrite } from "../../ports.js";
import { CommitOutcomeKind, OutboxStatus, TimerStatus } from "../../ports.js";
import { RunResultKind } from "../../result.js";
import { acceptedWrite, rejectionWrite } from "../step-writes.js";
import type { Suite } from "./suite.js";
import { commitOk, ref, snapshot, T0 } from "./suite.js";

/** The unit of work: load, create, the version check, the inbox and several steps in one commit. */
export function unitOfWorkSpec(suite: Suite): void {
  const { describe, it, withStore, options } = suite;
  describe("load and create", () => {
    it(
      "loads nothing for an unknown entity and an unseen event id",
      withStore(async (store) => {
        const loaded = await store.load(ref("t_nobody"), "evt_unseen");
        assert.equal(loaded.entity, undefined);
        assert.equal(loaded.inbox, undefined);
        assert.equal(await store.getEntity(ref("t_nobody")), undefined);
        assert.deepEqual(await store.history(ref("t_nobody")), []);
      }),
    );

    it(
      "creates an entity at version 1 with its journal, inbox, outbox and timer rows",
      withStore(async (store) => {
        const step = acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }], [{ type: "Close" }]);
        assert.deepEqual(await store.commit([step]), [{ kind: CommitOutcomeKind.Committed }]);

        const loaded = await store.load(ref("t_a"), "evt_1");
        assert.deepEqual(loaded.entity, {
          machine: "tally",
          id: "t_a",
          version: 1,
          state: { n: 1 },
          stateName: null,
          stateVersion: 1,
          createdAt: T0 + 1,
          updatedAt: T0 + 1,
        });
        assert.deepEqual(loaded.inbox, {
          eventId: "evt_1",
          machine: "tally",
          id: "t_a",
          fingerprint: "fp:evt_1",
          result: step.result,
          at: T0 + 1,
        });
        assert.deepEqual(await store.history(ref("t_a")), [
          {
            machine: "tally",
            id: "t_a",
            version: 1,
            eventId: "evt_1",
            event: step.event,
            eventVersion: 1,
            state: { n: 1 },
            stateVersion: 1,
            intents: step.intents,
            at: T0 + 1,
          },
        ]);
        assert.deepEqual(await store.listOutbox(), [
          {
            intentId: "tally/t_a/1/0",
            machine: "tally",
            entityId: "t_a",
            intent: { type: "Noted", n: 1 },
            status: OutboxStatus.Pending,
            attempts: 0,
            nextAttemptAt: T0 + 1,
            leaseOwner: null,
            leaseUntil: null,
            lastError: null,
            createdAt: T0 + 1,
            traceParent: null,
          },
        ]);
        assert.deepEqual(await store.listTimers(), [
          {
            timerId: "tally/t_a/1/1",
            machine: "tally",
            entityId: "t_a",
            key: null,
            event: { type: "Close" },
            eventVersion: 1,
            dueAt: T0 + 60_000,
            status: TimerStatus.Pending,
            attempts: 0,
            nextAttemptAt: T0 + 60_000,
            leaseOwner: null,
            leaseUntil: null,
            lastError: null,
            traceParent: null,
          },
        ]);
      }),
    );

    it(
      "updates at the expected version, keeps createdAt and moves updatedAt",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
        await commitOk(store, acceptedWrite("t_a", "evt_2", 1, { n: 2 }));
        const entity = await store.getEntity(ref("t_a"));
        assert.equal(entity?.version, 2);
        assert.deepEqual(entity?.state, { n: 2 });
        assert.equal(entity?.createdAt, T0 + 1);
        assert.equal(entity?.updatedAt, T0 + 2);
      }),
    );

    it(
      "round-trips JSON state faithfully (unicode, nesting, large safe integers, empty values)",
      withStore(async (store) => {
        const state = {
          text: 'héllo ✓ 😀 \u0000 quote" back\\slash',
          nested: { list: [1, [2, { deep: true }], null], empty: {}, none: [] },
          big: Number.MAX_SAFE_INTEGER,
          negative: -42,
        };
        await commitOk(store, acceptedWrite("t_json", "evt_j", 0, state));
        assert.deepEqual((await store.getEntity(ref("t_json")))?.state, state);
      }),
    );

    it(
      "loads an entity whose state is JSON null as an entity, like any other state",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_null", "evt_n", 0, null));
        const loaded = await store.load(ref("t_null"), "evt_other");
        assert.deepEqual([loaded.entity?.version, loaded.entity?.state], [1, null]);
        assert.equal((await store.getEntity(ref("t_null")))?.state, null);
      }),
    );

    it(
      "hands out copies: changing a returned value does not change the store",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1, list: [1] }));
        const first = await store.getEntity(ref("t_a"));
        (first?.state as { n: number }).n = 99;
        const history = await store.history(ref("t_a"));
        (history[0]?.state as { n: number }).n = 99;
        assert.deepEqual((await store.getEntity(ref("t_a")))?.state, { n: 1, list: [1] });
        assert.deepEqual((await store.history(ref("t_a")))[0]?.state, { n: 1, list: [1] });
      }),
    );
  });

  describe("life cycle", () => {
    it(
      "answers an empty commit with no outcomes",
      withStore(async (store) => {
        assert.deepEqual(await store.commit([]), []);
      }),
    );

    it("refuses work after close with StoreUnavailableError, and closes twice quietly", async () => {
      const store = await options.open();
      await store.close();
      await store.close();
      await assert.rejects(store.load(ref("t_a"), "evt_1"), StoreUnavailableError);
      await assert.rejects(store.commit([acceptedWrite("t_a", "evt_1", 0, {})]), StoreUnavailableError);
      await assert.rejects(store.getEntity(ref("t_a")), StoreUnavailableError);
    });
  });

  describe("version check", () => {
    it(
      "refuses a stale expected version with conflict and writes nothing",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
        await commitOk(store, acceptedWrite("t_a", "evt_2", 1, { n: 2 }));
        const before = await snapshot(store, "t_a");
        const outcomes = await store.commit([acceptedWrite("t_a", "evt_3", 1, { n: 3 }, [{ type: "Noted", n: 3 }])]);
        assert.deepEqual(outcomes, [{ kind: CommitOutcomeKind.Conflict, currentVersion: 2 }]);
        assert.deepEqual(await snapshot(store, "t_a"), before);
        assert.equal(await store.findInbox("evt_3"), undefined);
      }),
    );

    it(
      "refuses to create an entity that already exists",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
        const before = await snapshot(store, "t_a");
        const outcomes = await store.commit([acceptedWrite("t_a", "evt_2", 0, { n: 9 })]);
        assert.deepEqual(outcomes, [{ kind: CommitOutcomeKind.Conflict, currentVersion: 1 }]);
        assert.deepEqual(await snapshot(store, "t_a"), before);
      }),
    );

    it(
      "refuses an update of an entity that does not exist",
      withStore(async (store) => {
        const outcomes = await store.commit([acceptedWrite("t_ghost", "evt_1", 3, { n: 1 })]);
        assert.deepEqual(outcomes, [{ kind: CommitOutcomeKind.Conflict, currentVersion: 0 }]);
        assert.equal(await store.getEntity(ref("t_ghost")), undefined);
        assert.equal(await store.findInbox("evt_1"), undefined);
      }),
    );
  });

  describe("inbox", () => {
    it(
      "answers a known event id with duplicate and the original record, and writes nothing",
      withStore(async (store) => {
        const first = acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }]);
        await commitOk(store, first);
        const before = await snapshot(store, "t_a");
        // Same event id, decided again on the current version: still a duplicate.
        const outcomes = await store.commit([acceptedWrite("t_a", "evt_1", 1, { n: 2 }, [{ type: "Noted", n: 2 }])]);
        assert.equal(outcomes[0]?.kind, CommitOutcomeKind.Duplicate);
        assert.deepEqual(outcomes[0]?.kind === CommitOutcomeKind.Duplicate && outcomes[0].record.result, first.result);
        assert.deepEqual(await snapshot(store, "t_a"), before);
        assert.equal((await store.load(ref("t_a"), "evt_1")).inbox?.fingerprint, "fp:evt_1");
      }),
    );

    it(
      "records a rejection in the inbox only",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
        const before = await snapshot(store, "t_a");
        const refusal = rejectionWrite("t_a", "evt_2", 1, "closed");
        await commitOk(store, refusal);
        const after = await snapshot(store, "t_a");
        assert.deepEqual({ ...after, inbox: before.inbox }, before);
        assert.deepEqual((await store.findInbox("evt_2"))?.result, refusal.result);
      }),
    );

    it(
      "records a rejection only while the version it was decided on holds",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
        await commitOk(store, acceptedWrite("t_a", "evt_2", 1, { n: 2 }));
        const outcomes = await store.commit([rejectionWrite("t_a", "evt_3", 1, "closed")]);
        assert.deepEqual(outcomes, [{ kind: CommitOutcomeKind.Conflict, currentVersion: 2 }]);
        assert.equal(await store.findInbox("evt_3"), undefined);
      }),
    );

    it(
      "records a rejection of a creating event for an entity that does not exist",
      withStore(async (store) => {
        await commitOk(store, rejectionWrite("t_new", "evt_1", 0, "limit_exceeded"));
        assert.equal(await store.getEntity(ref("t_new")), undefined);
        assert.equal((await store.findInbox("evt_1"))?.result.kind, RunResultKind.Rejected);
      }),
    );
  });

  describe("one commit, several steps", () => {
    it(
      "applies several steps of one entity in order with consecutive versions",
      withStore(async (store) => {
        const outcomes = await store.commit([
          acceptedWrite("t_a", "evt_1", 0, { n: 1 }),
          acceptedWrite("t_a", "evt_2", 1, { n: 2 }),
          acceptedWrite("t_b", "evt_3", 0, { n: 3 }),
          acceptedWrite("t_a", "evt_4", 2, { n: 4 }),
        ]);
        assert.deepEqual(
          outcomes.map((o) => o.kind),
          ["committed", "committed", "committed", "committed"],
        );
        assert.deepEqual(
          (await store.history(ref("t_a"))).map((e) => [e.version, e.eventId]),
          [
            [1, "evt_1"],
            [2, "evt_2"],
            [3, "evt_4"],
          ],
        );
      }),
    );

    it(
      "fails a step whose save breaks a constraint as a whole, and commits its neighbours",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
        const before = await snapshot(store, "t_a");
        // Two intents with one id: the outbox insert of the second fails after the entity
        // update, journal and inbox rows of the step were written. All must roll back.
        const broken: AcceptedWrite = {
          ...acceptedWrite("t_a", "evt_2", 1, { n: 2 }, [{ type: "Noted", n: 2 }]),
          outbox: [
            { intentId: "tally/t_a/2/0", intent: { type: "Noted", n: 2 } },
            { intentId: "tally/t_a/2/0", intent: { type: "Noted", n: 2 } },
          ],
        };
        const outcomes = await store.commit([
          acceptedWrite("t_b", "evt_b1", 0, { n: 10 }, [{ type: "Noted", n: 10 }]),
          broken,
          acceptedWrite("t_c", "evt_c1", 0, { n: 20 }, [{ type: "Noted", n: 20 }]),
        ]);
        assert.deepEqual(
          outcomes.map((o) => o.kind),
          ["committed", "failed", "committed"],
        );
        const after = await snapshot(store, "t_a");
        assert.deepEqual(
          [after.entity, after.history, after.inbox, after.timers],
          [before.entity, before.history, before.inbox, before.timers],
        );
        assert.equal(await store.findInbox("evt_2"), undefined);
        assert.equal((await store.getEntity(ref("t_b")))?.version, 1);
        assert.equal((await store.getEntity(ref("t_c")))?.version, 1);
        assert.deepEqual(
          (await store.listOutbox()).map((row) => row.intentId),
          ["tally/t_b/1/0", "tally/t_c/1/0"],
        );
      }),
    );

    it(
      "fails a step that clashes with an existing outbox row and leaves no trace of it",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }]));
        const clash: AcceptedWrite = {
          ...acceptedWrite("t_z", "evt_z", 0, { n: 5 }),
          outbox: [{ intentId: "tally/t_a/1/0", intent: { type: "Noted", n: 5 } }],
        };
        const [outcome] = await store.commit([clash]);
        assert.equal(outcome?.kind, CommitOutcomeKind.Failed);
        assert.equal(await store.getEntity(ref("t_z")), undefined);
        assert.deepEqual(await store.history(ref("t_z")), []);
        assert.equal(await store.findInbox("evt_z"), undefined);
        assert.equal((await store.listOutbox()).length, 1);
      }),
    );
  });
}
