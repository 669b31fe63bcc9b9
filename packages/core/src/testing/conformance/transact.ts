import assert from "node:assert/strict";
import type { LoadResult, StepRequest, StepWrite, Store } from "../../ports.js";
import { CommitOutcomeKind } from "../../ports.js";
import { acceptedWrite } from "../step-writes.js";
import type { Suite } from "./suite.js";
import { commitOk, ref, snapshot } from "./suite.js";

/** The store's `transact`, which a store that declares it (`ConformanceOptions.transact`) must have. */
function transactOf(store: Store): (requests: readonly StepRequest[]) => Promise<unknown[]> {
  assert.equal(typeof store.transact, "function", "the options say this store offers transact");
  return (requests) => (store.transact as NonNullable<Store["transact"]>).call(store, requests);
}

/** A request that records what it was shown and answers with `write(loaded)`. */
function request(id: string, eventId: string, write: (loaded: LoadResult) => StepWrite | undefined) {
  const seen: LoadResult[] = [];
  const req: StepRequest = {
    ref: ref(id),
    eventId,
    decide: (loaded) => {
      seen.push(loaded);
      return write(loaded);
    },
  };
  return { req, seen };
}

/**
 * `transact` (optional in the port): each request is shown what the store reads inside its
 * write transaction, and what it answers is written in that same transaction — or nothing.
 */
export function transactSpec(suite: Suite): void {
  const { describe, it, withStore, options } = suite;
  if (options.transact !== true) return;
  describe("transact: load, decide and write in one transaction", () => {
    it(
      "shows each request its entity and inbox record, and writes what it decides on them",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
        const next = request("t_a", "evt_2", (loaded) =>
          acceptedWrite("t_a", "evt_2", loaded.entity?.version ?? 0, { n: 2 }),
        );
        const fresh = request("t_b", "evt_3", (loaded) =>
          acceptedWrite("t_b", "evt_3", loaded.entity?.version ?? 0, { n: 3 }),
        );
        const again = request("t_a", "evt_1", () => undefined);
        const outcomes = await transactOf(store)([next.req, fresh.req, again.req]);
        assert.deepEqual(outcomes, [
          { kind: CommitOutcomeKind.Committed },
          { kind: CommitOutcomeKind.Committed },
          { kind: CommitOutcomeKind.Committed },
        ]);
        assert.equal(next.seen.at(-1)?.entity?.version, 1);
        assert.equal(next.seen.at(-1)?.inbox, undefined);
        assert.equal(fresh.seen.at(-1)?.entity, undefined);
        assert.equal(again.seen.at(-1)?.inbox?.eventId, "evt_1", "a known event id comes with its record");
        assert.equal((await store.getEntity(ref("t_a")))?.version, 2);
        assert.equal((await store.getEntity(ref("t_b")))?.version, 1);
      }),
    );

    it(
      "shows a later request of one batch what an earlier one wrote",
      withStore(async (store) => {
        const first = request("t_a", "evt_1", (loaded) =>
          acceptedWrite("t_a", "evt_1", loaded.entity?.version ?? 0, { n: 1 }),
        );
        const second = request("t_b", "evt_1", () => undefined);
        await transactOf(store)([first.req, second.req]);
        assert.equal(second.seen.at(-1)?.inbox?.id, "t_a", "the event id written just before is known");
      }),
    );

    it(
      "fails a request whose decision throws alone, writing nothing for it, and commits its neighbours",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
        const before = await snapshot(store, "t_a");
        const good = request("t_b", "evt_2", () => acceptedWrite("t_b", "evt_2", 0, { n: 2 }));
        const bad = request("t_a", "evt_3", () => {
          throw new Error("a bug in the machine");
        });
        const outcomes = await transactOf(store)([good.req, bad.req]);
        assert.deepEqual(outcomes[0], { kind: CommitOutcomeKind.Committed });
        assert.equal((outcomes[1] as { kind: string }).kind, CommitOutcomeKind.Failed);
        assert.deepEqual(await snapshot(store, "t_a"), { ...before, outbox: await store.listOutbox() });
        assert.equal((await store.getEntity(ref("t_b")))?.version, 1);
        assert.equal(await store.findInbox("evt_3"), undefined);
      }),
    );

    it(
      "fails alone a request whose write breaks a constraint (an intent id taken), and commits its neighbours",
      withStore(async (store) => {
        await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }]));
        const good = request("t_b", "evt_2", () => acceptedWrite("t_b", "evt_2", 0, { n: 2 }));
        // Moves t_c but names t_a's intent id: the outbox refuses the second row with that id.
        const clash = request("t_c", "evt_3", () => {
          const step = acceptedWrite("t_c", "evt_3", 0, { n: 3 }, [{ type: "Noted", n: 3 }]);
          return { ...step, outbox: [{ intentId: "tally/t_a/1/0", intent: { type: "Noted", n: 3 } }] };
        });
        const outcomes = await transactOf(store)([good.req, clash.req]);
        assert.deepEqual(outcomes[0], { kind: CommitOutcomeKind.Committed });
        assert.equal((outcomes[1] as { kind: string }).kind, CommitOutcomeKind.Failed);
        assert.equal(await store.getEntity(ref("t_c")), undefined, "the failed step wrote nothing");
        assert.equal(await store.findInbox("evt_3"), undefined);
        assert.equal((await store.getEntity(ref("t_b")))?.version, 1);
      }),
    );
  });
}
