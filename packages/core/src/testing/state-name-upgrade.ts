import assert from "node:assert/strict";
import type { StepWrite, Store } from "../ports.js";
import { acceptedWrite, rejectionWrite } from "./step-writes.js";

/**
 * The steps that wrote the stores' fixtures of the schema before entities kept their state's
 * name (`@drover/sqlite`'s `test-fixtures/schema-v2.db.gz`, `@drover/postgres`'s
 * `test-fixtures/schema-v1.sql.gz`), committed one by one: entities named by `status`, by
 * `state`, by neither, a non-object state and a `status` that is no string, a journal, an
 * inbox with one rejection, one outbox row and one timer. The fixtures were written by the
 * code of that schema version; never rewrite them, add a fixture for the next version instead.
 */
export function stateNameFixtureSteps(): StepWrite[] {
  return [
    acceptedWrite("a1", "e1", 0, { status: "open", n: 1 }, [{ type: "Ping", n: 1 }]),
    acceptedWrite("a1", "e2", 1, { status: "closed", n: 2 }),
    acceptedWrite("b1", "e3", 0, { state: "idle", n: 3 }, [], [{ type: "Add", n: 1 }]),
    acceptedWrite("c1", "e4", 0, { n: 4 }),
    acceptedWrite("d1", "e5", 0, 5),
    acceptedWrite("e1", "e6", 0, { status: 7, state: "open" }),
    rejectionWrite("a1", "e7", 2, "too_many"),
  ];
}

/**
 * Check a store opened on a fixture of {@link stateNameFixtureSteps} and migrated: every row
 * kept, each entity named by the default convention (`status`, then `state`), lists and
 * counts by state name reading the new column.
 *
 * @example
 * // `store`: your adapter's store (e.g. `@drover/sqlite`'s), opened on a copy of its fixture and migrated
 * await checkStateNameUpgrade(store);
 */
export async function checkStateNameUpgrade(store: Store): Promise<void> {
  const names = await Promise.all(
    ["a1", "b1", "c1", "d1", "e1"].map(async (id) => {
      const entity = await store.getEntity({ machine: "tally", id });
      return [id, entity?.version, entity?.stateName];
    }),
  );
  assert.deepEqual(names, [
    ["a1", 2, "closed"],
    ["b1", 1, "idle"],
    ["c1", 1, null],
    ["d1", 1, null],
    // `status` is not a string here, so the `state` member names it.
    ["e1", 1, "open"],
  ]);
  assert.deepEqual(await store.countEntities("tally"), [
    { stateName: "closed", count: 1 },
    { stateName: "idle", count: 1 },
    { stateName: "open", count: 1 },
    { stateName: null, count: 2 },
  ]);
  assert.deepEqual(
    (await store.listEntities("tally", { limit: 10, stateName: "idle" })).map((e) => e.id),
    ["b1"],
  );
  assert.deepEqual(
    (await store.history({ machine: "tally", id: "a1" })).map((e) => [e.version, e.eventId, e.state]),
    [
      [1, "e1", { status: "open", n: 1 }],
      [2, "e2", { status: "closed", n: 2 }],
    ],
  );
  assert.equal((await store.findInbox("e7"))?.result.kind, "rejected");
  assert.deepEqual(
    (await store.listOutbox()).map((row) => [row.intentId, row.status]),
    [["tally/a1/1/0", "pending"]],
  );
  assert.deepEqual(
    (await store.listTimers()).map((row) => [row.timerId, row.status]),
    [["tally/b1/1/0", "pending"]],
  );
}

/**
 * Check that a store migrated from a fixture of {@link stateNameFixtureSteps} keeps working:
 * it loads an old entity with its inbox record, the next step writes the machine's name, and
 * the old outbox row is claimed.
 */
export async function checkWritesAfterStateNameUpgrade(store: Store): Promise<void> {
  const loaded = await store.load({ machine: "tally", id: "b1" }, "e3");
  assert.equal(loaded.entity?.stateName, "idle");
  assert.equal(loaded.inbox?.eventId, "e3");
  const step = { ...acceptedWrite("c1", "e8", 1, { n: 5 }), stateName: "counted" };
  assert.deepEqual(await store.commit([step]), [{ kind: "committed" }]);
  assert.equal((await store.getEntity({ machine: "tally", id: "c1" }))?.stateName, "counted");
  const claimed = await store.claimOutbox({ owner: "o", now: Date.UTC(2027, 0, 1), leaseMs: 1000, limit: 10 });
  assert.deepEqual(
    claimed.map((row) => row.intentId),
    ["tally/a1/1/0"],
  );
}
