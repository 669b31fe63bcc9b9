import { ConfigurationError } from "./errors.js";
import type {
  AnyMachine,
  MachineEventInput,
  MachineIdInput,
  MachineIntent,
  MachineRejection,
  MachineState,
} from "./machine.js";
import type { RunResult } from "./result.js";
import type { RunOptions } from "./run-options.js";

/**
 * A {@link RunResult} as machine `M`'s types describe it: a processed result's `state` is its
 * state type, its intents are its intent type, a rejection's `reason` its rejection type, and
 * a duplicate's `original` likewise. **contract**
 *
 * A duplicate's `original` is the answer as it was recorded: one recorded before the state's
 * version changed holds the state in its old shape, which these types do not describe.
 *
 * @example
 * const result: TypedRunResult<typeof doors> = await runtime.for(doors).run("door_1", { type: "Open" });
 * if (result.kind === RunResultKind.Processed) console.log(result.state.status); // "open"
 */
export type TypedRunResult<M> = RunResult<MachineState<M>, MachineIntent<M>, MachineRejection<M>>;

/**
 * Runs events against one machine, type-checked at compile time: `event` must be one of the
 * machine's events as callers write them (its event schema's input type), `id` its id as
 * callers write it (a plain string where the id is branded). Get one from `Runtime.for` or
 * `App.for`; the event is still parsed at run time, so refinements (`int()`, a regex) answer
 * `invalid` as they do for `run(ref, event)`.
 */
export interface TypedClient<M extends AnyMachine> {
  /** The machine this client runs events against. */
  readonly machine: M;
  /** Apply one event to the entity `id`: `run({ machine: machine.name, id }, event, options)`, typed. */
  run(id: MachineIdInput<M> & string, event: MachineEventInput<M>, options?: RunOptions): Promise<TypedRunResult<M>>;
}

/** An untyped `run`, the runtime's or the app's. */
type UntypedRun = (
  ref: { readonly machine: string; readonly id: string },
  event: unknown,
  options?: RunOptions,
) => Promise<RunResult>;

/**
 * A typed client of `machine` over `run`; throws a {@link ConfigurationError} unless `machine`
 * itself (not merely one of its name) is among `registered`, where `owner` ("runtime", "app")
 * says whose machines they are.
 */
export function typedClient<M extends AnyMachine>(
  machine: M,
  registered: ReadonlyMap<string, AnyMachine>,
  owner: string,
  run: UntypedRun,
): TypedClient<M> {
  const known = registered.get(machine.name);
  if (known !== machine) {
    const names = [...registered.keys()].join(", ");
    throw new ConfigurationError(
      known === undefined
        ? `machine "${machine.name}" is not registered in this ${owner} (registered: ${names}); add it to the ${owner}'s machines`
        : `another definition of machine "${machine.name}" is registered in this ${owner}; call for() with the machine the ${owner} was built with`,
    );
  }
  return Object.freeze({
    machine,
    // The runtime parses the event and the id with this machine's schemas and answers with
    // what this machine decided: the result has its types.
    run: async (id: MachineIdInput<M> & string, event: MachineEventInput<M>, options?: RunOptions) =>
      (await run({ machine: machine.name, id }, event, options)) as unknown as TypedRunResult<M>,
  });
}
