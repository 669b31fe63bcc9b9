import type { Json } from "../json.js";
import type {
  EntityCount,
  EntityRef,
  InboxRecord,
  JournalEntry,
  LoadResult,
  OutboxRecord,
  OutboxStatus,
  StateVersionCount,
  StoredEntity,
  TimerRecord,
  TimerStatus,
} from "../ports.js";
import { noOutboxRows, noTimerRows } from "../ports.js";
import { byStateName } from "../state-name.js";
import type {
  Claimed,
  EntityRow,
  InboxColumns,
  InboxRow,
  JournalRow,
  LeaseColumns,
  LoadRow,
  OutboxRow,
  StateNameCountRow,
  StateVersionCountRow,
  StatusCountRow,
  TimerRow,
} from "./rows.js";

/**
 * How a store turns what its driver hands over for a JSON column into the value written; the
 * column says what kind of value that is (a state, an outcome, intent records).
 */
export type DecodeJson<J> = (raw: J) => unknown;

/** A SQL store's rows mapped to the port's records, for one way JSON columns arrive. */
export interface RowMappers<J> {
  toEntity(row: EntityRow<J>): StoredEntity;
  toJournalEntry(row: JournalRow<J>): JournalEntry;
  toInbox(row: InboxRow<J>): InboxRecord;
  toOutbox(row: OutboxRow<J>): OutboxRecord;
  toTimer(row: TimerRow<J>): TimerRecord;
  /** The entity and the inbox record of `eventId` in one load row, each if present. */
  fromLoadRow(row: LoadRow<J>, ref: EntityRef, eventId: string): LoadResult;
  /** The inbox record of `eventId` in a row that carries {@link InboxColumns}, if it has one. */
  inboxOf(row: InboxColumns<J>, eventId: string): InboxRecord | undefined;
  /** Claimed outbox rows as records, back in commit order. */
  fromClaimedOutbox(rows: readonly Claimed<OutboxRow<J>>[]): OutboxRecord[];
  /** Claimed timers as records: soonest first, commit order among equal due times. */
  fromClaimedTimers(rows: readonly Claimed<TimerRow<J>>[]): TimerRecord[];
  /** A count by state name as the port reports it, in {@link byStateName} order. */
  toEntityCounts(rows: readonly StateNameCountRow[]): EntityCount[];
  /** A count by state version as the port reports it, lowest version first. */
  toStateVersionCounts(rows: readonly StateVersionCountRow[]): StateVersionCount[];
  /** A count of the outbox by status, every status present (0 when it has no row). */
  toOutboxStats(rows: readonly StatusCountRow[]): Record<OutboxStatus, number>;
  toTimerStats(rows: readonly StatusCountRow[]): Record<TimerStatus, number>;
}

/**
 * The row mapping of a SQL store whose driver hands JSON columns over as `J`, each decoded
 * with `decode`. Only the store writes its status columns, and only with the port's status
 * values, so they are taken as such.
 *
 * @example
 * // SQLite keeps JSON as text:
 * const sqlite = rowMappers<string>(JSON.parse);
 * // node-postgres parses `json` columns itself:
 * const postgres = rowMappers<Json>((value) => value);
 */
export function rowMappers<J>(decode: DecodeJson<J>): RowMappers<J> {
  const toEntity = (row: EntityRow<J>): StoredEntity => ({
    machine: row.machine,
    id: row.id,
    version: row.version,
    state: decode(row.state) as Json,
    stateName: row.state_name,
    stateVersion: row.state_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
  const toInbox = (row: InboxRow<J>): InboxRecord => ({
    eventId: row.event_id,
    machine: row.machine,
    id: row.id,
    fingerprint: row.fingerprint,
    result: decode(row.result) as InboxRecord["result"],
    at: row.at,
  });
  const toOutbox = (row: OutboxRow<J>): OutboxRecord => ({
    intentId: row.intent_id,
    intent: decode(row.intent) as Json,
    status: row.status as OutboxStatus,
    ...queuedOf(row),
    createdAt: row.created_at,
  });
  const toTimer = (row: TimerRow<J>): TimerRecord => ({
    timerId: row.timer_id,
    key: row.timer_key,
    event: decode(row.event) as Json,
    eventVersion: row.event_version,
    dueAt: row.due_at,
    status: row.status as TimerStatus,
    ...queuedOf(row),
  });
  const inboxOf = (row: InboxColumns<J>, eventId: string): InboxRecord | undefined => {
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
  };
  return Object.freeze({
    toEntity,
    toJournalEntry: (row: JournalRow<J>): JournalEntry => ({
      machine: row.machine,
      id: row.id,
      version: row.version,
      eventId: row.event_id,
      event: decode(row.event) as Json,
      eventVersion: row.event_version,
      state: decode(row.decision) as Json,
      stateVersion: row.state_version,
      intents: decode(row.intents) as JournalEntry["intents"],
      at: row.at,
    }),
    toInbox,
    toOutbox,
    toTimer,
    fromLoadRow: (row: LoadRow<J>, ref: EntityRef, eventId: string): LoadResult => {
      // Whether the entity exists is told by its NOT NULL columns, never by `state`: a JSON
      // `null` state is still an entity, and a driver that parses JSON hands it over as null.
      const entity =
        row.version === null || row.created_at === null || row.updated_at === null || row.state_version === null
          ? undefined
          : toEntity({
              machine: ref.machine,
              id: ref.id,
              version: row.version,
              state: row.state as J,
              state_name: row.state_name,
              state_version: row.state_version,
              created_at: row.created_at,
              updated_at: row.updated_at,
            });
      return { entity, inbox: inboxOf(row, eventId) };
    },
    inboxOf,
    fromClaimedOutbox: (rows: readonly Claimed<OutboxRow<J>>[]): OutboxRecord[] =>
      [...rows].sort((a, b) => a.seq - b.seq).map(toOutbox),
    fromClaimedTimers: (rows: readonly Claimed<TimerRow<J>>[]): TimerRecord[] =>
      [...rows].sort((a, b) => a.due_at - b.due_at || a.seq - b.seq).map(toTimer),
    toEntityCounts: (rows: readonly StateNameCountRow[]): EntityCount[] =>
      rows.map(({ state_name, n }) => ({ stateName: state_name, count: n })).sort(byStateName),
    toStateVersionCounts: (rows: readonly StateVersionCountRow[]): StateVersionCount[] =>
      rows
        .map(({ state_version, n }) => ({ stateVersion: state_version, count: n }))
        .sort((a, b) => a.stateVersion - b.stateVersion),
    toOutboxStats: (rows: readonly StatusCountRow[]): Record<OutboxStatus, number> => {
      const stats = noOutboxRows();
      for (const { status, n } of rows) {
        if (status in stats) stats[status as OutboxStatus] = n;
      }
      return stats;
    },
    toTimerStats: (rows: readonly StatusCountRow[]): Record<TimerStatus, number> => {
      const stats = noTimerRows();
      for (const { status, n } of rows) {
        if (status in stats) stats[status as TimerStatus] = n;
      }
      return stats;
    },
  });
}

/**
 * The fields an outbox row and a timer share (their entity, their lease, the trace of the step
 * that wrote them), as the port's records name them.
 */
function queuedOf(
  row: LeaseColumns & { readonly machine: string; readonly entity_id: string; readonly trace_parent: string | null },
): Pick<
  OutboxRecord,
  "machine" | "entityId" | "attempts" | "nextAttemptAt" | "leaseOwner" | "leaseUntil" | "lastError" | "traceParent"
> {
  return {
    machine: row.machine,
    entityId: row.entity_id,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    lastError: row.last_error,
    traceParent: row.trace_parent,
  };
}
