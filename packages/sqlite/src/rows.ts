import type { StateRewrite } from "@drover/core";
import { rowMappers } from "@drover/core/sql";

/**
 * The mapping of this store's rows to the port's records: the one every SQL store shares
 * (`@drover/core/sql`), with JSON kept as TEXT and so parsed on the way out.
 */
export const rows = rowMappers<string>(JSON.parse);

/** The parameters of the `rewriteState` statement for one rewrite, in its order. */
export type RewriteParams = [
  state: string,
  stateName: string | null,
  stateVersion: number,
  machine: string,
  id: string,
  version: number,
  belowStateVersion: number,
];

/**
 * A rewrite as `rewriteState` binds it. Throws a `TypeError` naming the entity for a state
 * JSON cannot hold or a state version that is no positive integer, so that a caller mapping
 * a whole batch first fails before any row changes.
 */
export function rewriteParams({ ref, version, state, stateName, stateVersion }: StateRewrite): RewriteParams {
  const entity = `${ref.machine}/${ref.id}`;
  if (!Number.isSafeInteger(stateVersion) || stateVersion < 1) {
    throw new TypeError(`the state version rewritten for ${entity} must be a positive integer, got ${stateVersion}`);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(state) as string | undefined;
  } catch (error) {
    throw new TypeError(`the state rewritten for ${entity} cannot be stored as JSON: ${String(error)}`, {
      cause: error,
    });
  }
  if (text === undefined) throw new TypeError(`the state rewritten for ${entity} is no JSON value`);
  return [text, stateName, stateVersion, ref.machine, ref.id, version, stateVersion];
}
