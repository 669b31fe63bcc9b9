import assert from "node:assert/strict";
import type { Json } from "../../json.js";
import { OutboxStatus } from "../../ports.js";
import { acceptedWrite } from "../step-writes.js";
import type { Suite } from "./suite.js";
import { commitOk, ref, T0 } from "./suite.js";

/** The read model: ordering, listing, paging, filters and counts. */
export function readModelSpec(suite: Suite): void {
  const { describe, it, withStore } = suite;
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
      "filters listed entities by id prefix and by the name the step gave the state, with the cursor",
      withStore(async (store) => {
        // The name travels with the write; the store never reads it out of the state itself.
        const named: [string, Json, string | null][] = [
          ["t_aa", { status: "open" }, "open"],
          ["t_ab", { status: "closed" }, "closed"],
          ["t_ac", { phase: 1 }, "open"],
          ["t_b", { status: "open" }, "open"],
          ["t_ba", { status: "open" }, "opened"],
          ["t_c", ["open"], null],
        ];
        for (const [id, state, stateName] of named)
          await commitOk(store, { ...acceptedWrite(id, `evt_${id}`, 0, state), stateName });
        await commitOk(store, {
          ...acceptedWrite("t_ad", "evt_other", 0, { status: "open" }),
          ref: { machine: "other", id: "t_ad" },
        });
        const ids = async (query: { limit: number; after?: string; idPrefix?: string; stateName?: string }) =>
          (await store.listEntities("tally", query)).map((e) => e.id);
        assert.deepEqual(await ids({ limit: 10, idPrefix: "t_a" }), ["t_aa", "t_ab", "t_ac"]);
        assert.deepEqual(await ids({ limit: 10, idPrefix: "t_a", after: "t_aa" }), ["t_ab", "t_ac"]);
        assert.deepEqual(await ids({ limit: 10, idPrefix: "t_b" }), ["t_b", "t_ba"]);
        assert.deepEqual(await ids({ limit: 10, idPrefix: "t_%" }), [], "LIKE wildcards are plain characters");
        assert.deepEqual(await ids({ limit: 10, idPrefix: "t__" }), []);
        assert.deepEqual(await ids({ limit: 10, stateName: "open" }), ["t_aa", "t_ac", "t_b"]);
        assert.deepEqual(await ids({ limit: 1, stateName: "open", after: "t_aa" }), ["t_ac"]);
        assert.deepEqual(await ids({ limit: 10, stateName: "open", idPrefix: "t_a" }), ["t_aa", "t_ac"]);
        assert.deepEqual(await ids({ limit: 10, stateName: "ope" }), [], "names match whole");
        // The next write names the state again.
        await commitOk(store, { ...acceptedWrite("t_aa", "evt_t_aa2", 1, { status: "open" }), stateName: "shut" });
        assert.deepEqual(await ids({ limit: 10, stateName: "open" }), ["t_ac", "t_b"]);
        assert.equal((await store.getEntity(ref("t_aa")))?.stateName, "shut");
      }),
    );

    it(
      "counts a machine's entities by the name the step gave the state, unnamed last",
      withStore(async (store) => {
        assert.deepEqual(await store.countEntities("tally"), []);
        const named: [string, Json, string | null][] = [
          ["t_a", { status: "open" }, "open"],
          ["t_b", { status: "closed" }, "closed"],
          ["t_c", { phase: 2 }, "open"],
          ["t_d", { total: 1 }, null],
          ["t_e", { status: "open" }, null],
        ];
        for (const [id, state, stateName] of named)
          await commitOk(store, { ...acceptedWrite(id, `evt_${id}`, 0, state), stateName });
        await commitOk(store, { ...acceptedWrite("t_b", "evt_t_b2", 1, { status: "closed" }), stateName: "open" });
        await commitOk(store, {
          ...acceptedWrite("t_x", "evt_other", 0, { status: "closed" }),
          ref: { machine: "other", id: "t_x" },
        });
        assert.deepEqual(await store.countEntities("tally"), [
          { stateName: "open", count: 3 },
          { stateName: null, count: 2 },
        ]);
        assert.deepEqual(await store.countEntities("other"), [{ stateName: "closed", count: 1 }]);
        assert.deepEqual(await store.countEntities("nobody"), []);
      }),
    );

    it(
      "lists timers soonest first",
      withStore(async (store) => {
        await commitOk(store, {
          ...acceptedWrite("t_a", "evt_1", 0, {}),
          timers: [
            { timerId: "tally/t_a/1/0", event: { type: "Close" }, eventVersion: 1, dueAt: T0 + 3000 },
            { timerId: "tally/t_a/1/1", event: { type: "Close" }, eventVersion: 1, dueAt: T0 + 1000 },
            { timerId: "tally/t_a/1/2", event: { type: "Close" }, eventVersion: 1, dueAt: T0 + 2000 },
          ],
        });
        assert.deepEqual(
          (await store.listTimers()).map((t) => t.dueAt),
          [T0 + 1000, T0 + 2000, T0 + 3000],
        );
      }),
    );
  });
}
