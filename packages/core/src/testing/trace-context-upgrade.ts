import assert from "node:assert/strict";
import type { AcceptedWrite, Store } from "../ports.js";
import { CommitOutcomeKind, OutboxStatus, TimerStatus } from "../ports.js";
import { acceptedWrite } from "./step-writes.js";

// W3C Trace Context examples: a sampled and an unsampled step.
const TRACE_A = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_B = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

const COMMITTED = { kind: CommitOutcomeKind.Committed };

/** Later than every row of the fixtures and of the steps below: everything is due. */
const LATER = Date.UTC(2027, 0, 1);

/** A new step of entity `id` with one intent and one timer, traced as `traceParent` if given. */
function stepWithWork(id: string, eventId: string, traceParent?: string): AcceptedWrite {
  const write = acceptedWrite(id, eventId, 0, { n: 1 }, [{ type: "Noted", n: 1 }], [{ type: "Close" }]);
  return traceParent === undefined ? write : { ...write, traceParent };
}

/**
 * Check a store opened on a fixture of `stateNameFixtureSteps()` written before outbox rows
 * and timers kept the trace context of their step, and migrated: the old outbox row and timer
 * read back with `traceParent: null`, are claimed (with null) and settled, and the next steps —
 * a lone one, then a batch of two — keep their own traceparent, or null without one, through
 * listings and claims.
 *
 * @example
 * // `store`: your adapter's store (e.g. `@drover/sqlite`'s), opened on a copy of its fixture and migrated
 * await checkTraceContextUpgrade(store);
 */
export async function checkTraceContextUpgrade(store: Store): Promise<void> {
  assert.deepEqual(
    (await store.listOutbox()).map((row) => [row.intentId, row.status, row.traceParent]),
    [["tally/a1/1/0", OutboxStatus.Pending, null]],
  );
  assert.deepEqual(
    (await store.listTimers()).map((timer) => [timer.timerId, timer.status, timer.traceParent]),
    [["tally/b1/1/0", TimerStatus.Pending, null]],
  );
  assert.equal((await store.findOutbox("tally/a1/1/0"))?.traceParent, null);

  const claim = { owner: "o", now: LATER, leaseMs: 60_000, limit: 10 };
  assert.deepEqual(
    (await store.claimOutbox(claim)).map((row) => [row.intentId, row.traceParent]),
    [["tally/a1/1/0", null]],
  );
  assert.equal(await store.completeOutbox("tally/a1/1/0", "o", LATER), true);
  assert.deepEqual(
    (await store.claimTimers(claim)).map((timer) => [timer.timerId, timer.traceParent]),
    [["tally/b1/1/0", null]],
  );
  assert.equal(await store.completeTimer("tally/b1/1/0", "o", LATER), true);
  assert.equal((await store.findOutbox("tally/a1/1/0"))?.status, OutboxStatus.Done);
  assert.equal((await store.listTimers())[0]?.status, TimerStatus.Fired);

  assert.deepEqual(await store.commit([stepWithWork("f1", "trace_1", TRACE_A)]), [COMMITTED]);
  assert.deepEqual(await store.commit([stepWithWork("g1", "trace_2", TRACE_B), stepWithWork("h1", "trace_3")]), [
    COMMITTED,
    COMMITTED,
  ]);
  const expected = [
    ["tally/f1/1/0", TRACE_A],
    ["tally/g1/1/0", TRACE_B],
    ["tally/h1/1/0", null],
  ];
  assert.deepEqual(
    (await store.listOutbox({ status: OutboxStatus.Pending })).map((row) => [row.intentId, row.traceParent]),
    expected,
  );
  assert.deepEqual(
    (await store.claimOutbox({ ...claim, owner: "p" })).map((row) => [row.intentId, row.traceParent]),
    expected,
  );
  assert.deepEqual(
    (await store.claimTimers({ ...claim, owner: "p" })).map((timer) => [timer.timerId, timer.traceParent]),
    [
      ["tally/f1/1/1", TRACE_A],
      ["tally/g1/1/1", TRACE_B],
      ["tally/h1/1/1", null],
    ],
  );
}
