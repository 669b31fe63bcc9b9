import assert from "node:assert/strict";
import type { Store } from "../ports.js";
import { acceptedWrite } from "./step-writes.js";

/**
 * Check a store opened on a fixture written before rows kept their schema versions (the
 * steps of `stateNameFixtureSteps()`) and migrated: every entity, journal row and timer
 * counts as version 1, the counts by state version say so, and the next steps write the
 * versions they are given — an entity moved to state version 2, a rewrite to version 3.
 *
 * @example
 * // `store`: your adapter's store (e.g. `@drover/sqlite`'s), opened on a copy of its fixture and migrated
 * await checkVersionUpgrade(store);
 */
export async function checkVersionUpgrade(store: Store): Promise<void> {
  const ids = ["a1", "b1", "c1", "d1", "e1"];
  const entities = await Promise.all(ids.map((id) => store.getEntity({ machine: "tally", id })));
  assert.deepEqual(
    entities.map((entity) => entity?.stateVersion),
    [1, 1, 1, 1, 1],
  );
  const history = await store.history({ machine: "tally", id: "a1" });
  assert.deepEqual(
    history.map((entry) => [entry.version, entry.stateVersion, entry.eventVersion]),
    [
      [1, 1, 1],
      [2, 1, 1],
    ],
  );
  assert.deepEqual(
    (await store.listTimers()).map((timer) => [timer.timerId, timer.eventVersion]),
    [["tally/b1/1/0", 1]],
  );
  assert.deepEqual(await store.countStateVersions("tally"), [{ stateVersion: 1, count: 5 }]);
  assert.equal((await store.load({ machine: "tally", id: "a1" }, "e1")).entity?.stateVersion, 1);

  const step = { ...acceptedWrite("c1", "e9", 1, { n: 6 }), stateVersion: 2, eventVersion: 2 };
  assert.deepEqual(await store.commit([step]), [{ kind: "committed" }]);
  assert.equal((await store.getEntity({ machine: "tally", id: "c1" }))?.stateVersion, 2);
  assert.deepEqual(
    (await store.history({ machine: "tally", id: "c1" })).map((entry) => [entry.stateVersion, entry.eventVersion]),
    [
      [1, 1],
      [2, 2],
    ],
  );
  const rewrite = {
    ref: { machine: "tally", id: "b1" },
    version: 1,
    state: { n: 3 },
    stateName: null,
    stateVersion: 3,
  };
  assert.deepEqual(await store.rewriteStates([rewrite]), [true]);
  assert.deepEqual(await store.countStateVersions("tally"), [
    { stateVersion: 1, count: 3 },
    { stateVersion: 2, count: 1 },
    { stateVersion: 3, count: 1 },
  ]);
}
