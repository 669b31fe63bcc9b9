// Type tests of the typed clients (`runtime.for(machine)`, `app.for(machine)`), run on a
// MemoryStore. `tsc -b` compiles this file, so an `@ts-expect-error` that no longer finds an
// error fails the build; each wrong call also runs, and the runtime refuses it as well.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import type {
  MachineEvent,
  MachineEventInput,
  MachineIdInput,
  MachineIntent,
  MachineRejection,
  MachineState,
  RunResult,
  TypedRunResult,
} from "./index.js";
import {
  App,
  accept,
  ConfigurationError,
  defineMachine,
  MemoryStore,
  RunResultKind,
  Runtime,
  reject,
  silentLogger,
} from "./index.js";

/** `true` only when A and B are the same type (not merely assignable either way). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_proof?: T): void {}

const LockerId = z
  .string()
  .regex(/^locker_\w+$/)
  .brand<"LockerId">();
const Cents = z.number().int().positive().brand<"Cents">();
const LockerRejection = { AlreadyFull: "already_full", AlreadyEmpty: "already_empty", Installed: "installed" } as const;

const lockerSchemas = {
  id: LockerId,
  state: z.object({ status: z.enum(["empty", "full"]), deposit: Cents }),
  events: z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("Install"), deposit: Cents }),
    z.strictObject({ type: z.literal("Fill"), item: z.string().min(1) }),
    z.strictObject({ type: z.literal("Empty") }),
  ]),
  intents: z.object({ type: z.literal("Unlock"), locker: LockerId }),
  rejections: z.enum(LockerRejection),
} as const;

// Bare literals in the states `create` and `handle` return stay literals (`"empty"`, not
// `string`) because both declare their parameters (see MachineDefinition.create).
const lockers = defineMachine({
  name: "lockers",
  ...lockerSchemas,
  creates: ["Install"],
  create: (event) => accept({ status: "empty", deposit: event.deposit }),
  handle: (state, event, ctx) => {
    switch (event.type) {
      case "Install":
        return reject(LockerRejection.Installed);
      case "Fill":
        return state.status === "full"
          ? reject(LockerRejection.AlreadyFull)
          : accept({ ...state, status: "full" }, { type: "Unlock", locker: ctx.entityId });
      case "Empty":
        return state.status === "empty" ? reject(LockerRejection.AlreadyEmpty) : accept({ ...state, status: "empty" });
    }
  },
});

/** Another machine of the same name, as an older build of the code might define it. */
const otherLockers = defineMachine({
  name: "lockers",
  ...lockerSchemas,
  creates: ["Install"],
  create: (event) => accept({ status: "empty", deposit: event.deposit }),
  handle: (_state) => reject(LockerRejection.Installed),
});

type LockerState = { status: "empty" | "full"; deposit: number & z.BRAND<"Cents"> };

describe("typed clients", () => {
  it("take the machine's id and events as callers write them, before parsing", () => {
    expectType<Equals<MachineState<typeof lockers>, LockerState>>(true);
    expectType<Equals<MachineIdInput<typeof lockers>, string>>(true);
    const install: MachineEventInput<typeof lockers> = { type: "Install", deposit: 500 };
    // @ts-expect-error: a parsed event's deposit is branded, which callers could not write
    const parsed: MachineEvent<typeof lockers> = { type: "Install", deposit: 500 };
    assert.deepEqual(install, parsed);
  });

  it("run an event and answer with the machine's state, intent and rejection types", async () => {
    const runtime = new Runtime({ store: new MemoryStore(), machines: [lockers] });
    const client = runtime.for(lockers);
    assert.equal(client.machine, lockers);

    const installed = await client.run("locker_1", { type: "Install", deposit: 500 });
    assert.ok(installed.kind === RunResultKind.Processed);
    expectType<Equals<typeof installed.state, LockerState>>(true);
    const status: "empty" | "full" = installed.state.status;
    assert.deepEqual([status, installed.state.deposit, installed.version], ["empty", 500, 1]);

    const filled = await client.run("locker_1", { type: "Fill", item: "umbrella" }, { eventId: "fill-1" });
    assert.ok(filled.kind === RunResultKind.Processed);
    expectType<Equals<(typeof filled.intents)[number]["intent"], MachineIntent<typeof lockers>>>(true);
    const unlock: { type: "Unlock"; locker: string } | undefined = filled.intents[0]?.intent;
    assert.deepEqual(unlock, { type: "Unlock", locker: "locker_1" });

    const again = await client.run("locker_1", { type: "Fill", item: "umbrella" }, { eventId: "fill-1" });
    assert.ok(again.kind === RunResultKind.Duplicate);
    assert.ok(again.original.kind === RunResultKind.Processed);
    const original: LockerState = again.original.state;
    assert.equal(original.status, "full");

    const refused = await client.run("locker_1", { type: "Fill", item: "scarf" });
    assert.ok(refused.kind === RunResultKind.Rejected);
    expectType<Equals<typeof refused.reason, MachineRejection<typeof lockers>>>(true);
    assert.equal(refused.reason, LockerRejection.AlreadyFull);

    // The untyped run is still there, and knows no more than JSON.
    const untyped: RunResult = await runtime.run({ machine: "lockers", id: "locker_1" }, { type: "Empty" });
    assert.ok(untyped.kind === RunResultKind.Processed);
    // @ts-expect-error: an untyped result's state is JSON, not the machine's state
    const notTyped: LockerState = untyped.state;
    assert.equal(notTyped.status, "empty");
  });

  it("refuse wrong events at compile time (and the runtime refuses them too)", async () => {
    const client = new Runtime({ store: new MemoryStore(), machines: [lockers] }).for(lockers);
    const results: TypedRunResult<typeof lockers>[] = [
      // @ts-expect-error: "Instal" is not an event type of lockers
      await client.run("locker_2", { type: "Instal", deposit: 500 }),
      // @ts-expect-error: a deposit is a number
      await client.run("locker_2", { type: "Install", deposit: "500" }),
      // @ts-expect-error: Fill needs an item
      await client.run("locker_2", { type: "Fill" }),
      // @ts-expect-error: Empty is a strict object: no other member
      await client.run("locker_2", { type: "Empty", force: true }),
      // @ts-expect-error: an id is a string
      await client.run(2, { type: "Install", deposit: 500 }),
    ];
    assert.deepEqual(
      results.map((result) => result.kind),
      Array(5).fill(RunResultKind.Invalid),
    );
    // What the types cannot say (an integer, a pattern) the schemas still check at run time.
    const refined = await client.run("locker_2", { type: "Install", deposit: 2.5 });
    assert.equal(refined.kind, RunResultKind.Invalid);
    const badId = await client.run("cupboard_2", { type: "Install", deposit: 500 });
    assert.equal(badId.kind, RunResultKind.Invalid);
  });

  it("are refused for a machine the runtime or the app was not built with", () => {
    const runtime = new Runtime({ store: new MemoryStore(), machines: [lockers] });
    const tally = defineMachine({
      name: "tally",
      id: z.string(),
      state: z.object({ n: z.number() }),
      events: z.object({ type: z.literal("Open") }),
      intents: z.never(),
      rejections: z.enum(["open"]),
      creates: ["Open"],
      create: () => accept({ n: 0 }),
      handle: () => reject("open"),
    });
    assert.throws(
      () => runtime.for(tally),
      (error) =>
        error instanceof ConfigurationError &&
        /machine "tally" is not registered in this runtime \(registered: lockers\)/.test(error.message),
    );
    assert.throws(
      () => runtime.for(otherLockers),
      (error) => error instanceof ConfigurationError && /another definition of machine "lockers"/.test(error.message),
    );
    const app = new App({ store: new MemoryStore(), machines: [lockers], logger: silentLogger });
    assert.throws(
      () => app.for(tally),
      (error) => error instanceof ConfigurationError && /not registered in this app/.test(error.message),
    );
  });

  it("run through the app, so that its observers see the event", async () => {
    const app = new App({ store: new MemoryStore(), machines: [lockers], logger: silentLogger });
    const seen: string[] = [];
    app.observe({ onResult: (report) => seen.push(`${report.id} ${report.result.kind}`) });
    const result = await app.for(lockers).run("locker_3", { type: "Install", deposit: 100 });
    assert.ok(result.kind === RunResultKind.Processed);
    assert.equal(result.state.status, "empty");
    assert.deepEqual(seen, ["locker_3 processed"]);
  });
});
