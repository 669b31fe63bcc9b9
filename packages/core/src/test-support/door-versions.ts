import { z } from "zod";
import type { Migrations } from "../evolution.js";
import { accept, defineMachine, reject } from "../machine.js";
import { schedule, scheduleSchema } from "../schedule.js";

/** Ids of the door fixture: `d_` and 1–24 lower-case letters or digits. */
export const DoorId = z
  .string()
  .regex(/^d_[a-z0-9]{1,24}$/)
  .brand<"DoorId">();

/** Why the door fixture refuses an event. */
export const DoorRejection = { AlreadyInstalled: "already_installed" } as const;

/** Where a door is: the `status` of its state. */
export const DoorStatus = { Open: "open", Closed: "closed" } as const;
export type DoorStatus = (typeof DoorStatus)[keyof typeof DoorStatus];

/** A door as version 1 of its machine stored it. */
export interface DoorV1 {
  readonly status: DoorStatus;
}

const Install = z.strictObject({ type: z.literal("Install") });
const RingV1 = z.strictObject({ type: z.literal("Ring") });
const RingV2 = z.strictObject({ type: z.literal("Ring"), loud: z.boolean() });
const DoorStateV1 = z.strictObject({ status: z.enum(DoorStatus) });
const DoorStateV2 = z.strictObject({ status: z.enum(DoorStatus), rings: z.number().int().min(0) });

/**
 * Version 1 of a tiny machine for tests of schema evolution: `Install` creates a closed door
 * and schedules a `Ring` a minute later; `Ring` opens it.
 */
export const doorsV1 = defineMachine({
  name: "doors",
  id: DoorId,
  state: DoorStateV1,
  events: z.discriminatedUnion("type", [Install, RingV1]),
  intents: scheduleSchema(RingV1),
  rejections: z.enum(DoorRejection),
  creates: ["Install"],
  create: (_event, ctx) => accept({ status: DoorStatus.Closed }, schedule(ctx.at + 60_000, { type: "Ring" as const })),
  handle: (_state, event) =>
    event.type === "Install"
      ? reject(DoorRejection.AlreadyInstalled, "this door is installed")
      : accept({ status: DoorStatus.Open }),
});

/**
 * Version 2 of the door machine: the state counts its rings (state version 2, a door stored at
 * version 1 has rung none) and `Ring` says whether it was loud (event version 2, a recorded
 * `Ring` was not). `migration` and `eventMigration` replace the chain, for tests of broken ones.
 */
export function doorsV2(
  options: {
    readonly migration?: (state: DoorV1) => unknown;
    readonly eventMigration?: (event: { readonly type: string }) => unknown;
  } = {},
) {
  const migrations: Migrations = { 1: options.migration ?? ((state: DoorV1) => ({ ...state, rings: 0 })) };
  const eventMigrations: Migrations = {
    1:
      options.eventMigration ??
      ((event: { readonly type: string }) => (event.type === "Ring" ? { ...event, loud: false } : event)),
  };
  return defineMachine({
    name: "doors",
    id: DoorId,
    state: DoorStateV2,
    version: 2,
    migrations,
    events: z.discriminatedUnion("type", [Install, RingV2]),
    eventVersion: 2,
    eventMigrations,
    intents: scheduleSchema(RingV2),
    rejections: z.enum(DoorRejection),
    creates: ["Install"],
    create: (_event, ctx) =>
      accept(
        { status: DoorStatus.Closed, rings: 0 },
        schedule(ctx.at + 60_000, { type: "Ring" as const, loud: false }),
      ),
    handle: (state, event) =>
      event.type === "Install"
        ? reject(DoorRejection.AlreadyInstalled, "this door is installed")
        : accept({ status: DoorStatus.Open, rings: state.rings + 1 }),
  });
}
