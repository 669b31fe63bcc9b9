import assert from "node:assert/strict";
import type { SlotRequest, Store } from "../../ports.js";
import type { Suite } from "./suite.js";
import { peers, T0 } from "./suite.js";

/** `holder`'s request for one of `limit` slots of `key` at `now`, leased for 100 ms. */
function slot(holder: string, now: number, limit = 2, key = "provider/m_1"): SlotRequest {
  return { key, limit, holder, owner: "dispatcher-1", now, leaseMs: 100 };
}

/** Which of `holders` get a slot, asked one after the other at `now`. */
async function acquired(store: Store, holders: readonly string[], now: number, limit = 2): Promise<string[]> {
  const got: string[] = [];
  for (const holder of holders) if (await store.acquireSlot(slot(holder, now, limit))) got.push(holder);
  return got;
}

/**
 * Effect limits shared by every process on the store: concurrency slots (never more than
 * `limit` unexpired holders of a key; a holder renews its own; expired leases are free) and
 * token buckets (full when first seen, refilled at `perSecond`, up to `burst`).
 */
export function effectLimitsSpec(suite: Suite): void {
  const { describe, it, withStore } = suite;
  const withPeers = peers(suite);

  describe("concurrency slots", () => {
    it(
      "hands out at most `limit` slots of a key, each key on its own",
      withStore(async (store) => {
        assert.deepEqual(await acquired(store, ["i1", "i2", "i3"], T0), ["i1", "i2"]);
        assert.equal(await store.acquireSlot(slot("i3", T0, 2, "provider/m_2")), true);
        assert.equal(await store.acquireSlot(slot("i4", T0, 1, "provider/m_2")), false);
        // A higher limit for the same key lets one more in.
        assert.equal(await store.acquireSlot(slot("i3", T0, 3)), true);
        assert.equal(await store.acquireSlot(slot("i4", T0, 3)), false);
      }),
    );

    it(
      "renews the lease of a holder that asks again, even at the limit",
      withStore(async (store) => {
        assert.deepEqual(await acquired(store, ["i1", "i2"], T0), ["i1", "i2"]);
        assert.equal(await store.acquireSlot(slot("i1", T0 + 80)), true);
        // i2's lease ran out at T0 + 100, i1's now runs until T0 + 180.
        assert.deepEqual(await acquired(store, ["i3", "i4"], T0 + 100), ["i3"]);
        assert.deepEqual(await acquired(store, ["i4"], T0 + 179), []);
        assert.deepEqual(await acquired(store, ["i4"], T0 + 180), ["i4"]);
      }),
    );

    it(
      "frees a slot on release; releasing a slot not held does nothing",
      withStore(async (store) => {
        assert.deepEqual(await acquired(store, ["i1", "i2"], T0), ["i1", "i2"]);
        await store.releaseSlot("provider/m_1", "i9");
        await store.releaseSlot("provider/m_2", "i1");
        assert.deepEqual(await acquired(store, ["i3"], T0 + 1), []);
        await store.releaseSlot("provider/m_1", "i1");
        await store.releaseSlot("provider/m_1", "i1");
        assert.deepEqual(await acquired(store, ["i3", "i4"], T0 + 2), ["i3"]);
      }),
    );

    it(
      "frees a slot whose lease ran out",
      withStore(async (store) => {
        assert.deepEqual(await acquired(store, ["i1"], T0), ["i1"]);
        assert.deepEqual(await acquired(store, ["i2"], T0 + 50), ["i2"]);
        assert.deepEqual(await acquired(store, ["i3"], T0 + 99), []);
        assert.deepEqual(await acquired(store, ["i3", "i4"], T0 + 100), ["i3"]);
        assert.deepEqual(await acquired(store, ["i4", "i5"], T0 + 150), ["i4"]);
      }),
    );

    if (withPeers !== undefined) {
      it(
        "counts the holders of every store on the same database",
        withPeers(2, async (store, [b, c]) => {
          assert.ok(b !== undefined && c !== undefined);
          const stores = [store, b, c];
          const results = await Promise.all(
            Array.from({ length: 9 }, (_, i) => stores[i % 3]?.acquireSlot(slot(`i${i}`, T0, 3))),
          );
          assert.equal(results.filter((ok) => ok === true).length, 3);
          const holders = results.flatMap((ok, i) => (ok === true ? [`i${i}`] : []));
          assert.deepEqual(await acquired(c, ["late"], T0 + 1, 3), []);
          // Another store releases one of them; a third renews another's.
          await b.releaseSlot("provider/m_1", holders[0] ?? "");
          assert.equal(await c.acquireSlot(slot(holders[1] ?? "", T0 + 50, 3)), true);
          assert.deepEqual(await acquired(store, ["late", "later"], T0 + 60, 3), ["late"]);
          assert.deepEqual(await acquired(b, ["later"], T0 + 100, 3), ["later"]);
        }),
      );
    }
  });

  describe("rate-limit tokens", () => {
    const take = (store: Store, now: number, perSecond = 2, burst?: number, key = "provider/m_1") =>
      store.takeToken({ key, perSecond, now, ...(burst === undefined ? {} : { burst }) });

    it(
      "starts full at `perSecond` tokens, then answers the wait for the next without taking it",
      withStore(async (store) => {
        assert.deepEqual([await take(store, T0), await take(store, T0), await take(store, T0)], [0, 0, 500]);
        // Times that refill exact binary fractions of a token: stores need not round alike.
        assert.equal(await take(store, T0 + 250), 250);
        assert.equal(await take(store, T0 + 375), 125);
        assert.equal(await take(store, T0 + 500), 0);
        assert.equal(await take(store, T0 + 500), 500);
        // Another key has its own bucket.
        assert.equal(await take(store, T0 + 500, 2, undefined, "provider/m_2"), 0);
      }),
    );

    it(
      "refills at `perSecond` up to `burst`, and holds at least one token",
      withStore(async (store) => {
        const burst = [];
        for (let i = 0; i < 4; i++) burst.push(await take(store, T0, 1, 3));
        assert.deepEqual(burst, [0, 0, 0, 1000]);
        // An hour later it is full again, not fuller.
        const later = [];
        for (let i = 0; i < 4; i++) later.push(await take(store, T0 + 3_600_000, 1, 3));
        assert.deepEqual(later, [0, 0, 0, 1000]);
        // Half a token a second: a bucket of one, refilled in two seconds.
        const slow = "provider/slow";
        assert.deepEqual(
          [await take(store, T0, 0.5, undefined, slow), await take(store, T0, 0.5, undefined, slow)],
          [0, 2000],
        );
        assert.equal(await take(store, T0 + 1500, 0.5, undefined, slow), 500);
        assert.equal(await take(store, T0 + 2000, 0.5, undefined, slow), 0);
      }),
    );

    it(
      "refills nothing for a clock that goes back: no token twice for the same time",
      withStore(async (store) => {
        assert.equal(await take(store, T0 + 1000, 1), 0);
        // A process whose clock is a second behind asks: the bucket is empty.
        assert.equal(await take(store, T0, 1), 1000);
        assert.equal(await take(store, T0 + 1000, 1), 1000);
        assert.equal(await take(store, T0 + 2000, 1), 0);
      }),
    );

    if (withPeers !== undefined) {
      it(
        "shares each bucket between the stores on the same database",
        withPeers(2, async (store, [b, c]) => {
          assert.ok(b !== undefined && c !== undefined);
          const stores = [store, b, c];
          const waits = await Promise.all(Array.from({ length: 9 }, (_, i) => take(stores[i % 3] as Store, T0, 1, 4)));
          assert.deepEqual(
            [...waits].sort((x, y) => x - y),
            [0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000],
          );
          assert.equal(await take(b, T0 + 1000, 1, 4), 0);
          assert.equal(await take(c, T0 + 1000, 1, 4), 1000);
        }),
      );
    }
  });
}
