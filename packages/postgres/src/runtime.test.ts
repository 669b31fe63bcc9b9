import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RunResult } from "@drover/core";
import { RunResultKind, Runtime } from "@drover/core";
import { tallyMachine } from "@drover/core/testing";
import { freshSchema, openStore, postgresAvailable } from "./test-support/fixtures.js";

if (await postgresAvailable(import.meta.url)) {
  describe("Runtime on PostgresStore: two processes, one database", () => {
    it("keeps versions contiguous and applies each event once when two runtimes hammer five entities", async () => {
      const schema = freshSchema();
      // Two stores, two pools, two runtimes: two processes as far as PostgreSQL can tell.
      const stores = await Promise.all([openStore({ schema, poolSize: 4 }), openStore({ schema, poolSize: 4 })]);
      const runtimes = stores.map((store) => new Runtime({ store, machines: [tallyMachine], maxAttempts: 200 }));
      const refs = Array.from({ length: 5 }, (_, i) => ({ machine: "tally", id: `t_${i}` }));
      try {
        const [a, b] = runtimes;
        assert.ok(a && b);
        for (const ref of refs) assert.equal((await a.run(ref, { type: "Open" })).kind, RunResultKind.Processed);

        // 200 events, n = 1..200, each to an entity and a runtime by its number; every tenth
        // is also sent, with the same id, to the other runtime at the same time.
        const sends: Promise<RunResult>[] = [];
        const expected = new Map<string, number>();
        for (let i = 1; i <= 200; i++) {
          const ref = refs[i % refs.length] ?? { machine: "tally", id: "t_0" };
          const eventId = `evt_${i}`;
          const event = { type: "Add", n: i };
          expected.set(ref.id, (expected.get(ref.id) ?? 0) + i);
          const [mine, other] = i % 2 === 0 ? [a, b] : [b, a];
          sends.push(mine.run(ref, event, { eventId }));
          if (i % 10 === 0) sends.push(other.run(ref, event, { eventId }));
        }
        const results = await Promise.all(sends);
        const kinds = results.map((result) => result.kind);
        assert.equal(kinds.filter((kind) => kind === RunResultKind.Processed).length, 200);
        assert.equal(kinds.filter((kind) => kind === RunResultKind.Duplicate).length, 20);

        const [store] = stores;
        assert.ok(store);
        for (const ref of refs) {
          const history = await store.history(ref);
          assert.deepEqual(
            history.map((entry) => entry.version),
            history.map((_, i) => i + 1),
            `${ref.id}: contiguous versions`,
          );
          assert.equal(history.length, 41, `${ref.id}: Open and 40 Adds`);
          assert.equal(new Set(history.map((entry) => entry.eventId)).size, 41, `${ref.id}: each event once`);
          const entity = await store.getEntity(ref);
          assert.equal(entity?.version, 41);
          assert.equal(
            (entity?.state as { total?: number } | undefined)?.total,
            expected.get(ref.id),
            `${ref.id}: no lost update`,
          );
        }
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    });
  });
}
