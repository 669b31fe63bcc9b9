import type { AnyMachine, JournalEntry, OutboxRecord, StoredEntity, TimerRecord } from "@drover/core";
import type { EntityBody, JournalEntryBody, OutboxRecordBody, TimerBody } from "./wire.js";

/** Epoch milliseconds as the API writes them: ISO 8601 in UTC, e.g. `2026-01-01T12:00:00.000Z`. */
export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** A stored entity as `GET /v1/{machine}/{id}` answers it. */
export function entityBody(entity: StoredEntity): EntityBody {
  return {
    id: entity.id,
    version: entity.version,
    state: entity.state,
    stateVersion: entity.stateVersion,
    status: entity.stateName,
    createdAt: isoTime(entity.createdAt),
    updatedAt: isoTime(entity.updatedAt),
  };
}

/** A journal entry as `GET /v1/{machine}/{id}/history` answers it, its state named by `machine`. */
export function journalEntryBody(entry: JournalEntry, machine: AnyMachine): JournalEntryBody {
  return { ...entry, at: isoTime(entry.at), status: machine.stateName(entry.state) };
}

/** An outbox row as `GET /v1/outbox` answers it. */
export function outboxRecordBody(record: OutboxRecord): OutboxRecordBody {
  return {
    ...record,
    nextAttemptAt: isoTime(record.nextAttemptAt),
    leaseUntil: record.leaseUntil === null ? null : isoTime(record.leaseUntil),
    createdAt: isoTime(record.createdAt),
  };
}

/** A timer as `GET /v1/timers` answers it. */
export function timerBody(timer: TimerRecord): TimerBody {
  return {
    timerId: timer.timerId,
    machine: timer.machine,
    entityId: timer.entityId,
    key: timer.key,
    event: timer.event,
    eventVersion: timer.eventVersion,
    status: timer.status,
    attempts: timer.attempts,
    lastError: timer.lastError,
    dueAt: isoTime(timer.dueAt),
    nextAttemptAt: isoTime(timer.nextAttemptAt),
    leaseOwner: timer.leaseOwner,
    leaseUntil: timer.leaseUntil === null ? null : isoTime(timer.leaseUntil),
  };
}
