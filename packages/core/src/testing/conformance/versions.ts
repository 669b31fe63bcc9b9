import assert from "node:assert/strict";
import type { AcceptedWrite, StateRewrite } from "../../ports.js";
import { acceptedWrite, queueWrite } from "../step-writes.js";
import type { Suite } from "./suite.js";
import { commitAll, commitOk, ref, T0 } from "./suite.js";

/** A step written by code at state version `stateVersion` and event version `eventVersion`. */
function writtenAt(write: AcceptedWrite, stateVersion: number, eventVersion: number): AcceptedWrite {
  return {
    ...write,
    stateVersion,
    eventVersion,
    timers: write.timers.map((timer) => ({ ...timer, eventVersion })),
  };
}

function rewrite(id: string, version: number, stateVersion: number, state = { n: 1, v: stateVersion }): StateRewrite {
  return { ref: ref(id), version, state, stateName: `v${stateVersion}`, stateVersion };
}

/**
 * Schema versions: every entity, journal row and timer keeps the version of the schema it was
 * written at; states can be counted by version and rewritten at a newer one; an attempt that
 * only waited can be given back.
 */
export function versionsSpec(suite: Suite): void {
  const { describe, it, withStore } = suite;
  describe("schema versions", () => {
    it(
      "keeps the state version of each entity and journal row, and the event version of each journal row and timer",
      withStore(async (store) => {
        await commitOk(store, writtenAt(acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [], [{ type: "Close" }]), 2, 3));
        await commitOk(store, writtenAt(acceptedWrite("t_a", "evt_2", 1, { n: 2 }), 4, 5));
        assert.equal((await store.getEntity(ref("t_a")))?.stateVersion, 4);
        assert.equal((await store.load(ref("t_a"), "evt_x")).entity?.stateVersion, 4);
        assert.deepEqual(
          (await store.history(ref("t_a"))).map((entry) => [entry.stateVersion, entry.eventVersion]),
          [
            [2, 3],
            [4, 5],
          ],
        );
        assert.deepEqual(
          (await store.listTimers()).map((timer) => timer.eventVersion),
          [3],
        );
        const [claimed] = await store.claimTimers({ owner: "w1", now: T0 + 60_000, leaseMs: 1000, limit: 1 });
        assert.equal(claimed?.eventVersion, 3);
        assert.equal((await store.listEntities("tally", { limit: 10 }))[0]?.stateVersion, 4);
      }),
    );

    it(
      "counts a machine's entities by state version, lowest first",
      withStore(async (store) => {
        await commitAll(store, [
          writtenAt(acceptedWrite("t_a", "evt_1", 0, { n: 1 }), 3, 1),
          writtenAt(acceptedWrite("t_b", "evt_2", 0, { n: 1 }), 1, 1),
          writtenAt(acceptedWrite("t_c", "evt_3", 0, { n: 1 }), 3, 1),
        ]);
        assert.deepEqual(await store.countStateVersions("tally"), [
          { stateVersion: 1, count: 1 },
          { stateVersion: 3, count: 2 },
        ]);
        assert.deepEqual(await store.countStateVersions("nothing"), []);
      }),
    );

    it(
      "rewrites a state at a newer version only while the entity is at the given version and an older state version",
      withStore(async (store) => {
        await commitAll(store, [
          acceptedWrite("t_a", "evt_1", 0, { n: 1 }),
          acceptedWrite("t_b", "evt_2", 0, { n: 1 }),
          writtenAt(acceptedWrite("t_c", "evt_3", 0, { n: 1 }), 3, 1),
        ]);
        const before = await store.getEntity(ref("t_a"));
        const applied = await store.rewriteStates([
          rewrite("t_a", 1, 2),
          rewrite("t_b", 2, 2), // the entity is at version 1: it moved on
          rewrite("t_c", 1, 2), // already at state version 3
          rewrite("t_none", 1, 2),
        ]);
        assert.deepEqual(applied, [true, false, false, false]);
        assert.deepEqual(await store.getEntity(ref("t_a")), {
          ...before,
          state: { n: 1, v: 2 },
          stateName: "v2",
          stateVersion: 2,
        });
        assert.equal((await store.getEntity(ref("t_b")))?.stateVersion, 1);
        assert.equal((await store.getEntity(ref("t_c")))?.stateVersion, 3);
        // The journal and the entity version are not touched: a rewrite is no step.
        assert.deepEqual(
          (await store.history(ref("t_a"))).map((entry) => entry.stateVersion),
          [1],
        );
        assert.deepEqual(await store.countEntities("tally"), [
          { stateName: "v2", count: 1 },
          { stateName: null, count: 2 },
        ]);
        assert.deepEqual(await store.rewriteStates([]), []);
        if (suite.options.reopen !== undefined) {
          const reopened = await suite.options.reopen(store);
          try {
            assert.equal((await reopened.getEntity(ref("t_a")))?.stateVersion, 2);
          } finally {
            await reopened.close();
          }
        }
      }),
    );

    it(
      "gives back an attempt that only waited, so that waiting never uses up a row's attempts",
      withStore(async (store) => {
        await commitOk(store, queueWrite("t_a", 1, 0, 1, T0 + 10));
        const claim = { owner: "w1", now: T0 + 10, leaseMs: 1000, limit: 1 };
        const [row] = await store.claimOutbox(claim);
        assert.equal(row?.attempts, 1);
        const waited = { error: "waits", now: T0 + 10, retryAt: T0 + 20, counts: false };
        assert.equal(await store.failOutbox("tally/t_a/1/0", "w1", waited), true);
        const after = await store.findOutbox("tally/t_a/1/0");
        assert.equal(after?.attempts, 0);
        assert.equal(after?.lastError, "waits");
        assert.equal(after?.nextAttemptAt, T0 + 20);

        const [timer] = await store.claimTimers(claim);
        assert.equal(timer?.attempts, 1);
        assert.equal(await store.failTimer(timer?.timerId ?? "", "w1", waited), true);
        assert.equal((await store.listTimers())[0]?.attempts, 0);
        // A counted failure still counts.
        await store.claimTimers({ ...claim, now: T0 + 20 });
        await store.failTimer(timer?.timerId ?? "", "w1", { error: "failed", now: T0 + 20, retryAt: T0 + 30 });
        assert.equal((await store.listTimers())[0]?.attempts, 1);
      }),
    );
  });
}
