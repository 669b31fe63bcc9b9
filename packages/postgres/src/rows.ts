import type { Json } from "@drover/core";
import type { InboxColumns } from "@drover/core/sql";
import { rowMappers } from "@drover/core/sql";

/**
 * The mapping of this store's rows to the port's records: the one every SQL store shares
 * (`@drover/core/sql`), with `json` columns already parsed by node-postgres. `bigint` columns
 * arrive as numbers (the store's type parser; every value stays below 2^53).
 */
export const rows = rowMappers<Json>((value) => value);

/**
 * What the commit statement says of one step (`n` is its position in the batch, from 1). The
 * inbox columns are set when the event id was already in the inbox: the stored record's fields.
 */
export interface StepRow extends InboxColumns<Json> {
  readonly n: number;
  readonly written: boolean;
  /** The entity's version when the step is a conflict. */
  readonly current_version: number | null;
}
