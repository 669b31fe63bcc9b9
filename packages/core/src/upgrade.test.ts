import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UnreadableReason } from "./evolution.js";
import { accept, defineMachine } from "./machine.js";
import { MemoryStore } from "./memory-store.js";
import { DivergenceKind, replayJournal } from "./replay.js";
import { Runtime } from "./runtime.js";
import { doorsV1, doorsV2 } from "./test-support/door-versions.js";
import { UpgradeFailureKind, upgradeMachine } from "./upgrade.js";

const T0 = Date.UTC(2026, 0, 1);

/** Doors d_1…d_n written by version 1 of the code; the odd ones also rang. */
async function doorsWrittenByV1(n: number): Promise<MemoryStore> {
  const store = new MemoryStore();
  const runtime = new Runtime({ store, machines: [doorsV1], clock: { now: () => T0 } });
  for (let i = 1; i <= n; i++) {
    await runtime.run({ machine: "doors", id: `d_${i}` }, { type: "Install" });
    if (i % 2 === 1) await runtime.run({ machine: "doors", id: `d_${i}` }, { type: "Ring" });
  }
  return store;
}

describe("replayJournal across versions", () => {
  it("replays a journal written by older code through the migrated history without divergence", async () => {
    const store = await doorsWrittenByV1(1);
    const entries = await store.history({ machine: "doors", id: "d_1" });
    assert.deepEqual(replayJournal(doorsV1, entries), []);
    assert.deepEqual(replayJournal(doorsV2(), entries), []);
  });

  it("reports a recorded event the current code cannot read, and one its schema refuses", async () => {
    const entries = (await doorsWrittenByV1(1)).history({ machine: "doors", id: "d_1" });
    const throwing = doorsV2({
      eventMigration: () => {
        throw new Error("lost");
      },
    });
    const kinds = (await entries).flatMap((entry) => replayJournal(throwing, [entry]).map((d) => d.kind));
    assert.ok(kinds.includes(DivergenceKind.Unreadable), `kinds: ${kinds}`);
    const refusing = doorsV2({ eventMigration: (event) => ({ ...event, loud: "yes" }) });
    const divergences = replayJournal(refusing, await entries);
    assert.deepEqual(
      divergences.map((d) => [d.version, d.kind]),
      [
        [1, DivergenceKind.EventRefused],
        [2, DivergenceKind.EventRefused],
      ],
    );
  });

  it("reports a state the current code decides but its own schema refuses (a replay never runs without schemas)", async () => {
    const entries = await (await doorsWrittenByV1(1)).history({ machine: "doors", id: "d_1" });
    const v2 = doorsV2();
    const negative = defineMachine({
      name: "doors",
      id: v2.schemas.id,
      state: v2.schemas.state,
      version: 2,
      migrations: v2.migrations,
      events: v2.schemas.event,
      eventVersion: 2,
      eventMigrations: v2.eventMigrations,
      intents: v2.schemas.intent,
      rejections: v2.schemas.rejection,
      creates: ["Install"],
      create: (event, ctx) => v2.create(event, ctx),
      handle: (state) => accept({ ...state, rings: -1 }),
    });
    assert.deepEqual(
      replayJournal(negative, entries).map((d) => [d.version, d.kind]),
      [[2, DivergenceKind.StateRefused]],
    );
  });
});

describe("upgradeMachine", () => {
  it("dry run: counts by stored version, all readable, nothing written", async () => {
    const store = await doorsWrittenByV1(5);
    const before = await store.listEntities("doors", { limit: 10 });
    const progress: number[] = [];
    const report = await upgradeMachine(store, doorsV2(), { batchSize: 2, onProgress: (n) => progress.push(n) });
    assert.deepEqual(
      [report.ok, report.applied, report.entities, report.unreadable, report.divergences, report.rewritten],
      [true, false, 5, 0, 0, 0],
    );
    assert.deepEqual(report.byVersion, [{ stateVersion: 1, entities: 5, readable: 5, unreadable: 0 }]);
    assert.deepEqual(progress, [2, 4, 5]);
    assert.deepEqual(await store.listEntities("doors", { limit: 10 }), before);
  });

  it("names the entities whose state cannot be migrated, and is not ok", async () => {
    const store = await doorsWrittenByV1(4);
    const picky = doorsV2({
      migration: (state) => {
        if (state.status === "open") throw new Error("cannot count the rings of an open door");
        return { ...state, rings: 0 };
      },
    });
    const report = await upgradeMachine(store, picky);
    assert.equal(report.ok, false);
    assert.deepEqual(report.byVersion, [{ stateVersion: 1, entities: 4, readable: 2, unreadable: 2 }]);
    // Each open door's state fails to migrate, and so does the open state its journal recorded.
    assert.deepEqual(
      report.failures.map((f) => [f.kind, f.id, f.kind === UpgradeFailureKind.Divergence ? f.divergence.kind : null]),
      [
        [UpgradeFailureKind.Unreadable, "d_1", null],
        [UpgradeFailureKind.Divergence, "d_1", DivergenceKind.Unreadable],
        [UpgradeFailureKind.Unreadable, "d_3", null],
        [UpgradeFailureKind.Divergence, "d_3", DivergenceKind.Unreadable],
      ],
    );
    assert.equal(report.divergences, 2);
    assert.match(
      report.failures[0]?.kind === UpgradeFailureKind.Unreadable ? report.failures[0].message : "",
      /open door/,
    );
  });

  it("apply: rewrites every readable state at the current version, once; a newer state is reported, not touched", async () => {
    const store = await doorsWrittenByV1(3);
    const first = await upgradeMachine(store, doorsV2(), { apply: true, batchSize: 2 });
    assert.deepEqual([first.ok, first.rewritten, first.movedOn], [true, 3, 0]);
    assert.deepEqual(await store.countStateVersions("doors"), [{ stateVersion: 2, count: 3 }]);
    assert.deepEqual((await store.getEntity({ machine: "doors", id: "d_2" }))?.state, { status: "closed", rings: 0 });
    const again = await upgradeMachine(store, doorsV2(), { apply: true });
    assert.deepEqual([again.ok, again.rewritten], [true, 0]);

    const rolledBack = await upgradeMachine(store, doorsV1);
    assert.equal(rolledBack.ok, false);
    assert.equal(rolledBack.unreadable, 3);
    assert.match(
      rolledBack.failures[0]?.kind === UpgradeFailureKind.Unreadable ? rolledBack.failures[0].message : "",
      /newer/,
    );
    assert.equal(UnreadableReason.NewerVersion, "newer_version");
  });
});
