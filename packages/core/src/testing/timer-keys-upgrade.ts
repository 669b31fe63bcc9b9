import assert from "node:assert/strict";
import type { Store, TimerRecord } from "../ports.js";
import { CommitOutcomeKind, OutboxStatus, TimerStatus } from "../ports.js";
import { timerWrite } from "./step-writes.js";

/** Later than every row of the fixtures and of the steps below: everything is due. */
const LATER = Date.UTC(2027, 0, 1);

const COMMITTED = [{ kind: CommitOutcomeKind.Committed }];

const B1 = { machine: "tally", id: "b1" };

/** Each timer as `[timer id, key, status]`. */
const keyed = (timers: readonly TimerRecord[]) => timers.map((timer) => [timer.timerId, timer.key, timer.status]);

/**
 * Check a store opened on a fixture of `stateNameFixtureSteps()` written before timers had
 * keys and intent types could be paused, and migrated: the old timer reads back with
 * `key: null`, is listed, found, counted, claimed and fired; the old outbox row waits while its
 * intent type is paused and runs once resumed; new steps set keyed timers, replace and cancel
 * them; a timer given up on is dead until revived; slots and tokens work.
 *
 * @example
 * // `store`: your adapter's store (e.g. `@drover/sqlite`'s), opened on a copy of its fixture and migrated
 * await checkTimerKeysUpgrade(store);
 */
export async function checkTimerKeysUpgrade(store: Store): Promise<void> {
  const old = await store.findTimer("tally/b1/1/0");
  assert.deepEqual([old?.key, old?.status, old?.attempts, old?.entityId], [null, TimerStatus.Pending, 0, "b1"]);
  assert.deepEqual(keyed(await store.listTimers({ entity: B1, status: TimerStatus.Pending })), [
    ["tally/b1/1/0", null, TimerStatus.Pending],
  ]);
  assert.deepEqual(await store.timerStats(), { pending: 1, fired: 0, cancelled: 0, dead: 0 });
  assert.deepEqual(await store.listPausedIntentTypes(), []);

  const claim = { owner: "o", now: LATER, leaseMs: 60_000, limit: 10 };
  assert.equal(await store.pauseIntentType("Ping", LATER), true);
  assert.deepEqual(await store.claimOutbox(claim), []);
  const waiting = await store.findOutbox("tally/a1/1/0");
  assert.deepEqual([waiting?.status, waiting?.attempts, waiting?.leaseOwner], [OutboxStatus.Pending, 0, null]);
  assert.equal(await store.resumeIntentType("Ping"), true);
  assert.deepEqual(
    (await store.claimOutbox(claim)).map((row) => [row.intentId, row.attempts]),
    [["tally/a1/1/0", 1]],
  );
  assert.equal(await store.completeOutbox("tally/a1/1/0", "o", LATER), true);

  assert.deepEqual(
    (await store.claimTimers(claim)).map((timer) => [timer.timerId, timer.key]),
    [["tally/b1/1/0", null]],
  );
  assert.equal(await store.completeTimer("tally/b1/1/0", "o", LATER), true);

  // b1 is at version 1: a keyed timer and another, then a replacement of the first and a cancel.
  const remind = (n: number) => ({ timerId: `tally/b1/remind/${n}`, dueAt: LATER, key: "remind" });
  assert.deepEqual(
    await store.commit([
      timerWrite("b1", 10, 1, [remind(1), { timerId: "tally/b1/expire", dueAt: LATER, key: "expire" }]),
    ]),
    COMMITTED,
  );
  assert.deepEqual(await store.commit([timerWrite("b1", 11, 2, [remind(2)], ["expire"])]), COMMITTED);
  assert.deepEqual(keyed(await store.listTimers({ entity: B1 })), [
    ["tally/b1/1/0", null, TimerStatus.Fired],
    ["tally/b1/expire", "expire", TimerStatus.Cancelled],
    ["tally/b1/remind/1", "remind", TimerStatus.Cancelled],
    ["tally/b1/remind/2", "remind", TimerStatus.Pending],
  ]);

  const given = { ...claim, owner: "p" };
  assert.deepEqual(
    (await store.claimTimers(given)).map((timer) => timer.timerId),
    ["tally/b1/remind/2"],
  );
  assert.equal(await store.failTimer("tally/b1/remind/2", "p", { error: "gave up", now: LATER, retryAt: null }), true);
  assert.deepEqual(await store.claimTimers(given), []);
  assert.equal(await store.retryDeadTimer("tally/b1/remind/2", LATER), true);
  const [revived] = await store.claimTimers(given);
  assert.deepEqual([revived?.timerId, revived?.attempts, revived?.lastError], ["tally/b1/remind/2", 1, "gave up"]);
  assert.equal(await store.completeTimer("tally/b1/remind/2", "p", LATER), true);
  assert.deepEqual(await store.timerStats(), { pending: 0, fired: 2, cancelled: 2, dead: 0 });

  const slot = (holder: string) => ({ key: "k", limit: 1, holder, owner: "p", now: LATER, leaseMs: 1000 });
  assert.equal(await store.acquireSlot(slot("h1")), true);
  assert.equal(await store.acquireSlot(slot("h2")), false);
  await store.releaseSlot("k", "h1");
  assert.equal(await store.acquireSlot(slot("h2")), true);
  const token = { key: "k", perSecond: 1, now: LATER };
  assert.deepEqual([await store.takeToken(token), await store.takeToken(token)], [0, 1000]);
}
