// A tiny machine at three state versions, for the tests of `drover upgrade`, `inspect` and
// the serve check: the App-level tests import it, the e2e tests' temporary configs import its
// built file. v1 stores { count }, v2 adds a label, v3 adds a step.

import { accept, defineMachine } from "@drover/core";
import { z } from "zod";

/** The state versions {@link counterMachine} comes at. */
export type CounterVersion = 1 | 2 | 3;

/** How to build a {@link counterMachine}. */
export interface CounterOptions {
  readonly version: CounterVersion;
  /** The migration from v1 throws for a state whose count is this (a broken migration). */
  readonly failOnCount?: number;
}

/** The counter refuses nothing; a machine still names its rejections. */
const CounterRejection = { Never: "never" } as const;

const Id = z.string().regex(/^c_[a-z0-9]{1,24}$/);
const Events = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("Start") }),
  z.strictObject({ type: z.literal("Add"), n: z.number().int().min(1) }),
]);
const States = {
  1: z.strictObject({ count: z.number().int() }),
  2: z.strictObject({ count: z.number().int(), label: z.string() }),
  3: z.strictObject({ count: z.number().int(), label: z.string(), step: z.number().int() }),
} as const;

/**
 * The counter machine at `version`: `Start` creates it at 0, `Add {n}` adds n. No intents,
 * no rejections: what changes between versions is only the shape of the state.
 *
 * @example
 * const v1 = counterMachine({ version: 1 });
 * const v2 = counterMachine({ version: 2, failOnCount: 13 });
 */
export function counterMachine({ version, failOnCount }: CounterOptions) {
  const toV2 = (state: Readonly<Record<string, unknown>>) => {
    if (state.count === failOnCount) throw new Error(`cannot label a count of ${String(failOnCount)}`);
    return { ...state, label: "unlabelled" };
  };
  const toV3 = (state: Readonly<Record<string, unknown>>) => ({ ...state, step: 1 });
  const migrations = version === 1 ? {} : version === 2 ? { 1: toV2 } : { 1: toV2, 2: toV3 };
  const fresh = { count: 0, label: "unlabelled", step: 1 };
  const shape = (state: typeof fresh) =>
    version === 1 ? { count: state.count } : version === 2 ? { count: state.count, label: state.label } : state;
  return defineMachine({
    name: "counter",
    id: Id,
    version,
    migrations,
    state: States[version] as z.ZodType<Record<string, unknown>>,
    events: Events,
    intents: z.never(),
    rejections: z.enum(CounterRejection),
    creates: ["Start"],
    create: () => accept(shape(fresh)),
    handle: (state, event) => {
      const current = { ...fresh, ...state } as typeof fresh;
      return accept(shape(event.type === "Add" ? { ...current, count: current.count + event.n } : current));
    },
  });
}
