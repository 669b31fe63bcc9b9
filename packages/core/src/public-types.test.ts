// Type tests: they pin the public types of defineMachine, accept/reject and RunResult. `tsc -b`
// compiles this file, so an `@ts-expect-error` that no longer finds an error fails the build,
// and an equality below that stops holding does too. The runtime part only keeps node:test happy.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import type {
  Accepted,
  MachineEvent,
  MachineId,
  MachineRejection,
  MachineState,
  Rejected,
  RunResult,
} from "./index.js";
import { accept, defineMachine, RunResultKind, reject } from "./index.js";

/** `true` only when A and B are the same type (not merely assignable either way). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_proof?: T): void {}

const LampId = z
  .string()
  .regex(/^lamp_\w+$/)
  .brand<"LampId">();
const LampRejection = { AlreadyOn: "already_on", AlreadyInstalled: "already_installed" } as const;

const lamps = defineMachine({
  name: "lamps",
  id: LampId,
  state: z.object({ on: z.boolean() }),
  events: z.discriminatedUnion("type", [z.object({ type: z.literal("Install") }), z.object({ type: z.literal("On") })]),
  intents: z.object({ type: z.literal("Glow") }),
  rejections: z.enum(LampRejection),
  creates: ["Install"],
  create: () => accept({ on: false }),
  handle: (state, event) =>
    event.type === "Install"
      ? reject(LampRejection.AlreadyInstalled)
      : state.on
        ? reject(LampRejection.AlreadyOn)
        : accept({ on: true }, { type: "Glow" as const }),
});

/** The schemas of a one-event lamp, for the definitions below that each break one rule. */
const oneEventLamp = {
  name: "lamps",
  id: LampId,
  state: z.object({ on: z.boolean() }),
  events: z.object({ type: z.literal("Install") }),
  intents: z.object({ type: z.literal("Glow") }),
  rejections: z.enum(LampRejection),
} as const;

describe("public types", () => {
  it("defineMachine infers the id, state, event and rejection types from the schemas", () => {
    expectType<Equals<MachineId<typeof lamps>, string & z.BRAND<"LampId">>>(true);
    expectType<Equals<MachineState<typeof lamps>, { on: boolean }>>(true);
    expectType<Equals<MachineEvent<typeof lamps>, { type: "Install" } | { type: "On" }>>(true);
    expectType<Equals<MachineRejection<typeof lamps>, "already_on" | "already_installed">>(true);
    assert.equal(lamps.name, "lamps");
  });

  it("defineMachine refuses rules that break the schemas", () => {
    defineMachine({
      ...oneEventLamp,
      // @ts-expect-error: "Off" is not an event type of this machine
      creates: ["Off"],
      create: () => accept({ on: false }),
      handle: () => accept({ on: true }),
    });
    defineMachine({
      ...oneEventLamp,
      creates: ["Install"],
      create: () => accept({ on: false }),
      // @ts-expect-error: "broken" is not one of the machine's rejections
      handle: () => reject("broken"),
    });
    defineMachine({
      ...oneEventLamp,
      creates: ["Install"],
      // @ts-expect-error: the state must match the state schema
      create: () => accept({ on: "yes" }),
      handle: () => accept({ on: true }),
    });
    defineMachine({
      ...oneEventLamp,
      creates: ["Install"],
      create: () => accept({ on: false }),
      // @ts-expect-error: an intent must be one the intent schema declares
      handle: () => accept({ on: true }, { type: "Explode" as const }),
    });
  });

  it("accept keeps the state and the literal intents, reject keeps the literal reason", () => {
    const accepted = accept({ on: true }, { type: "Glow" }, { type: "Hum" });
    expectType<
      Equals<typeof accepted, Accepted<{ on: boolean }, { readonly type: "Glow" } | { readonly type: "Hum" }>>
    >(true);
    const rejected = reject(LampRejection.AlreadyOn, "it is on");
    expectType<Equals<typeof rejected, Rejected<"already_on">>>(true);
    // @ts-expect-error: a reason is a string
    reject(42);
    assert.deepEqual(accepted.intents, [{ type: "Glow" }, { type: "Hum" }]);
  });

  it("RunResult is a union on kind that a switch narrows exhaustively", () => {
    const describeResult = (result: RunResult): string => {
      switch (result.kind) {
        case RunResultKind.Processed:
          return `v${result.version}`;
        case RunResultKind.Rejected:
          return result.reason;
        case RunResultKind.NotFound:
        case RunResultKind.Duplicate:
        case RunResultKind.Conflict:
        case RunResultKind.Invalid:
        case RunResultKind.Unreadable:
          return result.kind;
        default: {
          const exhaustive: never = result;
          return exhaustive;
        }
      }
    };
    expectType<Equals<RunResult["kind"], RunResultKind>>(true);
    const notFound: RunResult = { kind: RunResultKind.NotFound, machine: "lamps", id: "lamp_1", eventId: "e1" };
    // @ts-expect-error: only a processed result has a version
    notFound.version;
    assert.equal(describeResult(notFound), "not_found");
  });
});
