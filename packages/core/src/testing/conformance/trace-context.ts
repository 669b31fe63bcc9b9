import assert from "node:assert/strict";
import type { AcceptedWrite, Store } from "../../ports.js";
import { CommitOutcomeKind, OutboxStatus } from "../../ports.js";
import { acceptedWrite, rejectionWrite } from "../step-writes.js";
import type { Suite } from "./suite.js";
import { commitOk, ref, T0 } from "./suite.js";

// W3C Trace Context examples: a sampled and an unsampled step.
const TRACE_A = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_B = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

/** The timers of {@link acceptedWrite} are due a minute after the epoch: claims then see everything. */
const DUE = T0 + 60_000;

/** Step `eventNo` of entity `id` from `expectedVersion`, with two intents and a timer, traced as `traceParent`. */
function tracedWrite(id: string, eventNo: number, expectedVersion: number, traceParent?: string): AcceptedWrite {
  const write = acceptedWrite(
    id,
    `evt_${eventNo}`,
    expectedVersion,
    { n: eventNo },
    [
      { type: "Noted", n: 1 },
      { type: "Noted", n: 2 },
    ],
    [{ type: "Close" }],
  );
  return traceParent === undefined ? write : { ...write, traceParent };
}

/** Each outbox row and timer of the store as `[id, traceParent]`, in listing order. */
async function tracesOf(store: Store) {
  return {
    outbox: (await store.listOutbox()).map((row) => [row.intentId, row.traceParent]),
    timers: (await store.listTimers()).map((timer) => [timer.timerId, timer.traceParent]),
  };
}

/**
 * Trace context: the `traceparent` of the step that decided an intent or a timer is stored
 * with its row and comes back with every read and every claim, so that the dispatcher's
 * attempt and the timer's firing continue the step's trace, later and in another process.
 * Stores keep it as an opaque string.
 */
export function traceContextSpec(suite: Suite): void {
  const { describe, it, withStore, options } = suite;
  describe("trace context", () => {
    it(
      "keeps a step's traceparent with each of its outbox rows and timers, through reads, claims and retries",
      withStore(async (store) => {
        await commitOk(store, tracedWrite("t_a", 1, 0, TRACE_A));
        assert.deepEqual(await tracesOf(store), {
          outbox: [
            ["tally/t_a/1/0", TRACE_A],
            ["tally/t_a/1/1", TRACE_A],
          ],
          timers: [["tally/t_a/1/2", TRACE_A]],
        });
        assert.equal((await store.findOutbox("tally/t_a/1/1"))?.traceParent, TRACE_A);
        assert.equal((await store.listOutbox({ status: OutboxStatus.Pending, limit: 1 }))[0]?.traceParent, TRACE_A);

        const claim = { owner: "w1", now: DUE, leaseMs: 1000, limit: 10 };
        const [first] = await store.claimOutbox(claim);
        assert.deepEqual([first?.intentId, first?.traceParent], ["tally/t_a/1/0", TRACE_A]);
        const failure = { error: "boom", now: DUE, retryAt: DUE + 5 };
        assert.equal(await store.failOutbox("tally/t_a/1/0", "w1", failure), true);
        const [retried] = await store.claimOutbox({ ...claim, owner: "w2", now: DUE + 5 });
        assert.deepEqual([retried?.intentId, retried?.traceParent], ["tally/t_a/1/0", TRACE_A]);
        assert.equal(await store.completeOutbox("tally/t_a/1/0", "w2", DUE + 5), true);
        const [second] = await store.claimOutbox({ ...claim, now: DUE + 5 });
        assert.deepEqual([second?.intentId, second?.traceParent], ["tally/t_a/1/1", TRACE_A]);

        const [timer] = await store.claimTimers(claim);
        assert.deepEqual([timer?.timerId, timer?.traceParent], ["tally/t_a/1/2", TRACE_A]);
        assert.equal(await store.failTimer("tally/t_a/1/2", "w1", failure), true);
        const [again] = await store.claimTimers({ ...claim, now: DUE + 5 });
        assert.equal(again?.traceParent, TRACE_A);

        if (options.reopen !== undefined) {
          const reopened = await options.reopen(store);
          try {
            assert.equal((await reopened.findOutbox("tally/t_a/1/1"))?.traceParent, TRACE_A);
            assert.equal((await reopened.listTimers())[0]?.traceParent, TRACE_A);
          } finally {
            await reopened.close();
          }
        }
      }),
    );

    it(
      "stores null for the rows of a step without one, and claims hand null over",
      withStore(async (store) => {
        await commitOk(store, tracedWrite("t_a", 1, 0));
        assert.deepEqual(await tracesOf(store), {
          outbox: [
            ["tally/t_a/1/0", null],
            ["tally/t_a/1/1", null],
          ],
          timers: [["tally/t_a/1/2", null]],
        });
        assert.equal((await store.findOutbox("tally/t_a/1/0"))?.traceParent, null);
        const claim = { owner: "w1", now: DUE, leaseMs: 1000, limit: 10 };
        assert.deepEqual(
          (await store.claimOutbox(claim)).map((row) => row.traceParent),
          [null],
        );
        assert.deepEqual(
          (await store.claimTimers(claim)).map((timer) => timer.traceParent),
          [null],
        );
      }),
    );

    it(
      "keeps each step of a batch its own traceparent, rejections and untraced steps among them",
      withStore(async (store) => {
        const outcomes = await store.commit([
          tracedWrite("t_a", 1, 0, TRACE_A),
          rejectionWrite("t_z", "evt_2", 0, "refused"),
          tracedWrite("t_b", 3, 0, TRACE_B),
          tracedWrite("t_c", 4, 0),
          tracedWrite("t_a", 5, 1, TRACE_B),
        ]);
        assert.deepEqual(
          outcomes.map((outcome) => outcome.kind),
          Array.from({ length: 5 }, () => CommitOutcomeKind.Committed),
        );
        assert.deepEqual(await tracesOf(store), {
          outbox: [
            ["tally/t_a/1/0", TRACE_A],
            ["tally/t_a/1/1", TRACE_A],
            ["tally/t_b/1/0", TRACE_B],
            ["tally/t_b/1/1", TRACE_B],
            ["tally/t_c/1/0", null],
            ["tally/t_c/1/1", null],
            ["tally/t_a/2/0", TRACE_B],
            ["tally/t_a/2/1", TRACE_B],
          ],
          // All due at once: listed by timer id.
          timers: [
            ["tally/t_a/1/2", TRACE_A],
            ["tally/t_a/2/2", TRACE_B],
            ["tally/t_b/1/2", TRACE_B],
            ["tally/t_c/1/2", null],
          ],
        });
        const claim = { owner: "w1", now: DUE, leaseMs: 1000, limit: 10 };
        assert.deepEqual(
          (await store.claimOutbox(claim)).map((row) => [row.intentId, row.traceParent]),
          [
            ["tally/t_a/1/0", TRACE_A],
            ["tally/t_b/1/0", TRACE_B],
            ["tally/t_c/1/0", null],
          ],
        );
        assert.deepEqual(
          (await store.claimTimers(claim)).map((timer) => [timer.timerId, timer.traceParent]),
          [
            ["tally/t_a/1/2", TRACE_A],
            ["tally/t_b/1/2", TRACE_B],
            ["tally/t_c/1/2", null],
            ["tally/t_a/2/2", TRACE_B],
          ],
        );
      }),
    );

    if (options.transact === true) {
      it(
        "keeps the traceparent of a step written by transact",
        withStore(async (store) => {
          const transact = store.transact?.bind(store);
          assert.ok(transact !== undefined, "the options say this store offers transact");
          const outcomes = await transact([
            { ref: ref("t_a"), eventId: "evt_1", decide: () => tracedWrite("t_a", 1, 0, TRACE_A) },
            { ref: ref("t_b"), eventId: "evt_2", decide: () => tracedWrite("t_b", 2, 0) },
          ]);
          assert.deepEqual(outcomes, [{ kind: CommitOutcomeKind.Committed }, { kind: CommitOutcomeKind.Committed }]);
          assert.deepEqual((await tracesOf(store)).timers, [
            ["tally/t_a/1/2", TRACE_A],
            ["tally/t_b/1/2", null],
          ]);
          assert.deepEqual(
            (await store.listOutbox()).map((row) => row.traceParent),
            [TRACE_A, TRACE_A, null, null],
          );
        }),
      );
    }
  });
}
