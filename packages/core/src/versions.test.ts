import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { App } from "./app.js";
import { defineEffects, followUp } from "./effects.js";
import { ConfigurationError } from "./errors.js";
import { UnreadableReason, VersionedSubject } from "./evolution.js";
import { silentLogger } from "./logger.js";
import { accept, defineMachine } from "./machine.js";
import { MemoryStore } from "./memory-store.js";
import type { Store } from "./ports.js";
import { OutboxStatus } from "./ports.js";
import { RunResultKind } from "./result.js";
import type { RuntimeOptions } from "./runtime.js";
import { Runtime } from "./runtime.js";
import { Scheduler } from "./scheduler.js";
import { doorsV1, doorsV2 } from "./test-support/door-versions.js";
import { tallyMachine } from "./testing/tally-machine.js";

const T0 = Date.UTC(2026, 0, 1);
const DOOR = { machine: "doors", id: "d_1" };

function runtimeOf(store: Store, machine: RuntimeOptions["machines"][number]) {
  return new Runtime({ store, machines: [machine], clock: { now: () => T0 } });
}

/** A door installed by version 1 of the code: state and its timer's event at version 1. */
async function installedByV1(): Promise<MemoryStore> {
  const store = new MemoryStore();
  const result = await runtimeOf(store, doorsV1).run(DOOR, { type: "Install" }, { eventId: "evt_install" });
  assert.equal(result.kind, RunResultKind.Processed);
  return store;
}

describe("defineMachine: versions", () => {
  const base = {
    name: "walls",
    id: z.string(),
    state: z.object({}),
    events: z.object({ type: z.literal("Build") }),
    intents: z.object({ type: z.literal("Paint") }),
    rejections: z.enum(["no"]),
    creates: ["Build" as const],
    create: () => accept({}),
    handle: () => accept({}),
  };

  it("is at version 1 of its state and events unless it says otherwise", () => {
    const walls = defineMachine(base);
    assert.deepEqual([walls.version, walls.eventVersion], [1, 1]);
  });

  it("refuses a migration chain with a hole, naming it", () => {
    assert.throws(
      () => defineMachine({ ...base, version: 3, migrations: { 1: (s) => s } }),
      (error: unknown) =>
        error instanceof ConfigurationError && /state version 3 but migrations has no entry 2/.test(error.message),
    );
    assert.throws(
      () => defineMachine({ ...base, eventVersion: 2 }),
      (error: unknown) => error instanceof ConfigurationError && /eventMigrations has no entry 1/.test(error.message),
    );
  });

  it("refuses a migration from a version the machine is not below, and a version that is no whole number ≥ 1", () => {
    assert.throws(
      () => defineMachine({ ...base, version: 2, migrations: { 1: (s) => s, 2: (s) => s } }),
      /migrations has an entry "2", but only versions 1 to 1 migrate/,
    );
    assert.throws(() => defineMachine({ ...base, version: 0 }), ConfigurationError);
    assert.throws(() => defineMachine({ ...base, version: 1.5 }), ConfigurationError);
  });
});

describe("Runtime: a state stored by older code", () => {
  it("is migrated on load, handed to handle, and saved at the current version", async () => {
    const store = await installedByV1();
    const result = await runtimeOf(store, doorsV2()).run(DOOR, { type: "Ring", loud: true });
    assert.equal(result.kind, RunResultKind.Processed);
    assert.deepEqual(result.kind === RunResultKind.Processed && result.state, { status: "open", rings: 1 });
    const entity = await store.getEntity(DOOR);
    assert.deepEqual([entity?.version, entity?.stateVersion, entity?.state], [2, 2, { status: "open", rings: 1 }]);
    assert.deepEqual(
      (await store.history(DOOR)).map((entry) => [entry.stateVersion, entry.eventVersion]),
      [
        [1, 1],
        [2, 2],
      ],
    );
  });

  const unreadableCases = [
    {
      name: "a migration that throws",
      machine: doorsV2({
        migration: () => {
          throw new Error("no rings column");
        },
      }),
      reason: UnreadableReason.MigrationFailed,
      message: /doors\/d_1: the state migration from version 1 to 2 threw: no rings column/,
    },
    {
      name: "a migration whose result the schema refuses",
      machine: doorsV2({ migration: (state) => ({ ...state, rings: -1 }) }),
      reason: UnreadableReason.SchemaRefused,
      message: /does not fit the schema: rings: /,
    },
  ];
  for (const { name, machine, reason, message } of unreadableCases) {
    it(`is unreadable after ${name}: a typed answer, nothing written, and the same event succeeds once fixed`, async () => {
      const store = await installedByV1();
      const before = await store.history(DOOR);
      const result = await runtimeOf(store, machine).run(DOOR, { type: "Ring", loud: true }, { eventId: "evt_ring" });
      assert.equal(result.kind, RunResultKind.Unreadable);
      if (result.kind !== RunResultKind.Unreadable) return;
      assert.deepEqual(
        [result.subject, result.reason, result.storedVersion, result.expectedVersion, result.eventId],
        [VersionedSubject.State, reason, 1, 2, "evt_ring"],
      );
      assert.match(result.message, message);
      assert.deepEqual(await store.history(DOOR), before);
      assert.equal(await store.findInbox("evt_ring"), undefined);
      assert.equal((await store.getEntity(DOOR))?.stateVersion, 1);

      const fixed = await runtimeOf(store, doorsV2()).run(DOOR, { type: "Ring", loud: true }, { eventId: "evt_ring" });
      assert.equal(fixed.kind, RunResultKind.Processed);
    });
  }

  it("is unreadable when stored by newer code (a rollback), and stays as the newer code wrote it", async () => {
    const store = new MemoryStore();
    await runtimeOf(store, doorsV2()).run(DOOR, { type: "Install" });
    const stored = await store.getEntity(DOOR);
    const result = await runtimeOf(store, doorsV1).run(DOOR, { type: "Ring" });
    assert.equal(result.kind, RunResultKind.Unreadable);
    assert.equal(result.kind === RunResultKind.Unreadable && result.reason, UnreadableReason.NewerVersion);
    assert.match(result.kind === RunResultKind.Unreadable ? result.message : "", /stored at version 2, newer than/);
    assert.deepEqual(await store.getEntity(DOOR), stored);
  });

  it("still answers a retried event as a duplicate before reading the state", async () => {
    const store = await installedByV1();
    const broken = doorsV2({
      migration: () => {
        throw new Error("broken");
      },
    });
    const retried = await runtimeOf(store, broken).run(DOOR, { type: "Install" }, { eventId: "evt_install" });
    assert.equal(retried.kind, RunResultKind.Duplicate);
  });
});

describe("events recorded by older code", () => {
  it("are migrated before they are parsed: a timer scheduled by version 1 fires into version 2", async () => {
    const store = await installedByV1();
    const [timer] = await store.listTimers();
    assert.deepEqual([timer?.event, timer?.eventVersion], [{ type: "Ring" }, 1]);
    const runtime = runtimeOf(store, doorsV2());
    const scheduler = new Scheduler({
      store,
      run: (ref, e, o) => runtime.run(ref, e, o),
      clock: { now: () => T0 + 60_000 },
    });
    assert.equal(await scheduler.runOnce(), 1);
    assert.equal((await store.listTimers())[0]?.status, "fired");
    assert.deepEqual((await store.history(DOOR)).at(-1)?.event, { type: "Ring", loud: false });
  });

  it("make a timer wait, uncounted, while its event or entity cannot be read", async () => {
    const store = await installedByV1();
    const broken = doorsV2({
      eventMigration: () => {
        throw new Error("no loudness");
      },
    });
    const runtime = runtimeOf(store, broken);
    const scheduler = new Scheduler({
      store,
      run: (ref, e, o) => runtime.run(ref, e, o),
      clock: { now: () => T0 + 60_000 },
    });
    assert.equal(await scheduler.runOnce(), 1);
    const [timer] = await store.listTimers();
    assert.deepEqual([timer?.status, timer?.attempts], ["pending", 0]);
    assert.match(timer?.lastError ?? "", /event migration from version 1 to 2 threw: no loudness/);
    assert.ok((timer?.nextAttemptAt ?? 0) > T0 + 60_000);
  });

  it("are refused at run time when newer than the code", async () => {
    const store = await installedByV1();
    const result = await runtimeOf(store, doorsV2()).run(DOOR, { type: "Ring", loud: true }, { eventVersion: 3 });
    assert.equal(result.kind, RunResultKind.Unreadable);
    assert.deepEqual(result.kind === RunResultKind.Unreadable && [result.subject, result.reason], [
      VersionedSubject.Event,
      UnreadableReason.NewerVersion,
    ]);
  });
});

describe("Dispatcher: a follow-up to an entity the code cannot read", () => {
  it("keeps the intent pending without using up its attempts, and delivers it once the code can read the entity", async () => {
    const store = await installedByV1();
    const clock = { t: T0, now: () => clock.t };
    const build = (doors: ReturnType<typeof doorsV2>) =>
      new App({
        store,
        machines: [tallyMachine, doors],
        effects: [
          defineEffects(tallyMachine, { Noted: async () => [followUp(doors, "d_1", { type: "Ring", loud: true })] }),
        ],
        clock,
        logger: silentLogger,
        dispatcher: { maxAttempts: 1, backoff: { initialMs: 1000, maxMs: 5000 }, random: () => 1 },
      });
    const broken = build(
      doorsV2({
        migration: () => {
          throw new Error("broken");
        },
      }),
    );
    await broken.run({ machine: "tally", id: "t_1" }, { type: "Open" });
    await broken.run({ machine: "tally", id: "t_1" }, { type: "Add", n: 1 });
    for (let i = 0; i < 3; i++) {
      await broken.dispatcher.runOnce();
      clock.t += 5000;
    }
    const [row] = await store.listOutbox();
    assert.deepEqual([row?.status, row?.attempts], [OutboxStatus.Pending, 0]);
    assert.match(row?.lastError ?? "", /waits: doors\/d_1: the state migration from version 1 to 2 threw: broken/);

    const fixed = build(doorsV2());
    assert.equal(await fixed.dispatcher.runOnce(), 1);
    assert.equal((await store.listOutbox())[0]?.status, OutboxStatus.Done);
    assert.deepEqual((await store.getEntity(DOOR))?.state, { status: "open", rings: 1 });
  });
});
