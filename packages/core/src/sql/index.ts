/**
 * `@drover/core/sql`: what the SQL adapters of the `Store` port share — the rows they read
 * back, with each JSON column as whatever their driver hands over, and the mapping of those rows
 * to the port's records. No database library: each adapter brings its own driver and says how
 * its JSON columns arrive.
 *
 * @example
 * import { rowMappers } from "@drover/core/sql";
 * const { toEntity } = rowMappers<string>(JSON.parse);
 * toEntity({ machine: "doors", id: "d1", version: 1, state: '{"status":"open"}', state_name: "open",
 *   state_version: 1, created_at: 0, updated_at: 0 });
 *
 * @packageDocumentation
 */
export type { DecodeJson, RowMappers } from "./row-mappers.js";
export { rowMappers } from "./row-mappers.js";
// Every row type is part of what the adapters share.
export type * from "./rows.js";
export type { Placeholder, SettleSql } from "./settle-sql.js";
export { refundOf, settleStatements } from "./settle-sql.js";
