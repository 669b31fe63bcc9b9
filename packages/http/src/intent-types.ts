import type { AnyMachine } from "@drover/core";
import { declaredIntentTypes } from "@drover/core";

/** The intent types a set of machines declares: what an operator may pause. */
export interface IntentTypeCatalog {
  /** Each declared intent type (timer intents left out), with the machines that declare it, by name. */
  readonly types: ReadonlyMap<string, readonly string[]>;
  /**
   * `false` when a machine's intent schema does not tell its types (not a union of objects
   * with a literal `type`): then an unknown name cannot be refused, only taken as given.
   */
  readonly complete: boolean;
}

/**
 * The intent types `machines` declare (`declaredIntentTypes` of each), so the HTTP API and
 * the CLI refuse to pause a name no machine uses — a typo would otherwise pause nothing, and
 * say so with a success.
 *
 * @example
 * const { types } = intentTypeCatalog([doors]);
 * types.get("Ring"); // ["doors"]
 */
export function intentTypeCatalog(machines: readonly AnyMachine[]): IntentTypeCatalog {
  const types = new Map<string, string[]>();
  let complete = true;
  for (const machine of machines) {
    const declared = declaredIntentTypes(machine);
    if (declared === undefined) {
      complete = false;
      continue;
    }
    for (const type of declared) types.set(type, [...(types.get(type) ?? []), machine.name]);
  }
  return { types: new Map([...types].sort(([a], [b]) => a.localeCompare(b))), complete };
}
