import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { z } from "zod";
import { ConfigurationError, ImpurityError, MachineContractError } from "./errors.js";
import { accept, defineMachine, reject } from "./machine.js";
import { MemoryStore } from "./memory-store.js";
import type { CommitOutcome, StepWrite, Store } from "./ports.js";
import { CommitOutcomeKind } from "./ports.js";
import type { RunResult } from "./result.js";
import { InvalidReason, RunResultKind } from "./result.js";
import { Runtime } from "./runtime.js";
import { PurityMode } from "./step.js";
import { tallyMachine } from "./testing/tally-machine.js";

const T0 = Date.UTC(2026, 0, 1);
const tally = (id = "t_1") => ({ machine: "tally", id });

function setup(options: { store?: Store; purity?: PurityMode } = {}) {
  const store = options.store ?? new MemoryStore();
  let now = T0;
  let n = 0;
  const runtime = new Runtime({
    store,
    machines: [tallyMachine],
    clock: { now: () => now },
    ids: { next: () => `evt_gen_${++n}` },
    purity: options.purity ?? PurityMode.Check,
  });
  return { store, runtime, advance: (ms: number) => (now += ms) };
}

/** Everything the store holds, to prove that a call wrote nothing. */
async function everything(store: Store, ids: readonly string[] = ["t_1"]) {
  return {
    entities: await Promise.all(ids.map((id) => store.getEntity(tally(id)))),
    journals: await Promise.all(ids.map((id) => store.history(tally(id)))),
    outbox: await store.listOutbox(),
    timers: await store.listTimers(),
  };
}

function expectKind<K extends RunResult["kind"]>(result: RunResult, kind: K): Extract<RunResult, { kind: K }> {
  assert.equal(result.kind, kind, `expected ${kind}, got ${JSON.stringify(result)}`);
  return result as Extract<RunResult, { kind: K }>;
}

describe("Runtime", () => {
  describe("processing", () => {
    it("creates an entity with a creating event and answers processed at version 1", async () => {
      const { runtime, store } = setup();
      const result = expectKind(await runtime.run(tally(), { type: "Open" }, { eventId: "evt_open" }), "processed");
      assert.deepEqual(result, {
        kind: "processed",
        machine: "tally",
        id: "t_1",
        eventId: "evt_open",
        version: 1,
        state: { open: true, total: 0, adds: 0 },
        intents: [],
      });
      assert.deepEqual((await store.getEntity(tally()))?.state, { open: true, total: 0, adds: 0 });
      assert.deepEqual((await store.findInbox("evt_open"))?.result, result);
    });

    it("gives intents stable ids machine/entityId/version/index and writes them to the outbox", async () => {
      const { runtime, store } = setup();
      await runtime.run(tally(), { type: "Open" });
      const result = expectKind(await runtime.run(tally(), { type: "Add", n: 7 }), "processed");
      assert.deepEqual(result.intents, [
        { id: "tally/t_1/2/0", intent: { type: "Noted", tally: "t_1", n: 7, total: 7 } },
      ]);
      assert.deepEqual(
        (await store.listOutbox()).map((row) => [row.intentId, row.status]),
        [["tally/t_1/2/0", "pending"]],
      );
    });

    it("stores Schedule intents as timers, not outbox rows", async () => {
      const { runtime, store } = setup();
      await runtime.run(tally(), { type: "Open" });
      for (let i = 0; i < 10; i++) await runtime.run(tally(), { type: "Add", n: 1 }, { at: T0 + i });
      const timers = await store.listTimers();
      assert.deepEqual(timers, [
        {
          timerId: "tally/t_1/11/1",
          key: null,
          machine: "tally",
          entityId: "t_1",
          event: { type: "Close" },
          eventVersion: 1,
          dueAt: T0 + 9 + 60_000,
          status: "pending",
          attempts: 0,
          nextAttemptAt: T0 + 9 + 60_000,
          leaseOwner: null,
          leaseUntil: null,
          lastError: null,
          traceParent: null,
        },
      ]);
      assert.equal((await store.listOutbox()).length, 10);
    });

    it("passes the event's id and time to the machine and journals them", async () => {
      const { runtime, store } = setup();
      await runtime.run(tally(), { type: "Open" }, { eventId: "evt_a", at: T0 + 5 });
      const [entry] = await store.history(tally());
      assert.equal(entry?.eventId, "evt_a");
      assert.equal(entry?.at, T0 + 5);
      assert.deepEqual(entry?.event, { type: "Open" });
    });

    it("generates an event id when none is given", async () => {
      const { runtime } = setup();
      const result = expectKind(await runtime.run(tally(), { type: "Open" }), "processed");
      assert.equal(result.eventId, "evt_gen_1");
    });
  });

  describe("not found and rejected", () => {
    it("answers not_found to a non-creating event for a missing entity and writes nothing", async () => {
      const { runtime, store } = setup();
      expectKind(await runtime.run(tally(), { type: "Add", n: 1 }, { eventId: "evt_x" }), "not_found");
      assert.equal(await store.findInbox("evt_x"), undefined);
      assert.deepEqual(await everything(store), { entities: [undefined], journals: [[]], outbox: [], timers: [] });
    });

    it("answers rejected with the machine's reason and remembers it only in the inbox", async () => {
      const { runtime, store } = setup();
      await runtime.run(tally(), { type: "Open" });
      const before = await everything(store);
      const result = expectKind(await runtime.run(tally(), { type: "Open" }, { eventId: "evt_again" }), "rejected");
      assert.equal(result.reason, "already_open");
      assert.equal(result.version, 1);
      assert.deepEqual(await everything(store), before);
      assert.deepEqual((await store.findInbox("evt_again"))?.result, result);
    });
  });

  describe("duplicates", () => {
    it("answers a second delivery with duplicate carrying the original outcome, and writes nothing", async () => {
      const { runtime, store } = setup();
      await runtime.run(tally(), { type: "Open" });
      const first = await runtime.run(tally(), { type: "Add", n: 3 }, { eventId: "evt_add" });
      const before = await everything(store);
      const second = expectKind(await runtime.run(tally(), { type: "Add", n: 3 }, { eventId: "evt_add" }), "duplicate");
      assert.deepEqual(second, { kind: "duplicate", eventId: "evt_add", original: first });
      assert.deepEqual(await everything(store), before);
    });

    it("replays a rejection as a duplicate of the rejection, even after the state changed", async () => {
      const { runtime } = setup();
      await runtime.run(tally(), { type: "Open" });
      await runtime.run(tally(), { type: "Close" });
      const first = expectKind(await runtime.run(tally(), { type: "Add", n: 1 }, { eventId: "evt_late" }), "rejected");
      const again = expectKind(await runtime.run(tally(), { type: "Add", n: 1 }, { eventId: "evt_late" }), "duplicate");
      assert.deepEqual(again.original, first);
    });

    it("treats a reused event id with a different request as invalid (idempotency_key_reused)", async () => {
      const { runtime, store } = setup();
      await runtime.run(tally(), { type: "Open" });
      await runtime.run(tally(), { type: "Add", n: 3 }, { eventId: "evt_k" });
      const before = await everything(store, ["t_1", "t_2"]);
      const other = expectKind(await runtime.run(tally(), { type: "Add", n: 4 }, { eventId: "evt_k" }), "invalid");
      assert.equal(other.reason, InvalidReason.IdempotencyKeyReused);
      const elsewhere = expectKind(await runtime.run(tally("t_2"), { type: "Open" }, { eventId: "evt_k" }), "invalid");
      assert.equal(elsewhere.reason, InvalidReason.IdempotencyKeyReused);
      assert.deepEqual(await everything(store, ["t_1", "t_2"]), before);
    });

    it("applies one event id once when it is sent many times at once", async () => {
      const { runtime, store } = setup();
      await runtime.run(tally(), { type: "Open" });
      const results = await Promise.all(
        Array.from({ length: 20 }, () => runtime.run(tally(), { type: "Add", n: 2 }, { eventId: "evt_storm" })),
      );
      assert.equal(results.filter((r) => r.kind === "processed").length, 1);
      assert.equal(results.filter((r) => r.kind === "duplicate").length, 19);
      assert.equal((await store.history(tally())).length, 2);
    });
  });

  describe("bad input", () => {
    const cases: [string, { machine: string; id: string }, unknown, string | undefined, InvalidReason][] = [
      ["an unknown machine", { machine: "nope", id: "t_1" }, { type: "Open" }, undefined, InvalidReason.UnknownMachine],
      ["an id its schema refuses", tally("T-1"), { type: "Open" }, undefined, InvalidReason.InvalidId],
      ["an unknown event type", tally(), { type: "Explode" }, undefined, InvalidReason.InvalidEvent],
      ["a field of the wrong type", tally(), { type: "Add", n: "7" }, undefined, InvalidReason.InvalidEvent],
      ["a fractional number", tally(), { type: "Add", n: 1.5 }, undefined, InvalidReason.InvalidEvent],
      ["an extra field", tally(), { type: "Add", n: 1, evil: true }, undefined, InvalidReason.InvalidEvent],
      ["no object at all", tally(), "Add", undefined, InvalidReason.InvalidEvent],
      ["null", tally(), null, undefined, InvalidReason.InvalidEvent],
      ["an empty event id", tally(), { type: "Open" }, "", InvalidReason.InvalidEventId],
      ["an event id with spaces", tally(), { type: "Open" }, "evt 1", InvalidReason.InvalidEventId],
      ["an overlong event id", tally(), { type: "Open" }, "e".repeat(256), InvalidReason.InvalidEventId],
    ];
    for (const [what, ref, event, eventId, reason] of cases) {
      it(`answers invalid (${reason}) to ${what} and writes nothing`, async () => {
        const { runtime, store } = setup();
        await runtime.run(tally(), { type: "Open" }, { eventId: "evt_setup" });
        const before = await everything(store);
        const result = expectKind(
          await runtime.run(ref, event, eventId === undefined ? {} : { eventId }),
          RunResultKind.Invalid,
        );
        assert.equal(result.reason, reason);
        assert.ok(result.message.length > 0);
        assert.deepEqual(await everything(store), before);
      });
    }

    it("lists the schema's issues with their paths", async () => {
      const { runtime } = setup();
      const result = expectKind(await runtime.run(tally(), { type: "Add", n: 0 }), "invalid");
      assert.equal(result.issues.length, 1);
      assert.deepEqual(result.issues[0]?.path, ["n"]);
    });

    it("refuses a machine registered twice", () => {
      assert.throws(
        () => new Runtime({ store: new MemoryStore(), machines: [tallyMachine, tallyMachine] }),
        ConfigurationError,
      );
    });
  });

  describe("concurrency", () => {
    it("serialises concurrent events on one entity in one process", async () => {
      const { runtime, store } = setup();
      await runtime.run(tally(), { type: "Open" });
      const results = await Promise.all(Array.from({ length: 50 }, () => runtime.run(tally(), { type: "Add", n: 1 })));
      assert.ok(results.every((r) => r.kind === "processed"));
      assert.deepEqual(
        results.map((r) => (r.kind === "processed" ? r.version : 0)).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 2),
      );
      assert.deepEqual((await store.getEntity(tally()))?.state, { open: true, total: 50, adds: 50 });
    });

    it("retries a version conflict from Load and answers conflict only when retries run out", async () => {
      const inner = new MemoryStore();
      let conflicts = 3;
      const flaky: Store = Object.assign(Object.create(inner) as Store, {
        load: inner.load.bind(inner),
        commit: async (steps: readonly StepWrite[]): Promise<CommitOutcome[]> => {
          if (conflicts-- > 0) return steps.map(() => ({ kind: CommitOutcomeKind.Conflict, currentVersion: 99 }));
          return inner.commit(steps);
        },
      });
      const retrying = new Runtime({ store: flaky, machines: [tallyMachine], maxAttempts: 4 });
      expectKind(await retrying.run(tally(), { type: "Open" }), "processed");

      conflicts = 10;
      const giving = new Runtime({ store: flaky, machines: [tallyMachine], maxAttempts: 3 });
      const result = expectKind(await giving.run(tally(), { type: "Add", n: 1 }, { eventId: "evt_c" }), "conflict");
      assert.equal(result.attempts, 3);
      assert.equal((await inner.history(tally())).length, 1);
      assert.equal(await inner.findInbox("evt_c"), undefined);
    });

    it("keeps journal, inbox and state in agreement for any interleaving of events (property)", async () => {
      const event = fc.oneof(
        fc.constant({ type: "Open" as const }),
        fc.constant({ type: "Close" as const }),
        fc.record({ type: fc.constant("Add" as const), n: fc.integer({ min: 1, max: 1000 }) }),
      );
      const send = fc.record({ id: fc.constantFrom("t_a", "t_b", "t_c"), event, key: fc.integer({ min: 0, max: 30 }) });
      await fc.assert(
        fc.asyncProperty(fc.array(send, { maxLength: 40 }), async (sends) => {
          const store = new MemoryStore();
          const a = new Runtime({ store, machines: [tallyMachine], maxAttempts: 50 });
          const b = new Runtime({ store, machines: [tallyMachine], maxAttempts: 50 });
          await Promise.all(
            sends.map((s, i) =>
              (i % 2 ? a : b).run(tally(s.id), s.event, { eventId: `evt_${s.id}_${s.key}`, at: T0 + i }),
            ),
          );
          for (const id of ["t_a", "t_b", "t_c"]) {
            const entity = await store.getEntity(tally(id));
            const history = await store.history(tally(id));
            assert.equal(history.length, entity?.version ?? 0);
            assert.deepEqual(
              history.map((entry) => entry.version),
              history.map((_, index) => index + 1),
            );
            assert.deepEqual(history.at(-1)?.state, entity?.state);
            for (const entry of history) {
              const inbox = await store.findInbox(entry.eventId);
              assert.equal(inbox?.result.kind, "processed");
              assert.equal(inbox?.result.version, entry.version);
            }
          }
        }),
        { numRuns: 60 },
      );
    });
  });

  describe("expected version (If-Match)", () => {
    it("applies the event when the entity is at the expected version", async () => {
      const { runtime } = setup();
      await runtime.run(tally(), { type: "Open" }, { expectedVersion: 0 });
      expectKind(await runtime.run(tally(), { type: "Add", n: 1 }, { expectedVersion: 1 }), "processed");
    });

    it("answers conflict with both versions when the entity moved on, and writes nothing", async () => {
      const { runtime, store } = setup();
      await runtime.run(tally(), { type: "Open" });
      await runtime.run(tally(), { type: "Add", n: 1 });
      const before = await everything(store);
      const result = expectKind(
        await runtime.run(tally(), { type: "Add", n: 1 }, { expectedVersion: 1, eventId: "evt_stale" }),
        "conflict",
      );
      assert.deepEqual([result.expectedVersion, result.currentVersion], [1, 2]);
      assert.deepEqual(await everything(store), before);
      assert.equal(await store.findInbox("evt_stale"), undefined);
    });

    it("refuses a negative or fractional expected version as invalid", async () => {
      const { runtime } = setup();
      const result = expectKind(await runtime.run(tally(), { type: "Open" }, { expectedVersion: -1 }), "invalid");
      assert.equal(result.reason, InvalidReason.InvalidVersion);
      const listed = expectKind(await runtime.run(tally(), { type: "Open" }, { expectedVersion: [0, 1.5] }), "invalid");
      assert.equal(listed.reason, InvalidReason.InvalidVersion);
    });

    it("takes a list of acceptable versions, checked after the inbox so a retry is a duplicate", async () => {
      const { runtime } = setup();
      await runtime.run(tally(), { type: "Open" });
      const first = await runtime.run(tally(), { type: "Add", n: 1 }, { expectedVersion: [3, 1], eventId: "evt_l" });
      expectKind(first, "processed");
      // The entity is at 2 now, outside the list: the same event again is its duplicate, not a conflict.
      expectKind(
        await runtime.run(tally(), { type: "Add", n: 1 }, { expectedVersion: [3, 1], eventId: "evt_l" }),
        "duplicate",
      );
      const stale = expectKind(
        await runtime.run(tally(), { type: "Add", n: 1 }, { expectedVersion: [1, 3] }),
        "conflict",
      );
      assert.deepEqual([stale.expectedVersion, stale.currentVersion], [[1, 3], 2]);
      expectKind(await runtime.run(tally(), { type: "Add", n: 1 }, { expectedVersion: [] }), "conflict");
    });
  });

  describe("faults", () => {
    it("writes nothing and throws when the machine throws (a bug, not a result)", async () => {
      const broken = defineMachine({
        ...tallyDefinition(),
        handle: () => {
          throw new RangeError("bug in the domain");
        },
      });
      const store = new MemoryStore();
      const runtime = new Runtime({ store, machines: [broken] });
      await runtime.run(tally(), { type: "Open" });
      const before = await everything(store);
      await assert.rejects(runtime.run(tally(), { type: "Add", n: 1 }, { eventId: "evt_bug" }), RangeError);
      assert.deepEqual(await everything(store), before);
      assert.equal(await store.findInbox("evt_bug"), undefined);
    });

    it("throws MachineContractError when a machine returns a state its schema refuses, and writes nothing", async () => {
      const liar = defineMachine({
        ...tallyDefinition(),
        create: () => accept({ open: "yes", total: 0, adds: 0 } as never),
      });
      const store = new MemoryStore();
      const runtime = new Runtime({ store, machines: [liar] });
      await assert.rejects(runtime.run(tally(), { type: "Open" }), MachineContractError);
      assert.equal(await store.getEntity(tally()), undefined);
    });

    it("throws the store's error when a step fails to save, and writes nothing", async () => {
      const inner = new MemoryStore();
      const failing: Store = Object.assign(Object.create(inner) as Store, {
        load: inner.load.bind(inner),
        commit: async (steps: readonly StepWrite[]): Promise<CommitOutcome[]> =>
          steps.map(() => ({ kind: CommitOutcomeKind.Failed, error: new Error("disk on fire") })),
      });
      const runtime = new Runtime({ store: failing, machines: [tallyMachine] });
      await assert.rejects(runtime.run(tally(), { type: "Open" }), /disk on fire/);
      assert.equal(await inner.getEntity(tally()), undefined);
    });

    it("keeps serving an entity after a failed step", async () => {
      const broken = defineMachine({
        ...tallyDefinition(),
        handle: (state, event) => {
          if (event.type === "Close") throw new Error("boom");
          return accept({ ...state, adds: state.adds + 1 });
        },
      });
      const runtime = new Runtime({ store: new MemoryStore(), machines: [broken] });
      await runtime.run(tally(), { type: "Open" });
      await assert.rejects(runtime.run(tally(), { type: "Close" }));
      expectKind(await runtime.run(tally(), { type: "Add", n: 1 }), "processed");
    });
  });

  describe("purity guard", () => {
    it("reports a machine that mutates the state it is given", async () => {
      const mutating = defineMachine({
        ...tallyDefinition(),
        handle: (state) => {
          (state as { adds: number }).adds += 1;
          return accept(state);
        },
      });
      const runtime = new Runtime({ store: new MemoryStore(), machines: [mutating], purity: PurityMode.Check });
      await runtime.run(tally(), { type: "Open" });
      await assert.rejects(runtime.run(tally(), { type: "Add", n: 1 }), (error: unknown) => {
        assert.ok(error instanceof ImpurityError);
        assert.match(error.message, /mutated its input/);
        return true;
      });
    });

    it("reports a machine whose two answers to the same input differ", async () => {
      let calls = 0;
      const wavering = defineMachine({
        ...tallyDefinition(),
        handle: (state) => accept({ ...state, total: calls++ }),
      });
      const runtime = new Runtime({ store: new MemoryStore(), machines: [wavering], purity: PurityMode.Check });
      await runtime.run(tally(), { type: "Open" });
      await assert.rejects(runtime.run(tally(), { type: "Add", n: 1 }), /answered Add differently twice/);
    });

    it("does not double-run the machine when the guard is off", async () => {
      let calls = 0;
      const counting = defineMachine({
        ...tallyDefinition(),
        handle: (state) => {
          calls++;
          return accept(state);
        },
      });
      const runtime = new Runtime({ store: new MemoryStore(), machines: [counting], purity: PurityMode.Off });
      await runtime.run(tally(), { type: "Open" });
      await runtime.run(tally(), { type: "Add", n: 1 });
      assert.equal(calls, 1);
    });
  });
});

/** The tally machine's definition parts, to derive broken variants from. */
function tallyDefinition() {
  return {
    name: "tally" as const,
    id: tallyMachine.schemas.id,
    state: z.strictObject({ open: z.boolean(), total: z.number().int(), adds: z.number().int() }),
    events: tallyMachine.schemas.event,
    intents: tallyMachine.schemas.intent,
    rejections: tallyMachine.schemas.rejection,
    creates: ["Open" as const],
    create: () => accept({ open: true, total: 0, adds: 0 }),
    handle: (state: { open: boolean; total: number; adds: number }) =>
      state.open ? accept(state) : reject("closed" as const),
  };
}
