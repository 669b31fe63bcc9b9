import assert from "node:assert/strict";
import type { AcceptedWrite, Store } from "../../ports.js";
import { acceptedWrite } from "../step-writes.js";
import type { Suite } from "./suite.js";
import { commitOk, T0 } from "./suite.js";

/**
 * Leases kept alive and given back: the heartbeat's renewal (only what the owner still holds,
 * in one call) and the release of an instance's earlier incarnations at start (only theirs).
 */
export function leasesSpec(suite: Suite): void {
  const { describe, it, withStore } = suite;
  const intent = [{ type: "Noted" }];
  /** One intent on each of `ids` (each its own entity, so each claimable on its own). */
  const intentsOn = async (store: Store, ids: readonly string[]) => {
    for (const [i, id] of ids.entries()) await commitOk(store, acceptedWrite(id, `evt_${i}`, 0, {}, intent));
  };
  const claimOne = async (store: Store, owner: string, now: number, leaseMs = 1000) => {
    const [row] = await store.claimOutbox({ owner, now, leaseMs, limit: 1 });
    assert.ok(row, `${owner} claims a row`);
    return row;
  };
  const timers = (ids: readonly string[]): AcceptedWrite => ({
    ...acceptedWrite("t_timers", "evt_timers", 0, {}),
    timers: ids.map((timerId) => ({ timerId, event: { type: "Close" }, eventVersion: 1, dueAt: T0 + 5 })),
  });
  const claimTimer = async (store: Store, owner: string, now: number, leaseMs = 1000) => {
    const [timer] = await store.claimTimers({ owner, now, leaseMs, limit: 1 });
    assert.ok(timer, `${owner} claims a timer`);
    return timer;
  };

  describe("lease renewal (the heartbeat)", () => {
    it(
      "moves the leases its owner holds, in one call, and answers which those are",
      withStore(async (store) => {
        await intentsOn(store, ["t_a", "t_b", "t_c", "t_d"]);
        const a = await claimOne(store, "w1", T0 + 10, 100);
        const b = await claimOne(store, "w1", T0 + 10, 100);
        const c = await claimOne(store, "w1", T0 + 10, 100);
        const d = await claimOne(store, "w2", T0 + 10, 100);
        assert.equal(await store.completeOutbox(c.intentId, "w1", T0 + 20), true);
        const held = await store.renewOutboxLeases(
          "w1",
          [a.intentId, b.intentId, c.intentId, d.intentId, "tally/nope/1/0"],
          T0 + 5000,
        );
        assert.deepEqual([...held].sort(), [a.intentId, b.intentId]);
        // Renewed rows stay out of reach past their old lease; the other owner's did not move.
        assert.deepEqual(
          (await store.claimOutbox({ owner: "w3", now: T0 + 200, leaseMs: 100, limit: 10 })).map((r) => r.intentId),
          [d.intentId],
        );
        const a2 = await store.findOutbox(a.intentId);
        assert.deepEqual([a2?.leaseOwner, a2?.leaseUntil, a2?.attempts], ["w1", T0 + 5000, 1]);
        assert.equal(await store.completeOutbox(a.intentId, "w1", T0 + 300), true);
        assert.deepEqual(await store.renewOutboxLeases("w1", [], T0 + 6000), []);
      }),
    );

    it(
      "finds a lease lost once another owner took the row, and then leaves it to that owner",
      withStore(async (store) => {
        await intentsOn(store, ["t_a"]);
        const row = await claimOne(store, "w1", T0 + 10, 100);
        // Expired but not yet taken: still held by name, so renewable.
        assert.deepEqual(await store.renewOutboxLeases("w1", [row.intentId], T0 + 300), [row.intentId]);
        const taken = await claimOne(store, "w2", T0 + 300, 100);
        assert.equal(taken.attempts, 2);
        assert.deepEqual(await store.renewOutboxLeases("w1", [row.intentId], T0 + 5000), []);
        const after = await store.findOutbox(row.intentId);
        assert.deepEqual([after?.leaseOwner, after?.leaseUntil], ["w2", T0 + 400]);
      }),
    );

    it(
      "renews timers the same way",
      withStore(async (store) => {
        await commitOk(store, timers(["tm_1", "tm_2", "tm_3"]));
        const one = await claimTimer(store, "s1", T0 + 10, 100);
        const two = await claimTimer(store, "s1", T0 + 10, 100);
        const three = await claimTimer(store, "s2", T0 + 10, 100);
        assert.equal(await store.completeTimer(two.timerId, "s1", T0 + 20), true);
        const held = await store.renewTimerLeases("s1", [one.timerId, two.timerId, three.timerId], T0 + 5000);
        assert.deepEqual(held, [one.timerId]);
        assert.deepEqual(
          (await store.claimTimers({ owner: "s3", now: T0 + 200, leaseMs: 100, limit: 10 })).map((t) => t.timerId),
          [three.timerId],
        );
        assert.deepEqual(await store.renewTimerLeases("s2", [three.timerId], T0 + 5000), []);
        assert.deepEqual(await store.renewTimerLeases("s1", [], T0 + 5000), []);
      }),
    );
  });

  describe("releasing an earlier incarnation's leases", () => {
    const release = { ownerPrefix: "app%_#", keepPrefix: "app%_#new:" };

    it(
      "frees at once the pending rows and timers of the instance's earlier incarnations, and only those",
      withStore(async (store) => {
        await intentsOn(store, ["t_a", "t_b", "t_c", "t_d", "t_e"]);
        await commitOk(store, timers(["tm_1", "tm_2", "tm_3"]));
        // An earlier incarnation's; the running one's; another instance whose name starts the
        // same (`app%_x`) and one that LIKE's wildcards would match (`appXY`).
        const old = await claimOne(store, "app%_#old:dispatcher", T0 + 10);
        const mine = await claimOne(store, "app%_#new:dispatcher", T0 + 10);
        const other = await claimOne(store, "app%_x#old:dispatcher", T0 + 10);
        const wild = await claimOne(store, "appXY#old:dispatcher", T0 + 10);
        const settled = await claimOne(store, "app%_#old:dispatcher", T0 + 10);
        assert.equal(await store.completeOutbox(settled.intentId, "app%_#old:dispatcher", T0 + 20), true);
        const oldTimer = await claimTimer(store, "app%_#old:scheduler", T0 + 10);
        await claimTimer(store, "app%_#new:scheduler", T0 + 10);
        await claimTimer(store, "other#old:scheduler", T0 + 10);

        assert.deepEqual(await store.releaseLeases(release), { outbox: 1, timers: 1 });

        const freed = await store.findOutbox(old.intentId);
        assert.deepEqual([freed?.leaseOwner, freed?.leaseUntil, freed?.attempts], [null, null, 1]);
        for (const [row, owner] of [
          [mine, "app%_#new:dispatcher"],
          [other, "app%_x#old:dispatcher"],
          [wild, "appXY#old:dispatcher"],
        ] as const) {
          assert.equal((await store.findOutbox(row.intentId))?.leaseOwner, owner);
        }
        assert.equal((await store.findOutbox(settled.intentId))?.status, "done");
        // Claimable now, long before the lease would have run out; the attempt stays counted.
        const again = await store.claimOutbox({
          owner: "app%_#new:dispatcher",
          now: T0 + 30,
          leaseMs: 1000,
          limit: 10,
        });
        assert.deepEqual(
          again.map((r) => [r.intentId, r.attempts]),
          [[old.intentId, 2]],
        );
        const timersAgain = await store.claimTimers({
          owner: "app%_#new:scheduler",
          now: T0 + 30,
          leaseMs: 1000,
          limit: 10,
        });
        assert.deepEqual(
          timersAgain.map((t) => [t.timerId, t.attempts]),
          [[oldTimer.timerId, 2]],
        );
        assert.deepEqual(await store.releaseLeases(release), { outbox: 0, timers: 0 });
      }),
    );

    it(
      "changes nothing when no earlier incarnation held anything",
      withStore(async (store) => {
        await intentsOn(store, ["t_a"]);
        const row = await claimOne(store, "app%_#new:dispatcher", T0 + 10);
        assert.deepEqual(await store.releaseLeases(release), { outbox: 0, timers: 0 });
        assert.equal((await store.findOutbox(row.intentId))?.leaseUntil, T0 + 1010);
      }),
    );
  });
}
