import assert from "node:assert/strict";
import type { Store, TimerRecord } from "../../ports.js";
import { CommitOutcomeKind, TimerStatus } from "../../ports.js";
import { timerWrite } from "../step-writes.js";
import type { Suite } from "./suite.js";
import { commitOk, ref, T0 } from "./suite.js";

/** Each timer of the store as `[timer id, key, status]`, in listing order. */
async function timersOf(store: Store): Promise<[string, string | null, string][]> {
  return (await store.listTimers()).map((timer) => [timer.timerId, timer.key, timer.status]);
}

/** Claim every timer due by a day after the epoch: what a scheduler would fire. */
async function claimAll(store: Store): Promise<string[]> {
  const claimed = await store.claimTimers({ owner: "s", now: T0 + 86_400_000, leaseMs: 1000, limit: 100 });
  return claimed.map((timer) => timer.timerId);
}

/**
 * Timer keys: a machine names a timer to cancel it later (`cancelTimers`, by key or timer id)
 * or to replace it (a new timer with the key of a pending one). Only the step's own entity's
 * pending timers are touched, inside the step's transaction; cancelled timers are never
 * claimed. And the timer reads: listing by status and entity, finding one, counting by status.
 */
export function timerKeysSpec(suite: Suite): void {
  const { describe, it, withStore } = suite;
  describe("timer keys and cancels", () => {
    it(
      "keeps each timer's key, null when the step gave none",
      withStore(async (store) => {
        await commitOk(
          store,
          timerWrite("t_a", 1, 0, [
            { timerId: "k1", dueAt: T0 + 100, key: "remind" },
            { timerId: "k2", dueAt: T0 + 200, key: null },
            { timerId: "k3", dueAt: T0 + 300 },
          ]),
        );
        assert.deepEqual(await timersOf(store), [
          ["k1", "remind", TimerStatus.Pending],
          ["k2", null, TimerStatus.Pending],
          ["k3", null, TimerStatus.Pending],
        ]);
        const [claimed] = await store.claimTimers({ owner: "s", now: T0 + 100, leaseMs: 1000, limit: 1 });
        assert.deepEqual([claimed?.timerId, claimed?.key], ["k1", "remind"]);
      }),
    );

    it(
      "cancels pending timers of the entity by key and by timer id; cancelled ones are never claimed",
      withStore(async (store) => {
        await commitOk(
          store,
          timerWrite("t_a", 1, 0, [
            { timerId: "k1", dueAt: T0 + 100, key: "remind" },
            { timerId: "k2", dueAt: T0 + 200 },
            { timerId: "k3", dueAt: T0 + 300, key: "expire" },
          ]),
        );
        // Unknown names are left alone: nothing to cancel is no failure.
        await commitOk(store, timerWrite("t_a", 2, 1, [], ["remind", "k2", "no-such-key", "no-such-timer"]));
        assert.deepEqual(await timersOf(store), [
          ["k1", "remind", TimerStatus.Cancelled],
          ["k2", null, TimerStatus.Cancelled],
          ["k3", "expire", TimerStatus.Pending],
        ]);
        const cancelled = await store.findTimer("k1");
        assert.deepEqual(
          [cancelled?.status, cancelled?.attempts, cancelled?.leaseOwner, cancelled?.leaseUntil],
          [TimerStatus.Cancelled, 0, null, null],
        );
        assert.deepEqual(await claimAll(store), ["k3"]);
        assert.deepEqual(await claimAll(store), []);
      }),
    );

    it(
      "replaces the entity's pending timer of a key with a new timer of that key, in a later step",
      withStore(async (store) => {
        await commitOk(
          store,
          timerWrite("t_a", 1, 0, [
            { timerId: "old", dueAt: T0 + 100, key: "remind" },
            { timerId: "other", dueAt: T0 + 100, key: "expire" },
          ]),
        );
        await commitOk(store, timerWrite("t_a", 2, 1, [{ timerId: "new", dueAt: T0 + 500, key: "remind" }]));
        assert.deepEqual(await timersOf(store), [
          ["old", "remind", TimerStatus.Cancelled],
          ["other", "expire", TimerStatus.Pending],
          ["new", "remind", TimerStatus.Pending],
        ]);
        // Replacement is by key only: a key equal to another timer's id replaces nothing.
        await commitOk(store, timerWrite("t_a", 3, 2, [{ timerId: "third", dueAt: T0 + 600, key: "other" }]));
        assert.equal((await store.findTimer("other"))?.status, TimerStatus.Pending);
        assert.deepEqual(await claimAll(store), ["other", "new", "third"]);
      }),
    );

    it(
      "applies a step's cancels before its new timers: cancelling a key and setting it again keeps the new one",
      withStore(async (store) => {
        await commitOk(store, timerWrite("t_a", 1, 0, [{ timerId: "first", dueAt: T0 + 100, key: "remind" }]));
        await commitOk(
          store,
          timerWrite("t_a", 2, 1, [{ timerId: "second", dueAt: T0 + 200, key: "remind" }], ["remind"]),
        );
        assert.deepEqual(await timersOf(store), [
          ["first", "remind", TimerStatus.Cancelled],
          ["second", "remind", TimerStatus.Pending],
        ]);
        // Two timers of one key in one step: the later one wins.
        await commitOk(
          store,
          timerWrite("t_a", 3, 2, [
            { timerId: "third", dueAt: T0 + 300, key: "remind" },
            { timerId: "fourth", dueAt: T0 + 400, key: "remind" },
          ]),
        );
        assert.deepEqual(
          (await store.listTimers({ status: TimerStatus.Pending })).map((timer) => timer.timerId),
          ["fourth"],
        );
      }),
    );

    it(
      "leaves fired timers alone: cancelling or replacing one is a no-op",
      withStore(async (store) => {
        await commitOk(store, timerWrite("t_a", 1, 0, [{ timerId: "k1", dueAt: T0 + 100, key: "remind" }]));
        assert.deepEqual(await claimAll(store), ["k1"]);
        assert.equal(await store.completeTimer("k1", "s", T0 + 200), true);
        await commitOk(store, timerWrite("t_a", 2, 1, [], ["remind", "k1"]));
        assert.equal((await store.findTimer("k1"))?.status, TimerStatus.Fired);
        await commitOk(store, timerWrite("t_a", 3, 2, [{ timerId: "k2", dueAt: T0 + 300, key: "remind" }]));
        assert.deepEqual(await timersOf(store), [
          ["k1", "remind", TimerStatus.Fired],
          ["k2", "remind", TimerStatus.Pending],
        ]);
      }),
    );

    it(
      "cancels a pending timer that is leased: its owner can then no longer settle it",
      withStore(async (store) => {
        await commitOk(store, timerWrite("t_a", 1, 0, [{ timerId: "k1", dueAt: T0 + 100, key: "remind" }]));
        assert.deepEqual(await claimAll(store), ["k1"]);
        await commitOk(store, timerWrite("t_a", 2, 1, [], ["remind"]));
        const timer = await store.findTimer("k1");
        assert.deepEqual([timer?.status, timer?.leaseOwner, timer?.leaseUntil], [TimerStatus.Cancelled, null, null]);
        assert.equal(await store.completeTimer("k1", "s", T0 + 200), false);
        assert.equal(await store.failTimer("k1", "s", { error: "x", now: T0 + 200, retryAt: null }), false);
        assert.equal((await store.findTimer("k1"))?.status, TimerStatus.Cancelled);
      }),
    );

    it(
      "touches only the step's own entity, by key or by timer id",
      withStore(async (store) => {
        await commitOk(store, timerWrite("t_a", 1, 0, [{ timerId: "a1", dueAt: T0 + 100, key: "remind" }]));
        await commitOk(store, timerWrite("t_b", 2, 0, [{ timerId: "b1", dueAt: T0 + 100, key: "remind" }]));
        await commitOk(store, timerWrite("t_b", 3, 1, [{ timerId: "b2", dueAt: T0 + 100, key: "expire" }]));
        await commitOk(store, timerWrite("t_a", 4, 1, [{ timerId: "a2", dueAt: T0 + 200, key: "remind" }], ["b2"]));
        assert.deepEqual(await timersOf(store), [
          ["a1", "remind", TimerStatus.Cancelled],
          ["b1", "remind", TimerStatus.Pending],
          ["b2", "expire", TimerStatus.Pending],
          ["a2", "remind", TimerStatus.Pending],
        ]);
      }),
    );

    it(
      "cancels nothing when the step does not commit: a conflict, or a step that fails",
      withStore(async (store) => {
        await commitOk(store, timerWrite("t_a", 1, 0, [{ timerId: "k1", dueAt: T0 + 100, key: "remind" }]));
        const stale = await store.commit([timerWrite("t_a", 2, 0, [], ["remind"])]);
        assert.deepEqual(stale, [{ kind: CommitOutcomeKind.Conflict, currentVersion: 1 }]);
        // A new timer whose id is taken breaks the step after its cancel: all or nothing.
        const [failed] = await store.commit([
          timerWrite("t_a", 3, 1, [{ timerId: "k1", dueAt: T0 + 300, key: "remind" }], ["remind"]),
        ]);
        assert.equal(failed?.kind, CommitOutcomeKind.Failed);
        assert.equal((await store.getEntity(ref("t_a")))?.version, 1);
        assert.deepEqual(await timersOf(store), [["k1", "remind", TimerStatus.Pending]]);
        assert.deepEqual(await claimAll(store), ["k1"]);
      }),
    );
  });

  describe("timer reads", () => {
    it(
      "lists timers soonest due first, ties by timer id, filtered by status and entity, up to a limit",
      withStore(async (store) => {
        await commitOk(
          store,
          timerWrite("t_a", 1, 0, [
            { timerId: "a_z", dueAt: T0 + 300 },
            { timerId: "a_x", dueAt: T0 + 100, key: "gone" },
            { timerId: "a_y", dueAt: T0 + 300 },
          ]),
        );
        await commitOk(
          store,
          timerWrite("t_b", 2, 0, [
            { timerId: "b_2", dueAt: T0 + 200 },
            { timerId: "b_1", dueAt: T0 + 300 },
          ]),
        );
        await commitOk(store, timerWrite("t_a", 3, 1, [], ["gone"]));
        const ids = (timers: readonly TimerRecord[]) => timers.map((timer) => timer.timerId);
        assert.deepEqual(ids(await store.listTimers()), ["a_x", "b_2", "a_y", "a_z", "b_1"]);
        assert.deepEqual(ids(await store.listTimers({})), ["a_x", "b_2", "a_y", "a_z", "b_1"]);
        assert.deepEqual(ids(await store.listTimers({ limit: 2 })), ["a_x", "b_2"]);
        assert.deepEqual(ids(await store.listTimers({ status: TimerStatus.Pending })), ["b_2", "a_y", "a_z", "b_1"]);
        assert.deepEqual(ids(await store.listTimers({ status: TimerStatus.Cancelled })), ["a_x"]);
        assert.deepEqual(ids(await store.listTimers({ status: TimerStatus.Fired })), []);
        assert.deepEqual(ids(await store.listTimers({ entity: ref("t_a") })), ["a_x", "a_y", "a_z"]);
        assert.deepEqual(ids(await store.listTimers({ entity: { machine: "other", id: "t_a" } })), []);
        assert.deepEqual(ids(await store.listTimers({ entity: ref("t_a"), status: TimerStatus.Pending, limit: 1 })), [
          "a_y",
        ]);
        assert.deepEqual(ids(await store.listTimers({ entity: ref("t_b"), status: TimerStatus.Pending })), [
          "b_2",
          "b_1",
        ]);
      }),
    );

    it(
      "finds a timer by id, and nothing for an unknown id",
      withStore(async (store) => {
        await commitOk(store, timerWrite("t_a", 1, 0, [{ timerId: "k1", dueAt: T0 + 100, key: "remind" }]));
        assert.deepEqual(await store.findTimer("k1"), {
          timerId: "k1",
          machine: "tally",
          entityId: "t_a",
          key: "remind",
          event: { type: "Tick" },
          eventVersion: 1,
          dueAt: T0 + 100,
          status: TimerStatus.Pending,
          attempts: 0,
          nextAttemptAt: T0 + 100,
          leaseOwner: null,
          leaseUntil: null,
          lastError: null,
          traceParent: null,
        });
        assert.equal(await store.findTimer("k2"), undefined);
      }),
    );

    it(
      "counts timers by status, every status present",
      withStore(async (store) => {
        assert.deepEqual(await store.timerStats(), { pending: 0, fired: 0, cancelled: 0, dead: 0 });
        await commitOk(
          store,
          timerWrite("t_a", 1, 0, [
            { timerId: "k1", dueAt: T0 + 100 },
            { timerId: "k2", dueAt: T0 + 200 },
            { timerId: "k3", dueAt: T0 + 300, key: "remind" },
            { timerId: "k4", dueAt: T0 + 400 },
            { timerId: "k5", dueAt: T0 + 500 },
          ]),
        );
        await commitOk(store, timerWrite("t_a", 2, 1, [], ["remind"]));
        const [first, second] = await store.claimTimers({ owner: "s", now: T0 + 200, leaseMs: 1000, limit: 2 });
        assert.equal(await store.completeTimer(first?.timerId ?? "", "s", T0 + 200), true);
        assert.equal(
          await store.failTimer(second?.timerId ?? "", "s", { error: "gave up", now: T0 + 200, retryAt: null }),
          true,
        );
        assert.deepEqual(await store.timerStats(), { pending: 2, fired: 1, cancelled: 1, dead: 1 });
      }),
    );
  });
}
