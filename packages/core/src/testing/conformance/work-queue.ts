import assert from "node:assert/strict";
import type { AcceptedWrite, Store } from "../../ports.js";
import { OutboxStatus, TimerStatus } from "../../ports.js";
import { acceptedWrite, queueWrite } from "../step-writes.js";
import type { Suite } from "./suite.js";
import { commitAll, commitOk, T0 } from "./suite.js";

/** The work queue: outbox and timer claims, leases, settling and retries. */
export function workQueueSpec(suite: Suite): void {
  const { describe, it, withStore } = suite;
  describe("outbox claims", () => {
    const claim = (store: Store, owner: string, now: number, limit = 10, leaseMs = 1000) =>
      store.claimOutbox({ owner, now, leaseMs, limit });
    const intents = (n: number) => Array.from({ length: n }, (_, i) => ({ type: "Noted", i }));

    it(
      "leases due rows oldest first, counts the attempt, and does not hand them out twice",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(1)));
        await commitOk(store, acceptedWrite("t_b", "evt_2", 0, {}, intents(1)));
        const rows = await claim(store, "w1", T0 + 10);
        assert.deepEqual(
          rows.map((r) => [r.intentId, r.attempts, r.leaseOwner, r.leaseUntil]),
          [
            ["tally/t_a/1/0", 1, "w1", T0 + 1010],
            ["tally/t_b/1/0", 1, "w1", T0 + 1010],
          ],
        );
        assert.deepEqual(await claim(store, "w2", T0 + 20), []);
        const listed = await store.listOutbox();
        assert.deepEqual(
          listed.map((r) => [r.leaseOwner, r.attempts]),
          [
            ["w1", 1],
            ["w1", 1],
          ],
        );
      }),
    );

    it(
      "respects the limit and leaves rows that are not yet due",
      withStore(async (store) => {
        for (const id of ["t_a", "t_b", "t_c"])
          await commitOk(store, acceptedWrite(id, `evt_${id}9`, 0, {}, intents(1)));
        assert.deepEqual(await claim(store, "w1", T0), []);
        assert.deepEqual(await claim(store, "w1", T0 + 100, 0), []);
        assert.equal((await claim(store, "w1", T0 + 100, 2)).length, 2);
        assert.equal((await claim(store, "w1", T0 + 100, 2)).length, 1);
      }),
    );

    it(
      "hands out only the oldest pending row of an entity, then the next once it is done",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(2)));
        await commitOk(store, acceptedWrite("t_a", "evt_2", 1, {}, intents(1)));
        await commitOk(store, acceptedWrite("t_b", "evt_3", 0, {}, intents(1)));
        const first = await claim(store, "w1", T0 + 10);
        assert.deepEqual(
          first.map((r) => r.intentId),
          ["tally/t_a/1/0", "tally/t_b/1/0"],
        );
        assert.equal(await store.completeOutbox("tally/t_a/1/0", "w1", T0 + 11), true);
        assert.deepEqual(
          (await claim(store, "w1", T0 + 12)).map((r) => r.intentId),
          ["tally/t_a/1/1"],
        );
        // A row still leased (t_a/1/1) blocks its entity's later rows.
        assert.deepEqual(await claim(store, "w2", T0 + 13), []);
        assert.equal(await store.completeOutbox("tally/t_a/1/1", "w1", T0 + 14), true);
        assert.deepEqual(
          (await claim(store, "w2", T0 + 15)).map((r) => r.intentId),
          ["tally/t_a/2/0"],
        );
      }),
    );

    it(
      "marks a row done once, and only for the owner of its lease",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(1)));
        await claim(store, "w1", T0 + 10);
        assert.equal(await store.completeOutbox("tally/t_a/1/0", "w2", T0 + 11), false);
        assert.equal(await store.completeOutbox("tally/t_a/1/0", "w1", T0 + 11), true);
        assert.equal(await store.completeOutbox("tally/t_a/1/0", "w1", T0 + 12), false);
        const [row] = await store.listOutbox();
        assert.deepEqual([row?.status, row?.leaseOwner, row?.leaseUntil], [OutboxStatus.Done, null, null]);
        assert.deepEqual(await claim(store, "w1", T0 + 5000), []);
      }),
    );

    it(
      "retries a failed attempt no earlier than it says, keeping the error",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(1)));
        await claim(store, "w1", T0 + 10);
        const failure = { error: "provider down", now: T0 + 20, retryAt: T0 + 500 };
        assert.equal(await store.failOutbox("tally/t_a/1/0", "w2", failure), false);
        assert.equal(await store.failOutbox("tally/t_a/1/0", "w1", failure), true);
        const [row] = await store.listOutbox();
        assert.deepEqual(
          [row?.status, row?.attempts, row?.lastError, row?.nextAttemptAt, row?.leaseOwner],
          [OutboxStatus.Pending, 1, "provider down", T0 + 500, null],
        );
        assert.deepEqual(await claim(store, "w1", T0 + 499), []);
        const [again] = await claim(store, "w1", T0 + 500);
        assert.equal(again?.attempts, 2);
      }),
    );

    it(
      "lets another owner take a row whose lease expired; the old owner can no longer settle it",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(1)));
        await claim(store, "w1", T0 + 10, 10, 100);
        assert.deepEqual(await claim(store, "w2", T0 + 109), []);
        const [taken] = await claim(store, "w2", T0 + 110);
        assert.deepEqual([taken?.leaseOwner, taken?.attempts], ["w2", 2]);
        assert.equal(await store.completeOutbox("tally/t_a/1/0", "w1", T0 + 120), false);
        assert.equal(
          await store.failOutbox("tally/t_a/1/0", "w1", { error: "late", now: T0 + 120, retryAt: T0 + 200 }),
          false,
        );
        assert.equal(await store.completeOutbox("tally/t_a/1/0", "w2", T0 + 120), true);
      }),
    );

    it(
      "dead-letters a row, which then blocks nothing, and revives it on retryDead",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(2)));
        await claim(store, "w1", T0 + 10);
        assert.equal(
          await store.failOutbox("tally/t_a/1/0", "w1", { error: "gave up", now: T0 + 20, retryAt: null }),
          true,
        );
        const dead = await store.listOutbox({ status: OutboxStatus.Dead });
        assert.deepEqual(
          dead.map((r) => [r.intentId, r.lastError, r.attempts]),
          [["tally/t_a/1/0", "gave up", 1]],
        );
        assert.deepEqual(
          (await claim(store, "w1", T0 + 30)).map((r) => r.intentId),
          ["tally/t_a/1/1"],
        );
        assert.equal(await store.retryDead("tally/t_a/1/1", T0 + 40), false);
        assert.equal(await store.retryDead("tally/nope/1/0", T0 + 40), false);
        assert.equal(await store.retryDead("tally/t_a/1/0", T0 + 40), true);
        assert.equal(await store.retryDead("tally/t_a/1/0", T0 + 41), false);
        const [revived] = await store.listOutbox({ status: OutboxStatus.Pending });
        assert.deepEqual(
          [revived?.intentId, revived?.attempts, revived?.nextAttemptAt, revived?.leaseOwner, revived?.leaseUntil],
          ["tally/t_a/1/0", 0, T0 + 40, null, null],
        );
        assert.equal(revived?.lastError, "gave up");
      }),
    );
  });

  it(
    "claims nothing, and changes nothing, for a limit of zero or less",
    withStore(async (store) => {
      await commitAll(store, [queueWrite("c_01", 1, 0, 1, T0)]);
      for (const limit of [0, -1]) {
        assert.deepEqual(await store.claimOutbox({ owner: "w", now: T0 + 10, leaseMs: 100, limit }), []);
        assert.deepEqual(await store.claimTimers({ owner: "w", now: T0 + 10, leaseMs: 100, limit }), []);
      }
      assert.equal((await store.listOutbox())[0]?.attempts, 0);
      assert.equal((await store.listTimers())[0]?.attempts, 0);
    }),
  );

  describe("timer claims", () => {
    const timersOf = (dues: readonly number[]): AcceptedWrite => ({
      ...acceptedWrite("t_a", "evt_1", 0, {}),
      timers: dues.map((dueAt, i) => ({
        timerId: `tally/t_a/1/${i}`,
        event: { type: "Close" },
        eventVersion: 1,
        dueAt,
      })),
    });
    const claim = (store: Store, owner: string, now: number, leaseMs = 1000) =>
      store.claimTimers({ owner, now, leaseMs, limit: 10 });

    it(
      "leases due timers soonest first and fires each once",
      withStore(async (store) => {
        await commitOk(store, timersOf([T0 + 300, T0 + 100, T0 + 200, T0 + 900]));
        const due = await claim(store, "s1", T0 + 300);
        assert.deepEqual(
          due.map((t) => [t.dueAt, t.attempts, t.leaseOwner]),
          [
            [T0 + 100, 1, "s1"],
            [T0 + 200, 1, "s1"],
            [T0 + 300, 1, "s1"],
          ],
        );
        assert.deepEqual(await claim(store, "s2", T0 + 400), []);
        for (const t of due) assert.equal(await store.completeTimer(t.timerId, "s1", T0 + 400), true);
        assert.equal(await store.completeTimer("tally/t_a/1/1", "s1", T0 + 400), false);
        assert.deepEqual(await claim(store, "s1", T0 + 800), []);
        assert.deepEqual(
          (await claim(store, "s1", T0 + 900)).map((t) => t.dueAt),
          [T0 + 900],
        );
        assert.deepEqual(
          (await store.listTimers()).map((t) => t.status),
          [TimerStatus.Fired, TimerStatus.Fired, TimerStatus.Fired, TimerStatus.Pending],
        );
      }),
    );

    it(
      "claims timers soonest first, commit order among equal due times",
      withStore(async (store) => {
        const dues = [T0 + 30, T0 + 10, T0 + 30, T0 + 20, T0 + 10];
        await commitAll(store, [
          {
            ...queueWrite("c_01", 1, 0, 0),
            timers: dues.map((dueAt, i) => ({ timerId: `t${i}`, event: { type: "Tick" }, eventVersion: 1, dueAt })),
          },
        ]);
        const claimed = await store.claimTimers({ owner: "s", now: T0 + 30, leaseMs: 100, limit: 4 });
        assert.deepEqual(
          claimed.map((timer) => timer.timerId),
          ["t1", "t4", "t3", "t0"],
        );
        assert.deepEqual(
          (await store.listTimers()).map((timer) => timer.timerId),
          ["t1", "t4", "t3", "t0", "t2"],
        );
      }),
    );

    it(
      "retries a failed firing later, and lets another owner take an expired lease",
      withStore(async (store) => {
        await commitOk(store, timersOf([T0 + 100]));
        await claim(store, "s1", T0 + 100);
        assert.equal(
          await store.failTimer("tally/t_a/1/0", "s2", { error: "x", now: T0 + 110, retryAt: T0 + 500 }),
          false,
        );
        assert.equal(
          await store.failTimer("tally/t_a/1/0", "s1", { error: "store busy", now: T0 + 110, retryAt: T0 + 500 }),
          true,
        );
        assert.deepEqual(await claim(store, "s1", T0 + 499), []);
        const [again] = await claim(store, "s1", T0 + 500, 50);
        assert.deepEqual([again?.attempts, again?.lastError, again?.dueAt], [2, "store busy", T0 + 100]);
        const [taken] = await claim(store, "s2", T0 + 550);
        assert.equal(taken?.leaseOwner, "s2");
        assert.equal(await store.completeTimer("tally/t_a/1/0", "s1", T0 + 560), false);
        assert.equal(await store.completeTimer("tally/t_a/1/0", "s2", T0 + 560), true);
      }),
    );
  });
}
