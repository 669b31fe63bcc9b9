/**
 * Rows as a SQL store reads them back: snake_case columns, times and versions as numbers, and
 * each JSON column as `J`, whatever the driver hands over for it (`string` where JSON is kept
 * as text, as in SQLite; the parsed value where the driver parses it, as node-postgres does
 * for `json`).
 */

export interface EntityRow<J> {
  readonly machine: string;
  readonly id: string;
  readonly version: number;
  readonly state: J;
  readonly state_name: string | null;
  readonly state_version: number;
  readonly created_at: number;
  readonly updated_at: number;
}

export interface JournalRow<J> {
  readonly machine: string;
  readonly id: string;
  readonly version: number;
  readonly event_id: string;
  readonly event: J;
  readonly event_version: number;
  /** The state the machine decided on. */
  readonly decision: J;
  readonly state_version: number;
  readonly intents: J;
  readonly at: number;
}

export interface InboxRow<J> {
  readonly event_id: string;
  readonly machine: string;
  readonly id: string;
  readonly fingerprint: string;
  readonly result: J;
  readonly at: number;
}

/** The columns of a row the work queue leases: the outbox's and the timers'. */
export interface LeaseColumns {
  readonly status: string;
  readonly attempts: number;
  readonly next_attempt_at: number;
  readonly lease_owner: string | null;
  readonly lease_until: number | null;
  readonly last_error: string | null;
}

export interface OutboxRow<J> extends LeaseColumns {
  readonly intent_id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly intent: J;
  readonly created_at: number;
  /** The W3C `traceparent` of the step that wrote the row; NULL: none, or written before it was kept. */
  readonly trace_parent: string | null;
}

export interface TimerRow<J> extends LeaseColumns {
  readonly timer_id: string;
  /** The machine's name for it (see `TimerRecord.key`), or NULL. */
  readonly timer_key: string | null;
  readonly machine: string;
  readonly entity_id: string;
  readonly event: J;
  readonly event_version: number;
  readonly due_at: number;
  /** As the outbox's: the `traceparent` of the step that set the timer, or NULL. */
  readonly trace_parent: string | null;
}

/** A row as a claim returns it: with its commit order, since RETURNING yields rows in no order. */
export type Claimed<Row> = Row & { readonly seq: number };

/** The inbox columns of a load row, named apart from the entity's; NULLs when there is no record. */
export interface InboxColumns<J> {
  readonly inbox_machine: string | null;
  readonly inbox_id: string | null;
  readonly fingerprint: string | null;
  readonly result: J | null;
  readonly at: number | null;
}

/** The entity and the inbox record of one `load`, fetched together; NULLs where one is missing. */
export interface LoadRow<J> extends InboxColumns<J> {
  readonly version: number | null;
  readonly state: J | null;
  readonly state_name: string | null;
  readonly state_version: number | null;
  readonly created_at: number | null;
  readonly updated_at: number | null;
}

/** One line of a count by state name. */
export interface StateNameCountRow {
  readonly state_name: string | null;
  readonly n: number;
}

/** One line of a count by state version. */
export interface StateVersionCountRow {
  readonly state_version: number;
  readonly n: number;
}

/** One line of a count of the outbox by status. */
export interface StatusCountRow {
  readonly status: string;
  readonly n: number;
}
