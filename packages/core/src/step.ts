import { ImpurityError, MachineContractError } from "./errors.js";
import { describeIssues, toIssues } from "./issues.js";
import { stableStringify } from "./json.js";
import type { AnyMachine, Decision, StepContext, Typed } from "./machine.js";
import { DecisionKind } from "./machine.js";
import { RunResultKind } from "./result.js";

/** What one step comes to: the machine's decision, or "no such entity". */
export type StepOutcome = Decision<unknown, Typed, string> | { readonly kind: typeof RunResultKind.NotFound };

/** How carefully to run a machine: a smart enum. */
export const PurityMode = {
  /** Call the machine once. Production. */
  Off: "off",
  /** Call it twice on deep-frozen copies; throw {@link ImpurityError} if it mutates or wavers. */
  Check: "check",
} as const;
export type PurityMode = (typeof PurityMode)[keyof typeof PurityMode];

/**
 * Ask a machine about one event: `create` when there is no entity and the event may create
 * one, `handle` when there is one, "not found" otherwise. Pure, like the machine.
 */
export function decide(
  machine: AnyMachine,
  state: unknown,
  exists: boolean,
  event: Typed,
  ctx: StepContext,
): StepOutcome {
  if (exists) return machine.handle(state, event, ctx);
  if (!machine.creates.includes(event.type)) return { kind: RunResultKind.NotFound };
  return machine.create(event, ctx);
}

/**
 * {@link decide}, then hold the machine to its own schemas: the state and intents it
 * returns must parse, and the parsed values are what gets stored.
 */
export function decideChecked(
  machine: AnyMachine,
  state: unknown,
  exists: boolean,
  event: Typed,
  ctx: StepContext,
  purity: PurityMode,
): StepOutcome {
  const outcome =
    purity === PurityMode.Check
      ? sameTwice(machine, event, () => callFrozen(machine, state, exists, event, ctx))
      : decide(machine, state, exists, event, ctx);
  if (outcome.kind !== DecisionKind.Accepted) return outcome;
  const parsedState = machine.schemas.state.safeParse(outcome.state);
  if (!parsedState.success) {
    throw new MachineContractError(
      `machine "${machine.name}" returned a state its schema refuses on ${event.type}: ${describeIssues(toIssues(parsedState.error))}`,
    );
  }
  const intents = outcome.intents.map((intent) => {
    const parsed = machine.schemas.intent.safeParse(intent);
    if (!parsed.success) {
      throw new MachineContractError(
        `machine "${machine.name}" returned an intent its schema refuses on ${event.type}: ${describeIssues(toIssues(parsed.error))}`,
      );
    }
    return parsed.data;
  });
  return { kind: DecisionKind.Accepted, state: parsedState.data, intents };
}

/** Ask twice and insist on one answer: a machine that wavers reads something besides its input. */
function sameTwice(machine: AnyMachine, event: Typed, ask: () => StepOutcome): StepOutcome {
  const first = ask();
  const second = ask();
  const a = stableStringify(first);
  const b = stableStringify(second);
  if (a !== b) {
    throw new ImpurityError(
      `machine "${machine.name}" answered ${event.type} differently twice on the same input (does it read the clock, a random source or shared state?): ${a} vs ${b}`,
    );
  }
  return first;
}

/** {@link decide} on deep-frozen copies of its input, so that a mutation throws {@link ImpurityError}. */
function callFrozen(machine: AnyMachine, state: unknown, exists: boolean, event: Typed, ctx: StepContext): StepOutcome {
  try {
    return decide(
      machine,
      deepFreeze(structuredClone(state)),
      exists,
      deepFreeze(structuredClone(event)),
      Object.freeze({ ...ctx }),
    );
  } catch (error) {
    if (
      error instanceof TypeError &&
      /read[- ]only|not extensible|Cannot (assign|add|delete|define)|frozen/i.test(error.message)
    ) {
      throw new ImpurityError(
        `machine "${machine.name}" mutated its input while handling ${event.type}: ${error.message}`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

/** Freeze a value and everything reachable from it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
