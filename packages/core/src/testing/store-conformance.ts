import assert from "node:assert/strict";
import { StoreUnavailableError } from "../errors.js";
import type { Json } from "../json.js";
import type { AcceptedWrite, EntityRef, StepWrite, Store } from "../ports.js";
import { CommitOutcomeKind, OutboxStatus, TimerStatus } from "../ports.js";
import { RunResultKind } from "../result.js";
import { Runtime } from "../runtime.js";
import { acceptedWrite, rejectionWrite, STEP_EPOCH } from "./step-writes.js";
import { tallyMachine } from "./tally-machine.js";

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
}

const T0 = STEP_EPOCH;

/**
 * The shared specification of a {@link Store}: every adapter runs it against its real
 * backend. It checks the step's atomicity, the version check, inbox dedupe, outbox and
 * journal order, and that several steps in one commit stay independent.
 *
 * @example
 * import { describe, it } from "node:test";
 * runStoreConformance({ name: "memory", open: async () => new MemoryStore(), describe, it });
 */
export function runStoreConformance(options: ConformanceOptions): void {
  const { describe, it } = options;

  /** Open a store, run the body, always close. */
  const withStore = (body: (store: Store) => Promise<void>) => async () => {
    const store = await options.open();
    try {
      await body(store);
    } finally {
      await store.close();
    }
  };

  describe(`Store conformance: ${options.name}`, () => {
    describe("load and create", () => {
      it(
        "loads nothing for an unknown entity and an unseen event id",
        withStore(async (store) => {
          const loaded = await store.load(ref("t_nobody"), "evt_unseen");
          assert.equal(loaded.entity, undefined);
          assert.equal(loaded.inbox, undefined);
          assert.equal(await store.getEntity(ref("t_nobody")), undefined);
          assert.deepEqual(await store.history(ref("t_nobody")), []);
        }),
      );

      it(
        "creates an entity at version 1 with its journal, inbox, outbox and timer rows",
        withStore(async (store) => {
          const step = acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }], [{ type: "Close" }]);
          assert.deepEqual(await store.commit([step]), [{ kind: CommitOutcomeKind.Committed }]);

          const loaded = await store.load(ref("t_a"), "evt_1");
          assert.deepEqual(loaded.entity, {
            machine: "tally",
            id: "t_a",
            version: 1,
            state: { n: 1 },
            createdAt: T0 + 1,
            updatedAt: T0 + 1,
          });
          assert.deepEqual(loaded.inbox, {
            eventId: "evt_1",
            machine: "tally",
            id: "t_a",
            fingerprint: "fp:evt_1",
            result: step.result,
            at: T0 + 1,
          });
          assert.deepEqual(await store.history(ref("t_a")), [
            {
              machine: "tally",
              id: "t_a",
              version: 1,
              eventId: "evt_1",
              event: step.event,
              state: { n: 1 },
              intents: step.intents,
              at: T0 + 1,
            },
          ]);
          assert.deepEqual(await store.listOutbox(), [
            {
              intentId: "tally/t_a/1/0",
              machine: "tally",
              entityId: "t_a",
              intent: { type: "Noted", n: 1 },
              status: OutboxStatus.Pending,
              attempts: 0,
              nextAttemptAt: T0 + 1,
              leaseOwner: null,
              leaseUntil: null,
              lastError: null,
              createdAt: T0 + 1,
            },
          ]);
          assert.deepEqual(await store.listTimers(), [
            {
              timerId: "tally/t_a/1/1",
              machine: "tally",
              entityId: "t_a",
              event: { type: "Close" },
              dueAt: T0 + 60_000,
              status: TimerStatus.Pending,
              attempts: 0,
              nextAttemptAt: T0 + 60_000,
              leaseOwner: null,
              leaseUntil: null,
              lastError: null,
            },
          ]);
        }),
      );

      it(
        "updates at the expected version, keeps createdAt and moves updatedAt",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
          await commitOk(store, acceptedWrite("t_a", "evt_2", 1, { n: 2 }));
          const entity = await store.getEntity(ref("t_a"));
          assert.equal(entity?.version, 2);
          assert.deepEqual(entity?.state, { n: 2 });
          assert.equal(entity?.createdAt, T0 + 1);
          assert.equal(entity?.updatedAt, T0 + 2);
        }),
      );

      it(
        "round-trips JSON state faithfully (unicode, nesting, large safe integers, empty values)",
        withStore(async (store) => {
          const state = {
            text: 'héllo ✓ 😀 \u0000 quote" back\\slash',
            nested: { list: [1, [2, { deep: true }], null], empty: {}, none: [] },
            big: Number.MAX_SAFE_INTEGER,
            negative: -42,
          };
          await commitOk(store, acceptedWrite("t_json", "evt_j", 0, state));
          assert.deepEqual((await store.getEntity(ref("t_json")))?.state, state);
        }),
      );

      it(
        "hands out copies: changing a returned value does not change the store",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1, list: [1] }));
          const first = await store.getEntity(ref("t_a"));
          (first?.state as { n: number }).n = 99;
          const history = await store.history(ref("t_a"));
          (history[0]?.state as { n: number }).n = 99;
          assert.deepEqual((await store.getEntity(ref("t_a")))?.state, { n: 1, list: [1] });
          assert.deepEqual((await store.history(ref("t_a")))[0]?.state, { n: 1, list: [1] });
        }),
      );
    });

    describe("life cycle", () => {
      it(
        "answers an empty commit with no outcomes",
        withStore(async (store) => {
          assert.deepEqual(await store.commit([]), []);
        }),
      );

      it("refuses work after close with StoreUnavailableError, and closes twice quietly", async () => {
        const store = await options.open();
        await store.close();
        await store.close();
        await assert.rejects(store.load(ref("t_a"), "evt_1"), StoreUnavailableError);
        await assert.rejects(store.commit([acceptedWrite("t_a", "evt_1", 0, {})]), StoreUnavailableError);
        await assert.rejects(store.getEntity(ref("t_a")), StoreUnavailableError);
      });
    });

    describe("version check", () => {
      it(
        "refuses a stale expected version with conflict and writes nothing",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
          await commitOk(store, acceptedWrite("t_a", "evt_2", 1, { n: 2 }));
          const before = await snapshot(store, "t_a");
          const outcomes = await store.commit([acceptedWrite("t_a", "evt_3", 1, { n: 3 }, [{ type: "Noted", n: 3 }])]);
          assert.deepEqual(outcomes, [{ kind: CommitOutcomeKind.Conflict, currentVersion: 2 }]);
          assert.deepEqual(await snapshot(store, "t_a"), before);
          assert.equal(await store.findInbox("evt_3"), undefined);
        }),
      );

      it(
        "refuses to create an entity that already exists",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
          const before = await snapshot(store, "t_a");
          const outcomes = await store.commit([acceptedWrite("t_a", "evt_2", 0, { n: 9 })]);
          assert.deepEqual(outcomes, [{ kind: CommitOutcomeKind.Conflict, currentVersion: 1 }]);
          assert.deepEqual(await snapshot(store, "t_a"), before);
        }),
      );

      it(
        "refuses an update of an entity that does not exist",
        withStore(async (store) => {
          const outcomes = await store.commit([acceptedWrite("t_ghost", "evt_1", 3, { n: 1 })]);
          assert.deepEqual(outcomes, [{ kind: CommitOutcomeKind.Conflict, currentVersion: 0 }]);
          assert.equal(await store.getEntity(ref("t_ghost")), undefined);
          assert.equal(await store.findInbox("evt_1"), undefined);
        }),
      );
    });

    describe("inbox", () => {
      it(
        "answers a known event id with duplicate and the original record, and writes nothing",
        withStore(async (store) => {
          const first = acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }]);
          await commitOk(store, first);
          const before = await snapshot(store, "t_a");
          // Same event id, decided again on the current version: still a duplicate.
          const outcomes = await store.commit([acceptedWrite("t_a", "evt_1", 1, { n: 2 }, [{ type: "Noted", n: 2 }])]);
          assert.equal(outcomes[0]?.kind, CommitOutcomeKind.Duplicate);
          assert.deepEqual(
            outcomes[0]?.kind === CommitOutcomeKind.Duplicate && outcomes[0].record.result,
            first.result,
          );
          assert.deepEqual(await snapshot(store, "t_a"), before);
          assert.equal((await store.load(ref("t_a"), "evt_1")).inbox?.fingerprint, "fp:evt_1");
        }),
      );

      it(
        "records a rejection in the inbox only",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
          const before = await snapshot(store, "t_a");
          const refusal = rejectionWrite("t_a", "evt_2", 1, "closed");
          await commitOk(store, refusal);
          const after = await snapshot(store, "t_a");
          assert.deepEqual({ ...after, inbox: before.inbox }, before);
          assert.deepEqual((await store.findInbox("evt_2"))?.result, refusal.result);
        }),
      );

      it(
        "records a rejection only while the version it was decided on holds",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
          await commitOk(store, acceptedWrite("t_a", "evt_2", 1, { n: 2 }));
          const outcomes = await store.commit([rejectionWrite("t_a", "evt_3", 1, "closed")]);
          assert.deepEqual(outcomes, [{ kind: CommitOutcomeKind.Conflict, currentVersion: 2 }]);
          assert.equal(await store.findInbox("evt_3"), undefined);
        }),
      );

      it(
        "records a rejection of a creating event for an entity that does not exist",
        withStore(async (store) => {
          await commitOk(store, rejectionWrite("t_new", "evt_1", 0, "limit_exceeded"));
          assert.equal(await store.getEntity(ref("t_new")), undefined);
          assert.equal((await store.findInbox("evt_1"))?.result.kind, RunResultKind.Rejected);
        }),
      );
    });

    describe("one commit, several steps", () => {
      it(
        "applies several steps of one entity in order with consecutive versions",
        withStore(async (store) => {
          const outcomes = await store.commit([
            acceptedWrite("t_a", "evt_1", 0, { n: 1 }),
            acceptedWrite("t_a", "evt_2", 1, { n: 2 }),
            acceptedWrite("t_b", "evt_3", 0, { n: 3 }),
            acceptedWrite("t_a", "evt_4", 2, { n: 4 }),
          ]);
          assert.deepEqual(
            outcomes.map((o) => o.kind),
            ["committed", "committed", "committed", "committed"],
          );
          assert.deepEqual(
            (await store.history(ref("t_a"))).map((e) => [e.version, e.eventId]),
            [
              [1, "evt_1"],
              [2, "evt_2"],
              [3, "evt_4"],
            ],
          );
        }),
      );

      it(
        "fails a step whose save breaks a constraint as a whole, and commits its neighbours",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }));
          const before = await snapshot(store, "t_a");
          // Two intents with one id: the outbox insert of the second fails after the entity
          // update, journal and inbox rows of the step were written. All must roll back.
          const broken: AcceptedWrite = {
            ...acceptedWrite("t_a", "evt_2", 1, { n: 2 }, [{ type: "Noted", n: 2 }]),
            outbox: [
              { intentId: "tally/t_a/2/0", intent: { type: "Noted", n: 2 } },
              { intentId: "tally/t_a/2/0", intent: { type: "Noted", n: 2 } },
            ],
          };
          const outcomes = await store.commit([
            acceptedWrite("t_b", "evt_b1", 0, { n: 10 }, [{ type: "Noted", n: 10 }]),
            broken,
            acceptedWrite("t_c", "evt_c1", 0, { n: 20 }, [{ type: "Noted", n: 20 }]),
          ]);
          assert.deepEqual(
            outcomes.map((o) => o.kind),
            ["committed", "failed", "committed"],
          );
          const after = await snapshot(store, "t_a");
          assert.deepEqual(
            [after.entity, after.history, after.inbox, after.timers],
            [before.entity, before.history, before.inbox, before.timers],
          );
          assert.equal(await store.findInbox("evt_2"), undefined);
          assert.equal((await store.getEntity(ref("t_b")))?.version, 1);
          assert.equal((await store.getEntity(ref("t_c")))?.version, 1);
          assert.deepEqual(
            (await store.listOutbox()).map((row) => row.intentId),
            ["tally/t_b/1/0", "tally/t_c/1/0"],
          );
        }),
      );

      it(
        "fails a step that clashes with an existing outbox row and leaves no trace of it",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }]));
          const clash: AcceptedWrite = {
            ...acceptedWrite("t_z", "evt_z", 0, { n: 5 }),
            outbox: [{ intentId: "tally/t_a/1/0", intent: { type: "Noted", n: 5 } }],
          };
          const [outcome] = await store.commit([clash]);
          assert.equal(outcome?.kind, CommitOutcomeKind.Failed);
          assert.equal(await store.getEntity(ref("t_z")), undefined);
          assert.deepEqual(await store.history(ref("t_z")), []);
          assert.equal(await store.findInbox("evt_z"), undefined);
          assert.equal((await store.listOutbox()).length, 1);
        }),
      );
    });

    describe("ordering and listing", () => {
      it(
        "lists outbox rows in commit order, intents of a step in index order",
        withStore(async (store) => {
          await commitOk(
            store,
            acceptedWrite("t_b", "evt_1", 0, {}, [
              { type: "X", i: 0 },
              { type: "X", i: 1 },
              { type: "X", i: 2 },
            ]),
          );
          await commitOk(store, acceptedWrite("t_a", "evt_2", 0, {}, [{ type: "X", i: 3 }]));
          await commitOk(
            store,
            acceptedWrite("t_b", "evt_3", 1, {}, [
              { type: "X", i: 4 },
              { type: "X", i: 5 },
            ]),
          );
          const rows = await store.listOutbox();
          assert.deepEqual(
            rows.map((row) => (row.intent as { i: number }).i),
            [0, 1, 2, 3, 4, 5],
          );
          assert.deepEqual(
            rows.map((row) => row.intentId),
            ["tally/t_b/1/0", "tally/t_b/1/1", "tally/t_b/1/2", "tally/t_a/1/0", "tally/t_b/2/0", "tally/t_b/2/1"],
          );
          assert.equal((await store.listOutbox({ limit: 2 })).length, 2);
          assert.equal((await store.listOutbox({ status: OutboxStatus.Pending })).length, 6);
          assert.equal((await store.listOutbox({ status: OutboxStatus.Dead })).length, 0);
        }),
      );

      it(
        "finds one outbox row by intent id and counts rows by status",
        withStore(async (store) => {
          assert.deepEqual(await store.outboxStats(), { pending: 0, done: 0, dead: 0 });
          await commitOk(
            store,
            acceptedWrite("t_a", "evt_1", 0, {}, [
              { type: "X", i: 0 },
              { type: "X", i: 1 },
            ]),
          );
          await commitOk(store, acceptedWrite("t_b", "evt_2", 0, {}, [{ type: "X", i: 2 }]));
          assert.deepEqual((await store.findOutbox("tally/t_a/1/1"))?.intent, { type: "X", i: 1 });
          assert.equal(await store.findOutbox("tally/t_a/1/9"), undefined);
          await store.claimOutbox({ owner: "w", now: T0 + 10, leaseMs: 100, limit: 10 });
          await store.completeOutbox("tally/t_a/1/0", "w", T0 + 11);
          await store.failOutbox("tally/t_b/1/0", "w", { error: "x", now: T0 + 11, retryAt: null });
          assert.deepEqual(await store.outboxStats(), { pending: 1, done: 1, dead: 1 });
        }),
      );

      it(
        "returns an entity's journal oldest first",
        withStore(async (store) => {
          for (let v = 0; v < 12; v++) await commitOk(store, acceptedWrite("t_a", `evt_${v}`, v, { n: v }));
          const history = await store.history(ref("t_a"));
          assert.deepEqual(
            history.map((entry) => entry.version),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
          );
          assert.deepEqual(
            history.map((entry) => entry.eventId),
            Array.from({ length: 12 }, (_, v) => `evt_${v}`),
          );
        }),
      );

      it(
        "pages entities of one machine by id with a cursor",
        withStore(async (store) => {
          for (const id of ["t_d", "t_a", "t_c", "t_b", "t_e"])
            await commitOk(store, acceptedWrite(id, `evt_${id}`, 0, {}));
          await commitOk(store, { ...acceptedWrite("t_x", "evt_other", 0, {}), ref: { machine: "other", id: "t_x" } });
          const first = await store.listEntities("tally", { limit: 2 });
          assert.deepEqual(
            first.map((e) => e.id),
            ["t_a", "t_b"],
          );
          const second = await store.listEntities("tally", { limit: 2, after: "t_b" });
          assert.deepEqual(
            second.map((e) => e.id),
            ["t_c", "t_d"],
          );
          const last = await store.listEntities("tally", { limit: 2, after: "t_d" });
          assert.deepEqual(
            last.map((e) => e.id),
            ["t_e"],
          );
          assert.deepEqual(await store.listEntities("tally", { limit: 2, after: "t_e" }), []);
        }),
      );

      it(
        "filters listed entities by id prefix and by the state's status, with the cursor",
        withStore(async (store) => {
          const states: [string, Json][] = [
            ["t_aa", { status: "open" }],
            ["t_ab", { status: "closed" }],
            ["t_ac", { status: "open" }],
            ["t_b", { status: "open" }],
            ["t_ba", { status: 7 }],
            ["t_c", ["open"]],
          ];
          for (const [id, state] of states) await commitOk(store, acceptedWrite(id, `evt_${id}`, 0, state));
          await commitOk(store, {
            ...acceptedWrite("t_ad", "evt_other", 0, { status: "open" }),
            ref: { machine: "other", id: "t_ad" },
          });
          const ids = async (query: { limit: number; after?: string; idPrefix?: string; status?: string }) =>
            (await store.listEntities("tally", query)).map((e) => e.id);
          assert.deepEqual(await ids({ limit: 10, idPrefix: "t_a" }), ["t_aa", "t_ab", "t_ac"]);
          assert.deepEqual(await ids({ limit: 10, idPrefix: "t_a", after: "t_aa" }), ["t_ab", "t_ac"]);
          assert.deepEqual(await ids({ limit: 10, idPrefix: "t_b" }), ["t_b", "t_ba"]);
          assert.deepEqual(await ids({ limit: 10, idPrefix: "t_%" }), [], "LIKE wildcards are plain characters");
          assert.deepEqual(await ids({ limit: 10, idPrefix: "t__" }), []);
          assert.deepEqual(await ids({ limit: 10, status: "open" }), ["t_aa", "t_ac", "t_b"]);
          assert.deepEqual(await ids({ limit: 1, status: "open", after: "t_aa" }), ["t_ac"]);
          assert.deepEqual(await ids({ limit: 10, status: "open", idPrefix: "t_a" }), ["t_aa", "t_ac"]);
          assert.deepEqual(await ids({ limit: 10, status: "7" }), [], "only string statuses match");
        }),
      );

      it(
        "counts a machine's entities by the state's status, no status last",
        withStore(async (store) => {
          assert.deepEqual(await store.countEntities("tally"), []);
          const states: [string, Json][] = [
            ["t_a", { status: "open" }],
            ["t_b", { status: "closed" }],
            ["t_c", { status: "open" }],
            ["t_d", { total: 1 }],
            ["t_e", { status: 3 }],
          ];
          for (const [id, state] of states) await commitOk(store, acceptedWrite(id, `evt_${id}`, 0, state));
          await commitOk(store, acceptedWrite("t_b", "evt_t_b2", 1, { status: "open" }));
          await commitOk(store, {
            ...acceptedWrite("t_x", "evt_other", 0, { status: "closed" }),
            ref: { machine: "other", id: "t_x" },
          });
          assert.deepEqual(await store.countEntities("tally"), [
            { status: "open", count: 3 },
            { status: null, count: 2 },
          ]);
          assert.deepEqual(await store.countEntities("other"), [{ status: "closed", count: 1 }]);
          assert.deepEqual(await store.countEntities("nobody"), []);
        }),
      );

      it(
        "lists timers soonest first",
        withStore(async (store) => {
          await commitOk(store, {
            ...acceptedWrite("t_a", "evt_1", 0, {}),
            timers: [
              { timerId: "tally/t_a/1/0", event: { type: "Close" }, dueAt: T0 + 3000 },
              { timerId: "tally/t_a/1/1", event: { type: "Close" }, dueAt: T0 + 1000 },
              { timerId: "tally/t_a/1/2", event: { type: "Close" }, dueAt: T0 + 2000 },
            ],
          });
          assert.deepEqual(
            (await store.listTimers()).map((t) => t.dueAt),
            [T0 + 1000, T0 + 2000, T0 + 3000],
          );
        }),
      );
    });

    describe("outbox claims", () => {
      const claim = (store: Store, owner: string, now: number, limit = 10, leaseMs = 1000) =>
        store.claimOutbox({ owner, now, leaseMs, limit });
      const intents = (n: number) => Array.from({ length: n }, (_, i) => ({ type: "Noted", i }));

      it(
        "leases due rows oldest first, counts the attempt, and does not hand them out twice",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(1)));
          await commitOk(store, acceptedWrite("t_b", "evt_2", 0, {}, intents(1)));
          const rows = await claim(store, "w1", T0 + 10);
          assert.deepEqual(
            rows.map((r) => [r.intentId, r.attempts, r.leaseOwner, r.leaseUntil]),
            [
              ["tally/t_a/1/0", 1, "w1", T0 + 1010],
              ["tally/t_b/1/0", 1, "w1", T0 + 1010],
            ],
          );
          assert.deepEqual(await claim(store, "w2", T0 + 20), []);
          const listed = await store.listOutbox();
          assert.deepEqual(
            listed.map((r) => [r.leaseOwner, r.attempts]),
            [
              ["w1", 1],
              ["w1", 1],
            ],
          );
        }),
      );

      it(
        "respects the limit and leaves rows that are not yet due",
        withStore(async (store) => {
          for (const id of ["t_a", "t_b", "t_c"])
            await commitOk(store, acceptedWrite(id, `evt_${id}9`, 0, {}, intents(1)));
          assert.deepEqual(await claim(store, "w1", T0), []);
          assert.deepEqual(await claim(store, "w1", T0 + 100, 0), []);
          assert.equal((await claim(store, "w1", T0 + 100, 2)).length, 2);
          assert.equal((await claim(store, "w1", T0 + 100, 2)).length, 1);
        }),
      );

      it(
        "hands out only the oldest pending row of an entity, then the next once it is done",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(2)));
          await commitOk(store, acceptedWrite("t_a", "evt_2", 1, {}, intents(1)));
          await commitOk(store, acceptedWrite("t_b", "evt_3", 0, {}, intents(1)));
          const first = await claim(store, "w1", T0 + 10);
          assert.deepEqual(
            first.map((r) => r.intentId),
            ["tally/t_a/1/0", "tally/t_b/1/0"],
          );
          assert.equal(await store.completeOutbox("tally/t_a/1/0", "w1", T0 + 11), true);
          assert.deepEqual(
            (await claim(store, "w1", T0 + 12)).map((r) => r.intentId),
            ["tally/t_a/1/1"],
          );
          // A row still leased (t_a/1/1) blocks its entity's later rows.
          assert.deepEqual(await claim(store, "w2", T0 + 13), []);
          assert.equal(await store.completeOutbox("tally/t_a/1/1", "w1", T0 + 14), true);
          assert.deepEqual(
            (await claim(store, "w2", T0 + 15)).map((r) => r.intentId),
            ["tally/t_a/2/0"],
          );
        }),
      );

      it(
        "marks a row done once, and only for the owner of its lease",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(1)));
          await claim(store, "w1", T0 + 10);
          assert.equal(await store.completeOutbox("tally/t_a/1/0", "w2", T0 + 11), false);
          assert.equal(await store.completeOutbox("tally/t_a/1/0", "w1", T0 + 11), true);
          assert.equal(await store.completeOutbox("tally/t_a/1/0", "w1", T0 + 12), false);
          const [row] = await store.listOutbox();
          assert.deepEqual([row?.status, row?.leaseOwner, row?.leaseUntil], [OutboxStatus.Done, null, null]);
          assert.deepEqual(await claim(store, "w1", T0 + 5000), []);
        }),
      );

      it(
        "retries a failed attempt no earlier than it says, keeping the error",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(1)));
          await claim(store, "w1", T0 + 10);
          const failure = { error: "provider down", now: T0 + 20, retryAt: T0 + 500 };
          assert.equal(await store.failOutbox("tally/t_a/1/0", "w2", failure), false);
          assert.equal(await store.failOutbox("tally/t_a/1/0", "w1", failure), true);
          const [row] = await store.listOutbox();
          assert.deepEqual(
            [row?.status, row?.attempts, row?.lastError, row?.nextAttemptAt, row?.leaseOwner],
            [OutboxStatus.Pending, 1, "provider down", T0 + 500, null],
          );
          assert.deepEqual(await claim(store, "w1", T0 + 499), []);
          const [again] = await claim(store, "w1", T0 + 500);
          assert.equal(again?.attempts, 2);
        }),
      );

      it(
        "lets another owner take a row whose lease expired; the old owner can no longer settle it",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(1)));
          await claim(store, "w1", T0 + 10, 10, 100);
          assert.deepEqual(await claim(store, "w2", T0 + 109), []);
          const [taken] = await claim(store, "w2", T0 + 110);
          assert.deepEqual([taken?.leaseOwner, taken?.attempts], ["w2", 2]);
          assert.equal(await store.completeOutbox("tally/t_a/1/0", "w1", T0 + 120), false);
          assert.equal(
            await store.failOutbox("tally/t_a/1/0", "w1", { error: "late", now: T0 + 120, retryAt: T0 + 200 }),
            false,
          );
          assert.equal(await store.completeOutbox("tally/t_a/1/0", "w2", T0 + 120), true);
        }),
      );

      it(
        "dead-letters a row, which then blocks nothing, and revives it on retryDead",
        withStore(async (store) => {
          await commitOk(store, acceptedWrite("t_a", "evt_1", 0, {}, intents(2)));
          await claim(store, "w1", T0 + 10);
          assert.equal(
            await store.failOutbox("tally/t_a/1/0", "w1", { error: "gave up", now: T0 + 20, retryAt: null }),
            true,
          );
          const dead = await store.listOutbox({ status: OutboxStatus.Dead });
          assert.deepEqual(
            dead.map((r) => [r.intentId, r.lastError, r.attempts]),
            [["tally/t_a/1/0", "gave up", 1]],
          );
          assert.deepEqual(
            (await claim(store, "w1", T0 + 30)).map((r) => r.intentId),
            ["tally/t_a/1/1"],
          );
          assert.equal(await store.retryDead("tally/t_a/1/1", T0 + 40), false);
          assert.equal(await store.retryDead("tally/nope/1/0", T0 + 40), false);
          assert.equal(await store.retryDead("tally/t_a/1/0", T0 + 40), true);
          const [revived] = await store.listOutbox({ status: OutboxStatus.Pending });
          assert.deepEqual(
            [revived?.intentId, revived?.attempts, revived?.nextAttemptAt, revived?.lastError],
            ["tally/t_a/1/0", 0, T0 + 40, "gave up"],
          );
        }),
      );
    });

    describe("timer claims", () => {
      const timersOf = (dues: readonly number[]): AcceptedWrite => ({
        ...acceptedWrite("t_a", "evt_1", 0, {}),
        timers: dues.map((dueAt, i) => ({ timerId: `tally/t_a/1/${i}`, event: { type: "Close" }, dueAt })),
      });
      const claim = (store: Store, owner: string, now: number, leaseMs = 1000) =>
        store.claimTimers({ owner, now, leaseMs, limit: 10 });

      it(
        "leases due timers soonest first and fires each once",
        withStore(async (store) => {
          await commitOk(store, timersOf([T0 + 300, T0 + 100, T0 + 200, T0 + 900]));
          const due = await claim(store, "s1", T0 + 300);
          assert.deepEqual(
            due.map((t) => [t.dueAt, t.attempts, t.leaseOwner]),
            [
              [T0 + 100, 1, "s1"],
              [T0 + 200, 1, "s1"],
              [T0 + 300, 1, "s1"],
            ],
          );
          assert.deepEqual(await claim(store, "s2", T0 + 400), []);
          for (const t of due) assert.equal(await store.completeTimer(t.timerId, "s1", T0 + 400), true);
          assert.equal(await store.completeTimer("tally/t_a/1/1", "s1", T0 + 400), false);
          assert.deepEqual(await claim(store, "s1", T0 + 800), []);
          assert.deepEqual(
            (await claim(store, "s1", T0 + 900)).map((t) => t.dueAt),
            [T0 + 900],
          );
          assert.deepEqual(
            (await store.listTimers()).map((t) => t.status),
            [TimerStatus.Fired, TimerStatus.Fired, TimerStatus.Fired, TimerStatus.Pending],
          );
        }),
      );

      it(
        "retries a failed firing later, and lets another owner take an expired lease",
        withStore(async (store) => {
          await commitOk(store, timersOf([T0 + 100]));
          await claim(store, "s1", T0 + 100);
          assert.equal(
            await store.failTimer("tally/t_a/1/0", "s2", { error: "x", now: T0 + 110, retryAt: T0 + 500 }),
            false,
          );
          assert.equal(
            await store.failTimer("tally/t_a/1/0", "s1", { error: "store busy", now: T0 + 110, retryAt: T0 + 500 }),
            true,
          );
          assert.deepEqual(await claim(store, "s1", T0 + 499), []);
          const [again] = await claim(store, "s1", T0 + 500, 50);
          assert.deepEqual([again?.attempts, again?.lastError, again?.dueAt], [2, "store busy", T0 + 100]);
          const [taken] = await claim(store, "s2", T0 + 550);
          assert.equal(taken?.leaseOwner, "s2");
          assert.equal(await store.completeTimer("tally/t_a/1/0", "s1", T0 + 560), false);
          assert.equal(await store.completeTimer("tally/t_a/1/0", "s2", T0 + 560), true);
        }),
      );
    });

    describe("through the runtime", () => {
      it(
        "serialises concurrent events on one entity: versions are contiguous, none lost",
        withStore(async (store) => {
          const runtime = new Runtime({ store, machines: [tallyMachine] });
          const tally = { machine: "tally", id: "t_busy" };
          assert.equal((await runtime.run(tally, { type: "Open" })).kind, RunResultKind.Processed);
          const results = await Promise.all(
            Array.from({ length: 60 }, (_, i) =>
              runtime.run(tally, { type: "Add", n: 1 }, { eventId: `evt_add_${i}` }),
            ),
          );
          assert.ok(results.every((r) => r.kind === RunResultKind.Processed));
          const history = await store.history(tally);
          assert.deepEqual(
            history.map((e) => e.version),
            Array.from({ length: 61 }, (_, i) => i + 1),
          );
          assert.deepEqual((await store.getEntity(tally))?.state, { open: true, total: 60, adds: 60 });
        }),
      );

      it(
        "retries version conflicts between two runtimes sharing the store: no lost update",
        withStore(async (store) => {
          // Two runtimes stand for two processes: each serialises only its own callers.
          const a = new Runtime({ store, machines: [tallyMachine], maxAttempts: 100 });
          const b = new Runtime({ store, machines: [tallyMachine], maxAttempts: 100 });
          const tally = { machine: "tally", id: "t_shared" };
          await a.run(tally, { type: "Open" });
          const results = await Promise.all(
            Array.from({ length: 40 }, (_, i) =>
              (i % 2 === 0 ? a : b).run(tally, { type: "Add", n: i + 1 }, { eventId: `evt_${i}` }),
            ),
          );
          assert.deepEqual(
            results.map((r) => r.kind),
            results.map(() => RunResultKind.Processed),
          );
          const history = await store.history(tally);
          assert.equal(history.length, 41);
          assert.deepEqual(
            history.map((e) => e.version),
            Array.from({ length: 41 }, (_, i) => i + 1),
          );
          assert.equal(await totalOf(store, tally), (40 * 41) / 2);
          assert.equal(new Set(history.map((e) => e.eventId)).size, 41);
        }),
      );

      it(
        "applies one event id once even when sent concurrently through two runtimes",
        withStore(async (store) => {
          const a = new Runtime({ store, machines: [tallyMachine] });
          const b = new Runtime({ store, machines: [tallyMachine] });
          const tally = { machine: "tally", id: "t_once" };
          await a.run(tally, { type: "Open" });
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              (i % 2 === 0 ? a : b).run(tally, { type: "Add", n: 5 }, { eventId: "evt_same" }),
            ),
          );
          assert.equal(results.filter((r) => r.kind === RunResultKind.Processed).length, 1);
          assert.equal(results.filter((r) => r.kind === RunResultKind.Duplicate).length, 9);
          assert.equal(await totalOf(store, tally), 5);
          assert.equal((await store.history(tally)).length, 2);
        }),
      );
    });

    if (options.reopen !== undefined) {
      const reopen = options.reopen;
      describe("durability", () => {
        it("keeps every committed row across close and reopen", async () => {
          let store = await options.open();
          try {
            await commitOk(
              store,
              acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }], [{ type: "Close" }]),
            );
            await commitOk(store, rejectionWrite("t_a", "evt_2", 1, "closed"));
            const before = await snapshot(store, "t_a");
            store = await reopen(store);
            assert.deepEqual(await snapshot(store, "t_a"), before);
            assert.equal((await store.listTimers()).length, 1);
            await commitOk(store, acceptedWrite("t_a", "evt_3", 1, { n: 3 }));
            assert.equal((await store.getEntity(ref("t_a")))?.version, 2);
          } finally {
            await store.close();
          }
        });
      });
    }
  });
}

async function totalOf(store: Store, tally: EntityRef): Promise<unknown> {
  const entity = await store.getEntity(tally);
  return (entity?.state as { total?: number } | undefined)?.total;
}

function ref(id: string): EntityRef {
  return { machine: "tally", id };
}

async function commitOk(store: Store, step: StepWrite): Promise<void> {
  const outcomes = await store.commit([step]);
  assert.deepEqual(outcomes, [{ kind: CommitOutcomeKind.Committed }], `commit of ${step.eventId}`);
}

/** Everything the store holds about one entity, to compare before and after. */
async function snapshot(store: Store, id: string) {
  return {
    entity: await store.getEntity(ref(id)),
    history: await store.history(ref(id)),
    outbox: await store.listOutbox(),
    timers: await store.listTimers(),
    inbox: await Promise.all((await store.history(ref(id))).map((e) => store.findInbox(e.eventId))),
  };
}
