import type { Statement } from "./statements.js";

/**
 * The store's write probe (`Store.probe`): `txid_current()` gives the statement's transaction
 * an id, so its commit writes a commit record to the WAL and waits for it to be flushed, as a
 * step's commit does — without a table, and leaving no row behind. It fails where a step's
 * commit would: the server down or unreachable, the connection refused, a read-only standby
 * ("cannot assign TransactionIds during recovery"), the WAL's disk full.
 *
 * @example
 * await pool.read("probing with a write", WRITE_PROBE, []);
 */
export const WRITE_PROBE: Statement = { name: "drover_probe", text: "SELECT txid_current()" };
