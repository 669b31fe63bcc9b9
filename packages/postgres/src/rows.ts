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

/**
 * Rows as node-postgres hands them back — `json` columns already parsed, `bigint` columns as
 * numbers (the store's type parser; every value stays below 2^53) — and their mapping to the
 * port's records.
 */

export interface EntityRow {
  readonly machine: string;
  readonly id: string;
  readonly version: number;
  readonly state: Json;
  readonly state_name: string | null;
  readonly created_at: number;
  readonly updated_at: number;
}

export interface JournalRow {
  readonly machine: string;
  readonly id: string;
  readonly version: number;
  readonly event_id: string;
  readonly event: Json;
  readonly decision: Json;
  readonly intents: JournalEntry["intents"];
  readonly at: number;
}

export interface InboxRow {
  readonly event_id: string;
  readonly machine: string;
  readonly id: string;
  readonly fingerprint: string;
  readonly result: InboxRecord["result"];
  readonly at: number;
}

export interface OutboxRow {
  readonly seq: number;
  readonly intent_id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly intent: Json;
  readonly status: string;
  readonly attempts: number;
  readonly next_attempt_at: number;
  readonly lease_owner: string | null;
  readonly lease_until: number | null;
  readonly last_error: string | null;
  readonly created_at: number;
}

export interface TimerRow {
  readonly seq: number;
  readonly timer_id: string;
  readonly machine: string;
  readonly entity_id: string;
  readonly event: Json;
  readonly due_at: number;
  readonly status: string;
  readonly attempts: number;
  readonly next_attempt_at: number;
  readonly lease_owner: string | null;
  readonly lease_until: number | null;
  readonly last_error: string | null;
}

/** The entity and the inbox record of one `load`, fetched together; NULLs where one is missing. */
export interface LoadRow {
  readonly version: number | null;
  readonly state: Json | null;
  readonly state_name: string | null;
  readonly created_at: number | null;
  readonly updated_at: number | null;
  readonly inbox_machine: string | null;
  readonly inbox_id: string | null;
  readonly fingerprint: string | null;
  readonly result: InboxRecord["result"] | null;
  readonly at: number | null;
}

/** What the commit statement says of one step (`n` is its position in the batch, from 1). */
export interface StepRow {
  readonly n: number;
  readonly written: boolean;
  /** The entity's version when the step is a conflict. */
  readonly current_version: number | null;
  /** Set when the event id was already in the inbox: the stored record's fields. */
  readonly inbox_machine: string | null;
  readonly inbox_id: string | null;
  readonly fingerprint: string | null;
  readonly result: InboxRecord["result"] | null;
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
  return { entity, inbox: inboxOf(row, eventId) };
}

/** The inbox record in a load or step row, if the row carries one. */
export function inboxOf(
  row: Pick<LoadRow, "inbox_machine" | "inbox_id" | "fingerprint" | "result" | "at">,
  eventId: string,
): InboxRecord | undefined {
  if (row.inbox_machine === null || row.inbox_id === null || row.fingerprint === null) return undefined;
  if (row.result === null || row.at === null) return undefined;
  return toInbox({
    event_id: eventId,
    machine: row.inbox_machine,
    id: row.inbox_id,
    fingerprint: row.fingerprint,
    result: row.result,
    at: row.at,
  });
}

export function toEntity(row: EntityRow): StoredEntity {
  return {
    machine: row.machine,
    id: row.id,
    version: row.version,
    state: row.state,
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
    event: row.event,
    state: row.decision,
    intents: row.intents,
    at: row.at,
  };
}

export function toInbox(row: InboxRow): InboxRecord {
  return {
    eventId: row.event_id,
    machine: row.machine,
    id: row.id,
    fingerprint: row.fingerprint,
    result: row.result,
    at: row.at,
  };
}

export function toOutbox(row: OutboxRow): OutboxRecord {
  return {
    intentId: row.intent_id,
    machine: row.machine,
    entityId: row.entity_id,
    intent: row.intent,
    // A CHECK constraint keeps the column to OutboxStatus values.
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
    event: row.event,
    dueAt: row.due_at,
    // A CHECK constraint keeps the column to TimerStatus values.
    status: row.status as TimerStatus,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    lastError: row.last_error,
  };
}
