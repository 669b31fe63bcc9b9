import assert from "node:assert/strict";
import type { Store } from "../../ports.js";
import { TimerStatus } from "../../ports.js";
import { timerWrite } from "../step-writes.js";
import type { Suite } from "./suite.js";
import { commitOk, T0 } from "./suite.js";

/**
 * Dead timers: a firing given up on (`failTimer` with `retryAt: null`) leaves the timer dead,
 * never claimed, with its last error, until an operator revives it with `retryDeadTimer`.
 */
export function deadTimersSpec(suite: Suite): void {
  const { describe, it, withStore } = suite;
  const claim = (store: Store, owner: string, now: number) =>
    store.claimTimers({ owner, now, leaseMs: 1000, limit: 10 });

  describe("dead timers", () => {
    it(
      "kills a timer whose firing is given up on: lease freed, error and attempts kept, never claimed",
      withStore(async (store) => {
        await commitOk(
          store,
          timerWrite("t_a", 1, 0, [
            { timerId: "k1", dueAt: T0 + 100, key: "remind" },
            { timerId: "k2", dueAt: T0 + 100 },
          ]),
        );
        assert.deepEqual(
          (await claim(store, "s1", T0 + 100)).map((timer) => timer.timerId),
          ["k1", "k2"],
        );
        const giveUp = { error: "no such entity", now: T0 + 150, retryAt: null };
        assert.equal(await store.failTimer("k1", "s2", giveUp), false);
        assert.equal(await store.failTimer("k1", "s1", giveUp), true);
        assert.equal(await store.failTimer("k1", "s1", giveUp), false);
        const dead = await store.findTimer("k1");
        assert.deepEqual(
          [dead?.status, dead?.attempts, dead?.lastError, dead?.leaseOwner, dead?.leaseUntil, dead?.key],
          [TimerStatus.Dead, 1, "no such entity", null, null, "remind"],
        );
        assert.equal(await store.completeTimer("k1", "s1", T0 + 160), false);
        assert.equal(await store.completeTimer("k2", "s1", T0 + 160), true);
        assert.deepEqual(await claim(store, "s1", T0 + 86_400_000), []);
        assert.deepEqual(
          (await store.listTimers({ status: TimerStatus.Dead })).map((timer) => timer.timerId),
          ["k1"],
        );
        // A dead timer is no pending one: cancels and replacements leave it dead.
        await commitOk(store, timerWrite("t_a", 2, 1, [{ timerId: "k3", dueAt: T0 + 900, key: "remind" }], ["k1"]));
        assert.equal((await store.findTimer("k1"))?.status, TimerStatus.Dead);
        assert.equal((await store.findTimer("k3"))?.status, TimerStatus.Pending);
      }),
    );

    it(
      "revives a dead timer, due now with a fresh count of attempts; false for any timer that is not dead",
      withStore(async (store) => {
        await commitOk(
          store,
          timerWrite("t_a", 1, 0, [
            { timerId: "k1", dueAt: T0 + 100 },
            { timerId: "k2", dueAt: T0 + 100 },
            { timerId: "k3", dueAt: T0 + 5000 },
          ]),
        );
        await claim(store, "s1", T0 + 100);
        assert.equal(await store.failTimer("k1", "s1", { error: "busy", now: T0 + 110, retryAt: T0 + 200 }), true);
        await claim(store, "s1", T0 + 200);
        assert.equal(await store.failTimer("k1", "s1", { error: "gave up", now: T0 + 210, retryAt: null }), true);
        assert.equal(await store.completeTimer("k2", "s1", T0 + 210), true);
        assert.equal((await store.findTimer("k1"))?.attempts, 2);

        assert.equal(await store.retryDeadTimer("k2", T0 + 300), false, "fired");
        assert.equal(await store.retryDeadTimer("k3", T0 + 300), false, "pending");
        assert.equal(await store.retryDeadTimer("nope", T0 + 300), false, "unknown");
        assert.equal(await store.retryDeadTimer("k1", T0 + 300), true);
        assert.equal(await store.retryDeadTimer("k1", T0 + 301), false, "revived already");
        const revived = await store.findTimer("k1");
        assert.deepEqual(
          [
            revived?.status,
            revived?.attempts,
            revived?.nextAttemptAt,
            revived?.dueAt,
            revived?.leaseOwner,
            revived?.leaseUntil,
            revived?.lastError,
          ],
          [TimerStatus.Pending, 0, T0 + 300, T0 + 100, null, null, "gave up"],
        );
        assert.deepEqual(await claim(store, "s2", T0 + 299), []);
        const [again] = await claim(store, "s2", T0 + 300);
        assert.deepEqual([again?.timerId, again?.attempts, again?.leaseOwner], ["k1", 1, "s2"]);
        assert.equal(await store.completeTimer("k1", "s2", T0 + 310), true);
        assert.deepEqual(await store.timerStats(), { pending: 1, fired: 2, cancelled: 0, dead: 0 });
      }),
    );

    it(
      "never revives a cancelled timer",
      withStore(async (store) => {
        await commitOk(store, timerWrite("t_a", 1, 0, [{ timerId: "k1", dueAt: T0 + 100, key: "remind" }]));
        await commitOk(store, timerWrite("t_a", 2, 1, [], ["remind"]));
        assert.equal(await store.retryDeadTimer("k1", T0 + 300), false);
        assert.equal((await store.findTimer("k1"))?.status, TimerStatus.Cancelled);
      }),
    );
  });
}
