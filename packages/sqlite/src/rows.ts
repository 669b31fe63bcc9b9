import { rowMappers } from "@drover/core/sql";

/**
 * The mapping of this store's rows to the port's records: the one every SQL store shares
 * (`@drover/core/sql`), with JSON kept as TEXT and so parsed on the way out.
 */
export const rows = rowMappers<string>(JSON.parse);
