import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { OutboxRecord } from "@drover/core";
import { OutboxStatus, TimerStatus } from "@drover/core";
import { acceptedWrite, commitAll, STEP_EPOCH } from "@drover/core/testing";
import { quoteIdent } from "./identifiers.js";
import type { PostgresStore } from "./postgres-store.js";
import { freshSchema, openStore, postgresAvailable, withAdmin } from "./test-support/fixtures.js";

// What the intent controls and timer cancels promise across processes, tried with several
// stores (each its own pool, as separate processes would have) racing on one schema. The
// behaviour every store shares is in the conformance suite (postgres-store.test.ts).

const NOW = STEP_EPOCH + 10_000;
const claim = { now: NOW, leaseMs: 60_000, limit: 10 };

/** `n` stores on one fresh schema, each with its own pool of `poolSize` connections. */
async function storesOnOneSchema(n: number, poolSize: number): Promise<{ schema: string; stores: PostgresStore[] }> {
  const schema = freshSchema();
  const first = await openStore({ schema, poolSize });
  const rest = await Promise.all(Array.from({ length: n - 1 }, () => openStore({ schema, poolSize })));
  return { schema, stores: [first, ...rest] };
}

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore: intent controls across processes", () => {
    it("never hands out more than `limit` slots of a key to many acquirers racing from several stores", async () => {
      const { schema, stores } = await storesOnOneSchema(3, 6);
      try {
        for (const [round, limit] of [
          [1, 1],
          [2, 3],
          [3, 5],
        ] as const) {
          const key = `provider/${round}`;
          const results = await Promise.all(
            Array.from({ length: 36 }, (_, i) =>
              stores[i % stores.length]?.acquireSlot({
                key,
                limit,
                holder: `intent_${i}`,
                owner: `dispatcher_${i % stores.length}`,
                now: NOW,
                leaseMs: 30_000,
              }),
            ),
          );
          assert.equal(results.filter((held) => held === true).length, limit, `round ${round}`);
          const rows = await withAdmin((client) =>
            client.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.intent_slots WHERE slot_key = $1`,
              [key],
            ),
          );
          assert.equal(rows.rows[0]?.n, limit);
          // A holder renews its own slot; a released slot goes to the next acquirer, of another store.
          const winner = results.indexOf(true);
          const slot = { key, limit, owner: "d", now: NOW + 1, leaseMs: 30_000 };
          assert.equal(await stores[1]?.acquireSlot({ ...slot, holder: `intent_${winner}` }), true);
          assert.equal(await stores[2]?.acquireSlot({ ...slot, holder: "late" }), false);
          await stores[0]?.releaseSlot(key, `intent_${winner}`);
          assert.equal(await stores[2]?.acquireSlot({ ...slot, holder: "late" }), true);
        }
        // Expired leases free their slots, for the acquirers of every store.
        const later = { key: "provider/1", limit: 1, owner: "d", now: NOW + 60_000, leaseMs: 1000 };
        assert.equal(await stores[1]?.acquireSlot({ ...later, holder: "after_expiry" }), true);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    });

    it("gives out a bucket's burst once to many takers racing from several stores, then refills it at the rate", async () => {
      const { stores } = await storesOnOneSchema(3, 6);
      try {
        const token = { key: "merchant/m_1", perSecond: 2, burst: 5, now: NOW };
        const waits = await Promise.all(
          Array.from({ length: 30 }, (_, i) => stores[i % stores.length]?.takeToken(token) ?? Promise.resolve(-1)),
        );
        assert.equal(waits.filter((wait) => wait === 0).length, 5);
        // Empty: one token is half a second away at 2 a second, and asking takes nothing.
        assert.ok(
          waits.filter((wait) => wait !== 0).every((wait) => wait === 500),
          JSON.stringify(waits),
        );
        assert.equal(await stores[0]?.takeToken({ ...token, now: NOW + 250 }), 250);
        assert.equal(await stores[1]?.takeToken({ ...token, now: NOW + 500 }), 0);
        assert.equal(await stores[2]?.takeToken({ ...token, now: NOW + 500 }), 500);
        // A clock behind the bucket's refills nothing (and does not move it back).
        assert.equal(await stores[2]?.takeToken({ ...token, now: NOW }), 500);
        assert.equal(await stores[0]?.takeToken({ ...token, now: NOW + 1000 }), 0);
        // Without a burst the bucket holds `perSecond` tokens, at least one.
        const slow = { key: "slow", perSecond: 0.5, now: NOW };
        assert.deepEqual([await stores[0]?.takeToken(slow), await stores[1]?.takeToken(slow)], [0, 2000]);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    });

    it("a pause by one store is seen at the next claim of another, a paused row still holding back its entity", async () => {
      const { stores } = await storesOnOneSchema(2, 2);
      const [operator, server] = stores;
      assert.ok(operator !== undefined && server !== undefined);
      try {
        await commitAll(server, [
          // p_a: a Charge, then a Noted that must wait for it; p_b: a Noted alone.
          acceptedWrite("p_a", "evt_1", 0, { n: 1 }, [{ type: "Charge" }, { type: "Noted" }]),
          acceptedWrite("p_b", "evt_2", 0, { n: 1 }, [{ type: "Noted" }]),
          acceptedWrite("p_c", "evt_3", 0, { n: 1 }, [{ type: "Charge" }]),
        ]);
        assert.equal(await operator.pauseIntentType("Charge", NOW), true);
        assert.equal(await server.pauseIntentType("Charge", NOW + 1), false);
        assert.deepEqual(await server.listPausedIntentTypes(), [{ intentType: "Charge", pausedAt: NOW }]);
        assert.deepEqual(
          (await server.claimOutbox({ ...claim, owner: "w" })).map((row) => row.intentId),
          ["tally/p_b/1/0"],
        );
        // Passed over, not leased: attempts and lease untouched.
        for (const intentId of ["tally/p_a/1/0", "tally/p_a/1/1", "tally/p_c/1/0"]) {
          const row: OutboxRecord | undefined = await operator.findOutbox(intentId);
          assert.deepEqual([row?.status, row?.attempts, row?.leaseOwner], [OutboxStatus.Pending, 0, null], intentId);
        }
        assert.equal(await server.resumeIntentType("Charge"), true);
        assert.equal(await operator.resumeIntentType("Charge"), false);
        assert.deepEqual(await operator.listPausedIntentTypes(), []);
        assert.deepEqual(
          (await server.claimOutbox({ ...claim, owner: "w" })).map((row) => row.intentId),
          ["tally/p_a/1/0", "tally/p_c/1/0"],
        );
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    });

    it("wakes the other stores' watchers when an intent type is resumed", async () => {
      const { stores } = await storesOnOneSchema(2, 2);
      const [operator, server] = stores;
      assert.ok(operator !== undefined && server !== undefined);
      let woken = 0;
      const stop = server.watch(() => {
        woken++;
      });
      try {
        await new Promise((resolve) => setTimeout(resolve, 200));
        await operator.pauseIntentType("Charge", NOW);
        const before = woken;
        await operator.resumeIntentType("Charge");
        const deadline = Date.now() + 5000;
        while (woken === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.ok(woken > before, "the server's watcher was not woken");
      } finally {
        stop();
        await Promise.all(stores.map((store) => store.close()));
      }
    });
  });

  describe("PostgresStore: timer cancels across processes", () => {
    it("cancels a timer another store's scheduler holds leased: its completion then changes nothing", async () => {
      const { stores } = await storesOnOneSchema(2, 2);
      const [runtime, scheduler] = stores;
      assert.ok(runtime !== undefined && scheduler !== undefined);
      try {
        const first = acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [], [{ type: "Remind" }]);
        await commitAll(runtime, [{ ...first, timers: first.timers.map((timer) => ({ ...timer, key: "remind" })) }]);
        const [leased] = await scheduler.claimTimers({ ...claim, now: STEP_EPOCH + 120_000, owner: "s" });
        assert.equal(leased?.key, "remind");
        await commitAll(runtime, [{ ...acceptedWrite("t_a", "evt_2", 1, { n: 2 }), cancelTimers: ["remind"] }]);
        assert.equal(await scheduler.completeTimer("tally/t_a/1/0", "s", NOW), false);
        const timer = await runtime.findTimer("tally/t_a/1/0");
        assert.deepEqual([timer?.status, timer?.leaseOwner], [TimerStatus.Cancelled, null]);
        assert.deepEqual(await scheduler.claimTimers({ ...claim, now: STEP_EPOCH + 999_999, owner: "s" }), []);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    });
  });
}
