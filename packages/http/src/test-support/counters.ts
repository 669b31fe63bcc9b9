import type { AnyMachine, Store } from "@drover/core";
import { App, accept, defineMachine, MemoryStore, silentLogger } from "@drover/core";
import { z } from "zod";

// One machine, `counters`, as three deploys of its code would define it: version 1 counts,
// version 2 adds a `unit` (migrated from version 1 as "items"), version 3 adds a `step`. The
// HTTP tests write entities with one and serve them with another, on one store.

const CounterId = z.string().regex(/^c_[a-z0-9]{1,24}$/);
const Events = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("Start") }),
  z.strictObject({ type: z.literal("Bump") }),
]);
const common = {
  name: "counters",
  id: CounterId,
  events: Events,
  intents: z.strictObject({ type: z.literal("Never") }),
  rejections: z.enum(["never"]),
  creates: ["Start" as const],
  stateName: () => "counting",
};

const V1 = z.strictObject({ n: z.number().int() });
const V2 = z.strictObject({ n: z.number().int(), unit: z.string().min(1) });
const V3 = z.strictObject({ n: z.number().int(), unit: z.string().min(1), step: z.number().int() });

/** Version 1: `{ n }`. */
export const countersV1 = defineMachine({
  ...common,
  state: V1,
  create: () => accept({ n: 0 }),
  handle: (state) => accept({ n: state.n + 1 }),
});

/** Version 2: `{ n, unit }`; a version 1 state gets `unit: "items"` unless the test hands in another migration. */
export function countersV2(
  migrate: (state: z.output<typeof V1>) => unknown = (state) => ({ ...state, unit: "items" }),
) {
  return defineMachine({
    ...common,
    state: V2,
    version: 2,
    migrations: { 1: migrate },
    create: () => accept({ n: 0, unit: "items" }),
    handle: (state) => accept({ ...state, n: state.n + 1 }),
  });
}

/** Version 3: `{ n, unit, step }`. */
export const countersV3 = defineMachine({
  ...common,
  state: V3,
  version: 3,
  migrations: { 1: (state) => ({ ...state, unit: "items" }), 2: (state) => ({ ...state, step: 1 }) },
  create: () => accept({ n: 0, unit: "items", step: 1 }),
  handle: (state) => accept({ ...state, n: state.n + state.step }),
});

/** An app of one deploy of `counters` on `store` (shared by the deploys of a test). */
export function countersApp(machine: AnyMachine, store: Store = new MemoryStore()): App {
  return new App({ store, machines: [machine], logger: silentLogger });
}
