import assert from "node:assert/strict";
import type { Store } from "../../ports.js";
import { OutboxStatus } from "../../ports.js";
import { acceptedWrite } from "../step-writes.js";
import type { Suite } from "./suite.js";
import { commitOk, peers, T0 } from "./suite.js";

/** Claim whatever is due a second after the epoch, as `owner`: the claimed intent ids. */
async function claimIds(store: Store, owner = "w"): Promise<string[]> {
  const claimed = await store.claimOutbox({ owner, now: T0 + 1000, leaseMs: 60_000, limit: 100 });
  return claimed.map((row) => row.intentId);
}

/**
 * Three entities: t_a asks for an Email then a Noted, t_b for a Noted, t_c for an Email and
 * t_d for an Sms.
 */
async function commitMixedIntents(store: Store): Promise<void> {
  await commitOk(
    store,
    acceptedWrite("t_a", "evt_1", 0, {}, [
      { type: "Email", to: "a" },
      { type: "Noted", n: 1 },
    ]),
  );
  await commitOk(store, acceptedWrite("t_b", "evt_2", 0, {}, [{ type: "Noted", n: 2 }]));
  await commitOk(store, acceptedWrite("t_c", "evt_3", 0, {}, [{ type: "Email", to: "c" }]));
  await commitOk(store, acceptedWrite("t_d", "evt_4", 0, {}, [{ type: "Sms", to: "d" }]));
}

/**
 * Paused intent types: an operator pauses an intent type (of any machine) and the claim skips
 * its pending rows — not leased, their attempts untouched — while each still holds back the
 * later rows of its entity; resuming makes them claimable again. The pause lives in the
 * store, so another store on the same database sees it at once.
 */
export function pausedIntentTypesSpec(suite: Suite): void {
  const { describe, it, withStore } = suite;
  describe("paused intent types", () => {
    it(
      "skips the rows of a paused type, which keep their attempts and hold back their entity's later rows",
      withStore(async (store) => {
        await commitMixedIntents(store);
        assert.equal(await store.pauseIntentType("Email", T0 + 500), true);
        assert.deepEqual(await claimIds(store), ["tally/t_b/1/0", "tally/t_d/1/0"]);
        // Nothing else, however often it is asked.
        assert.deepEqual(await claimIds(store, "w2"), []);
        const email = await store.findOutbox("tally/t_a/1/0");
        assert.deepEqual(
          [email?.status, email?.attempts, email?.leaseOwner, email?.leaseUntil],
          [OutboxStatus.Pending, 0, null, null],
        );
        assert.equal((await store.findOutbox("tally/t_a/1/1"))?.attempts, 0);
        assert.equal((await store.findOutbox("tally/t_c/1/0"))?.attempts, 0);

        assert.equal(await store.resumeIntentType("Email"), true);
        assert.deepEqual(await claimIds(store), ["tally/t_a/1/0", "tally/t_c/1/0"]);
        assert.equal((await store.findOutbox("tally/t_a/1/0"))?.attempts, 1);
        // t_a's Noted still waits for its Email.
        assert.equal(await store.completeOutbox("tally/t_a/1/0", "w", T0 + 1000), true);
        assert.deepEqual(await claimIds(store), ["tally/t_a/1/1"]);
      }),
    );

    it(
      "pauses the later rows of a type once their entity's earlier rows are done",
      withStore(async (store) => {
        await commitOk(
          store,
          acceptedWrite("t_a", "evt_1", 0, {}, [
            { type: "Noted", n: 1 },
            { type: "Email", to: "a" },
            { type: "Noted", n: 2 },
          ]),
        );
        assert.equal(await store.pauseIntentType("Email", T0), true);
        assert.deepEqual(await claimIds(store), ["tally/t_a/1/0"]);
        assert.equal(await store.completeOutbox("tally/t_a/1/0", "w", T0 + 1000), true);
        assert.deepEqual(await claimIds(store), []);
        assert.equal(await store.resumeIntentType("Email"), true);
        assert.deepEqual(await claimIds(store), ["tally/t_a/1/1"]);
      }),
    );

    it(
      "answers false to pausing a paused type and to resuming one that is not, and lists them by name",
      withStore(async (store) => {
        assert.deepEqual(await store.listPausedIntentTypes(), []);
        assert.equal(await store.resumeIntentType("Email"), false);
        assert.equal(await store.pauseIntentType("Sms", T0 + 1), true);
        assert.equal(await store.pauseIntentType("Email", T0 + 2), true);
        assert.equal(await store.pauseIntentType("Email", T0 + 3), false);
        assert.deepEqual(await store.listPausedIntentTypes(), [
          { intentType: "Email", pausedAt: T0 + 2 },
          { intentType: "Sms", pausedAt: T0 + 1 },
        ]);
        assert.equal(await store.resumeIntentType("Sms"), true);
        assert.equal(await store.resumeIntentType("Sms"), false);
        assert.deepEqual(await store.listPausedIntentTypes(), [{ intentType: "Email", pausedAt: T0 + 2 }]);

        await commitMixedIntents(store);
        assert.deepEqual(await claimIds(store), ["tally/t_b/1/0", "tally/t_d/1/0"]);
      }),
    );

    it(
      "leaves a row leased before the pause with its owner, who may still settle it",
      withStore(async (store) => {
        await commitMixedIntents(store);
        assert.deepEqual(await claimIds(store), ["tally/t_a/1/0", "tally/t_b/1/0", "tally/t_c/1/0", "tally/t_d/1/0"]);
        assert.equal(await store.pauseIntentType("Email", T0 + 1000), true);
        assert.equal(
          await store.failOutbox("tally/t_c/1/0", "w", { error: "down", now: T0 + 1000, retryAt: T0 + 1000 }),
          true,
        );
        assert.equal(await store.completeOutbox("tally/t_a/1/0", "w", T0 + 1000), true);
        // t_c's Email is due again but paused; t_a's Noted comes after its done Email.
        assert.deepEqual(await claimIds(store, "w2"), ["tally/t_a/1/1"]);
        assert.equal((await store.findOutbox("tally/t_c/1/0"))?.attempts, 1);
      }),
    );

    const withPeers = peers(suite);
    if (withPeers !== undefined) {
      it(
        "is seen at once by another store on the same database",
        withPeers(1, async (store, [peer]) => {
          assert.ok(peer !== undefined);
          await commitMixedIntents(store);
          assert.equal(await peer.pauseIntentType("Email", T0 + 7), true);
          assert.deepEqual(await store.listPausedIntentTypes(), [{ intentType: "Email", pausedAt: T0 + 7 }]);
          assert.equal(await store.pauseIntentType("Email", T0 + 8), false);
          assert.deepEqual(await claimIds(store), ["tally/t_b/1/0", "tally/t_d/1/0"]);
          assert.equal(await store.resumeIntentType("Email"), true);
          assert.deepEqual(await peer.listPausedIntentTypes(), []);
          assert.deepEqual(await claimIds(peer), ["tally/t_a/1/0", "tally/t_c/1/0"]);
        }),
      );
    }
  });
}
