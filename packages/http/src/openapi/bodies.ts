import type {
  IntentRecord,
  Issue,
  JournalEntry,
  Json,
  OutboxRecord,
  OutboxStatus,
  Processed,
  StoredEntity,
} from "@drover/core";

// ─── The bodies the server sends ───────────────────────────────────────────────────────

/** The page size of the list routes (`GET /v1/{machine}`, `GET /v1/outbox`): `limit` query parameter. */
export const ListLimit = { Min: 1, Max: 100, Default: 20 } as const;

/** `Idempotency-Key`: 1 to 255 printable ASCII characters without spaces, the event id of the step. */
export const IDEMPOTENCY_KEY_PATTERN = "^[!-~]{1,255}$";

/** `If-Match` and `ETag`: the entity's version in double quotes, e.g. `"3"` (`"0"`: it must not exist yet). */
export const ENTITY_TAG_PATTERN = '^"(0|[1-9][0-9]{0,15})"$';
const VERSION_TAG = '(W/)?"(0|[1-9][0-9]{0,15})"';
/** `If-Match`: `*`, or a comma-separated list of version tags (RFC 9110 §13.1.1). */
export const IF_MATCH_PATTERN = `^[ \\t]*(\\*|${VERSION_TAG}([ \\t]*,[ \\t]*${VERSION_TAG})*)[ \\t]*$`;

/** An RFC 9457 problem details body, with drover's `kind` (a {@link RunResultKind} where one applies). */
export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly kind: string;
  readonly detail?: string;
  readonly instance?: string;
  /** The machine's rejection reason (422 `rejected`) or why input was refused (`invalid`). */
  readonly reason?: string;
  readonly issues?: readonly Issue[];
}

/** `200` to `POST /v1/{machine}/{id}/events`, for a new event and (replayed) for a duplicate. */
export type ProcessedBody = Processed;

/** `GET /v1/{machine}/{id}`. Timestamps are ISO 8601 (UTC). */
export interface EntityBody {
  readonly id: string;
  readonly version: number;
  readonly state: Json;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** `GET /v1/{machine}`: entities in id order; pass `nextCursor` as `cursor` for the next page (`null`: last page). */
export interface EntityPageBody {
  readonly items: readonly EntityBody[];
  readonly nextCursor: string | null;
}

/** One journal entry of `GET /v1/{machine}/{id}/history`; `at` is ISO 8601 (UTC). */
export interface JournalEntryBody {
  readonly machine: string;
  readonly id: string;
  readonly version: number;
  readonly eventId: string;
  readonly event: Json;
  readonly state: Json;
  readonly intents: readonly IntentRecord[];
  readonly at: string;
}

/** `GET /v1/{machine}/{id}/history`: the journal, oldest first. */
export interface HistoryBody {
  readonly entries: readonly JournalEntryBody[];
}

/** One outbox row of `GET /v1/outbox` (and the answer to a retry); timestamps are ISO 8601 (UTC). */
export interface OutboxRecordBody {
  readonly intentId: string;
  readonly machine: string;
  readonly entityId: string;
  readonly intent: Json;
  readonly status: OutboxStatus;
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly leaseOwner: string | null;
  readonly leaseUntil: string | null;
  readonly lastError: string | null;
  readonly createdAt: string;
}

/** `GET /v1/outbox`: rows in the order their intents were committed. */
export interface OutboxPageBody {
  readonly items: readonly OutboxRecordBody[];
}

/** `GET /healthz` when the store answers. */
export interface HealthBody {
  readonly status: "ok";
}

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
    createdAt: isoTime(entity.createdAt),
    updatedAt: isoTime(entity.updatedAt),
  };
}

/** A journal entry as `GET /v1/{machine}/{id}/history` answers it. */
export function journalEntryBody(entry: JournalEntry): JournalEntryBody {
  return { ...entry, at: isoTime(entry.at) };
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
