import type { Transition } from "../graph/diagram.js";
import type { AnyMachine, StepContext, Typed } from "../machine.js";
import { DecisionKind } from "../machine.js";

/** A machine that notes every transition it takes, and what it noted. */
export interface TransitionRecorder<M> {
  /** The same machine, noting each accepted step of `create` and `handle`. */
  readonly machine: M;
  /** The distinct transitions taken so far, in the order first taken. */
  transitions(): Transition[];
}

/**
 * Wrap a machine so that every accepted step is noted as (state name before, event type, state
 * name after): run your domain tests through `recorder.machine`, then check that the explored
 * diagram has every transition they took.
 *
 * @example
 * import assert from "node:assert/strict";
 * import { exploreMachine } from "@drover/core/graph";
 * const recorder = recordTransitions(doors);
 * scenario(recorder.machine, "door_1").given({ type: "Install" }).when({ type: "Open" }).accepted({ status: "open" });
 * const graph = exploreMachine(doors);
 * for (const t of recorder.transitions()) {
 *   assert.ok(graph.transitions.some((g) => g.from === t.from && g.event === t.event && g.to === t.to));
 * }
 */
export function recordTransitions<M extends AnyMachine>(machine: M): TransitionRecorder<M> {
  const seen = new Map<string, Transition>();
  const note = (from: string | null, event: Typed, state: unknown) => {
    const to = machine.stateName(state) ?? "?";
    const key = `${from}\u0000${event.type}\u0000${to}`;
    if (!seen.has(key)) seen.set(key, { from, event: event.type, to });
  };
  const recording: M = Object.freeze({
    ...machine,
    create: (event: Typed, ctx: StepContext<string>) => {
      const decision = machine.create(event, ctx);
      if (decision.kind === DecisionKind.Accepted) note(null, event, decision.state);
      return decision;
    },
    handle: (state: unknown, event: Typed, ctx: StepContext<string>) => {
      const decision = machine.handle(state, event, ctx);
      if (decision.kind === DecisionKind.Accepted) note(machine.stateName(state) ?? "?", event, decision.state);
      return decision;
    },
  });
  return { machine: recording, transitions: () => [...seen.values()] };
}
