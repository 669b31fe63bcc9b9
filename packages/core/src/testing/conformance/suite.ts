import assert from "node:assert/strict";
import type { EntityRef, StepWrite, Store } from "../../ports.js";
import { CommitOutcomeKind } from "../../ports.js";
import { STEP_EPOCH } from "../step-writes.js";

/** The two functions of a test framework the suite needs (node:test, vitest, jest…). */
export interface TestApi {
  describe(name: string, fn: () => void): unknown;
  it(name: string, fn: () => Promise<void>): unknown;
}

/** How to run the conformance suite against one adapter. */
export interface ConformanceOptions extends TestApi {
  /** Shown in test names, e.g. "sqlite". */
  readonly name: string;
  /** A fresh, empty store for each test. */
  open(): Promise<Store>;
  /** Close `store` and open the same database again; enables the durability tests. */
  reopen?(store: Store): Promise<Store>;
  /**
   * Open another store on the database `store` uses, as another process would (the suite
   * closes it); enables the tests of claims across stores. A store whose data lives in its
   * own object, like the memory store, has none.
   */
  openPeer?(store: Store): Promise<Store>;
  /** The store offers `transact` (optional in the port): run its tests, which fail if it has none. */
  readonly transact?: boolean;
}

/** What each part of the suite is handed: the test API, the options and a store per test. */
export interface Suite extends TestApi {
  readonly options: ConformanceOptions;
  /** Open a store, run the body, always close. */
  withStore(body: (store: Store) => Promise<void>): () => Promise<void>;
}

export const T0 = STEP_EPOCH;

/**
 * Where the adapter offers `openPeer`: a test body runner that opens `count` more stores on
 * the database of the test's store (as other processes would) and always closes them.
 * `undefined` otherwise, so that a part of the suite registers its across-stores tests only then.
 */
export function peers(
  suite: Suite,
):
  | ((count: number, body: (store: Store, peers: readonly Store[]) => Promise<void>) => () => Promise<void>)
  | undefined {
  const { openPeer } = suite.options;
  if (openPeer === undefined) return undefined;
  return (count, body) =>
    suite.withStore(async (store) => {
      const opened: Store[] = [];
      try {
        for (let i = 0; i < count; i++) opened.push(await openPeer(store));
        await body(store, opened);
      } finally {
        await Promise.all(opened.map((peer) => peer.close()));
      }
    });
}

export async function totalOf(store: Store, tally: EntityRef): Promise<unknown> {
  const entity = await store.getEntity(tally);
  return (entity?.state as { total?: number } | undefined)?.total;
}

export function ref(id: string): EntityRef {
  return { machine: "tally", id };
}

export async function commitOk(store: Store, step: StepWrite): Promise<void> {
  const outcomes = await store.commit([step]);
  assert.deepEqual(outcomes, [{ kind: CommitOutcomeKind.Committed }], `commit of ${step.eventId}`);
}

/** Commit `steps` in one call and check that every one of them committed. */
export async function commitAll(store: Store, steps: readonly StepWrite[]): Promise<void> {
  const outcomes = await store.commit(steps);
  assert.deepEqual(
    outcomes.map((outcome) => outcome.kind),
    steps.map(() => CommitOutcomeKind.Committed),
  );
}

/** Everything the store holds about one entity, to compare before and after. */
export async function snapshot(store: Store, id: string) {
  return {
    entity: await store.getEntity(ref(id)),
    history: await store.history(ref(id)),
    outbox: await store.listOutbox(),
    timers: await store.listTimers(),
    inbox: await Promise.all((await store.history(ref(id))).map((e) => store.findInbox(e.eventId))),
  };
}
