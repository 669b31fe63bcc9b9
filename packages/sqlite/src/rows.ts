import type {
  EntityRef,
  InboxRecord,
  JournalEntry,
  Json,
  LoadResult,
  OutboxRecord,
  OutboxStatus,
  StoredEntity,
  TimerRecord,
  TimerStatus,
} from "@drover/core";

/** Rows as SQLite hands them back (JSON still text), and their mapping to the port's records. */

export interface EntityRow {
  readonly machine: string;
  readonly id: string;
  readonly version: number;
  readonly state: string;
  readonly state_name: string | null;
  readonly created_at: number;
  readonly updated_at: number;
}

export interface JournalRow {
  readonly machine: string;
  readonly id: string;
  readonly version: number;
  readonly event_id: string;
  readonly event: string;
  readonly decision: string;
  readonly intents: string;
  readonly at: number;
}

export interface InboxRow {
  readonly event_id: string;
  readonly machine: string;
  readonly id: string;
  readonly fingerprint: string;
  readonly result: string;
  readonly at: number;
}

export interface OutboxRow {
  readonly intent_id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly intent: string;
  readonly status: string;
  readonly attempts: number;
  readonly next_attempt_at: number;
  readonly lease_owner: string | null;
  readonly lease_until: number | null;
  readonly last_error: string | null;
  readonly created_at: number;
}

export interface TimerRow {
  readonly timer_id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly event: string;
  readonly due_at: number;
  readonly status: string;
  readonly attempts: number;
  readonly next_attempt_at: number;
  readonly lease_owner: string | null;
  readonly lease_until: number | null;
  readonly last_error: string | null;
}

/** An outbox row as a claim returns it: with its commit order, since RETURNING has none. */
export interface ClaimedOutboxRow extends OutboxRow {
  readonly seq: number;
}

/** A timer row as a claim returns it: with its rowid, the tie-break among equal due times. */
export interface ClaimedTimerRow extends TimerRow {
  readonly seq: number;
}

/** The entity and the inbox record of one `load`, fetched together; NULLs where one is missing. */
export interface LoadRow {
  readonly version: number | null;
  readonly state: string | null;
  readonly state_name: string | null;
  readonly created_at: number | null;
  readonly updated_at: number | null;
  readonly inbox_machine: string | null;
  readonly inbox_id: string | null;
  readonly fingerprint: string | null;
  readonly result: string | null;
  readonly at: number | null;
}

export function fromLoadRow(row: LoadRow, ref: EntityRef, eventId: string): LoadResult {
  const entity =
    row.version === null || row.state === null || row.created_at === null || row.updated_at === null
      ? undefined
      : toEntity({
          machine: ref.machine,
          id: ref.id,
          version: row.version,
          state: row.state,
          state_name: row.state_name,
          created_at: row.created_at,
          updated_at: row.updated_at,
        });
  const inbox =
    row.inbox_machine === null ||
    row.inbox_id === null ||
    row.fingerprint === null ||
    row.result === null ||
    row.at === null
      ? undefined
      : toInbox({
          event_id: eventId,
          machine: row.inbox_machine,
          id: row.inbox_id,
          fingerprint: row.fingerprint,
          result: row.result,
          at: row.at,
        });
  return { entity, inbox };
}

export function toEntity(row: EntityRow): StoredEntity {
  return {
    machine: row.machine,
    id: row.id,
    version: row.version,
    state: JSON.parse(row.state) as Json,
    stateName: row.state_name,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toJournalEntry(row: JournalRow): JournalEntry {
  return {
    machine: row.machine,
    id: row.id,
    version: row.version,
    eventId: row.event_id,
    event: JSON.parse(row.event) as Json,
    state: JSON.parse(row.decision) as Json,
    intents: JSON.parse(row.intents) as JournalEntry["intents"],
    at: row.at,
  };
}

export function toInbox(row: InboxRow): InboxRecord {
  return {
    eventId: row.event_id,
    machine: row.machine,
    id: row.id,
    fingerprint: row.fingerprint,
    result: JSON.parse(row.result) as InboxRecord["result"],
    at: row.at,
  };
}

export function toOutbox(row: OutboxRow): OutboxRecord {
  return {
    intentId: row.intent_id,
    machine: row.machine,
    entityId: row.entity_id,
    intent: JSON.parse(row.intent) as Json,
    // Only this package writes the column, and only with OutboxStatus values.
    status: row.status as OutboxStatus,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    lastError: row.last_error,
    createdAt: row.created_at,
  };
}

export function toTimer(row: TimerRow): TimerRecord {
  return {
    timerId: row.timer_id,
    machine: row.machine,
    entityId: row.entity_id,
    event: JSON.parse(row.event) as Json,
    dueAt: row.due_at,
    // Only this package writes the column, and only with TimerStatus values.
    status: row.status as TimerStatus,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    lastError: row.last_error,
  };
}
