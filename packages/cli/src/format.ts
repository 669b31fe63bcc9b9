import type {
  AnyMachine,
  IntentRecord,
  JournalEntry,
  Json,
  OutboxRecord,
  RunResult,
  StoredEntity,
  TimerRecord,
} from "@drover/core";
import { OutboxStatus, RunResultKind, stableStringify, TimerStatus } from "@drover/core";
import { ExitCode } from "./exit-code.js";

/** Epoch milliseconds as ISO 8601, as the HTTP API shows times. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** An entity as `inspect --json` prints it (the HTTP API's `GET /v1/{machine}/{id}` body). */
export function entityJson(entity: StoredEntity) {
  return {
    machine: entity.machine,
    id: entity.id,
    version: entity.version,
    state: entity.state,
    stateVersion: entity.stateVersion,
    createdAt: isoTime(entity.createdAt),
    updatedAt: isoTime(entity.updatedAt),
  };
}

/** A journal entry as `history --json` prints it. */
export function journalJson(entry: JournalEntry) {
  return { ...entry, at: isoTime(entry.at) };
}

/** An outbox row as `outbox --json` prints it. */
export function outboxJson(record: OutboxRecord) {
  return {
    ...record,
    nextAttemptAt: isoTime(record.nextAttemptAt),
    leaseUntil: record.leaseUntil === null ? null : isoTime(record.leaseUntil),
    createdAt: isoTime(record.createdAt),
  };
}

/** The exit code a run result leaves with: a duplicate leaves as its original did. */
export function exitCodeOfResult(result: RunResult): ExitCode {
  switch (result.kind) {
    case RunResultKind.Processed:
      return ExitCode.Ok;
    case RunResultKind.Duplicate:
      return exitCodeOfResult(result.original);
    case RunResultKind.Rejected:
    case RunResultKind.NotFound:
      return ExitCode.Rejected;
    case RunResultKind.Invalid:
      return ExitCode.Usage;
    case RunResultKind.Conflict:
    // The stored value is the deploy's problem, not the caller's (HTTP answers 503).
    case RunResultKind.Unreadable:
      return ExitCode.Infrastructure;
    default: {
      const exhaustive: never = result;
      throw new Error(`unknown result ${JSON.stringify(exhaustive)}`);
    }
  }
}

/** A run result for people; `machine` names its state. */
export function describeResult(result: RunResult, machine: AnyMachine): string {
  switch (result.kind) {
    case RunResultKind.Processed: {
      const name = machine.stateName(result.state);
      const lines = [
        `processed: ${result.machine} ${result.id} is at version ${result.version}${name === null ? "" : ` (${name})`}`,
        `state: ${JSON.stringify(result.state)}`,
      ];
      lines.push(result.intents.length === 0 ? "intents: none" : "intents:", ...result.intents.map(describeIntent));
      return lines.join("\n");
    }
    case RunResultKind.Duplicate:
      return `duplicate: event ${result.eventId} was already applied; its outcome then:\n${describeResult(result.original, machine)}`;
    case RunResultKind.Rejected:
      return `rejected: ${result.reason}${result.detail === undefined ? "" : ` — ${result.detail}`} (${result.machine} ${result.id} stays at version ${result.version})`;
    case RunResultKind.NotFound:
      return `not found: there is no ${result.machine} ${result.id}, and this event does not create one`;
    case RunResultKind.Invalid: {
      const issues = result.issues.map((i) => `${i.path.length > 0 ? `${i.path.join(".")}: ` : ""}${i.message}`);
      return `invalid (${result.reason}): ${result.message}${issues.length > 0 ? `: ${issues.join("; ")}` : ""}`;
    }
    case RunResultKind.Conflict:
      return result.expectedVersion === undefined
        ? `conflict: ${result.machine} ${result.id} kept changing under ${result.attempts} attempts; try again`
        : `conflict: expected version ${result.expectedVersion}, but ${result.machine} ${result.id} is at ${result.currentVersion}`;
    case RunResultKind.Unreadable:
      // The message names the entity and both versions already.
      return `unreadable (${result.reason}): ${result.message}; nothing written`;
    default: {
      const exhaustive: never = result;
      throw new Error(`unknown result ${JSON.stringify(exhaustive)}`);
    }
  }
}

function describeIntent(record: IntentRecord): string {
  const intent = record.intent as { type?: unknown };
  const { type, ...rest } = intent as Record<string, unknown>;
  return `  ${record.id}  ${String(type ?? "?")} ${JSON.stringify(rest)}`;
}

/**
 * An entity for people: header line, times, the state version it is stored at (and the
 * version `codeVersion`, its machine's running code, reads when they differ), then its state.
 */
export function describeEntity(entity: StoredEntity, codeVersion: number = entity.stateVersion): string {
  const name = entity.stateName;
  return [
    `${entity.machine} ${entity.id}: version ${entity.version}${name === null ? "" : `, ${name}`}`,
    `created ${isoTime(entity.createdAt)}, updated ${isoTime(entity.updatedAt)}`,
    `state stored at v${entity.stateVersion}${describeVersionGap(entity, codeVersion)}`,
    JSON.stringify(entity.state, null, 2),
  ].join("\n");
}

function describeVersionGap(entity: StoredEntity, codeVersion: number): string {
  if (entity.stateVersion < codeVersion) {
    return ` (the code is at v${codeVersion}: migrated on the next event, or by drover upgrade ${entity.machine} --apply)`;
  }
  if (entity.stateVersion > codeVersion) {
    return ` (newer than the code, at v${codeVersion}: it cannot be read until newer code runs)`;
  }
  return "";
}

/** A journal entry for people: version, time, event, the state it led to (named by `machine`), its intents. */
export function describeEntry(entry: JournalEntry, machine: AnyMachine): string {
  const { type, ...fields } = entry.event as Record<string, Json>;
  const name = machine.stateName(entry.state);
  const intents = entry.intents.map((i) => String((i.intent as { type?: unknown }).type ?? "?"));
  return [
    `v${entry.version}  ${isoTime(entry.at)}  ${String(type)} ${JSON.stringify(fields)} → ${name ?? JSON.stringify(entry.state)}`,
    `    event ${entry.eventId}${intents.length > 0 ? `; intents: ${intents.join(", ")}` : ""}`,
  ].join("\n");
}

/** An outbox row for people. */
export function describeOutbox(record: OutboxRecord): string {
  const type = String((record.intent as { type?: unknown }).type ?? "?");
  const when = record.status === OutboxStatus.Pending ? `, next attempt ${isoTime(record.nextAttemptAt)}` : "";
  const error = record.lastError === null ? "" : `\n    last error: ${record.lastError}`;
  return `${record.intentId}  ${type}  ${record.status}, ${record.attempts} attempt${record.attempts === 1 ? "" : "s"}${when}${error}`;
}

/** A timer for people: id, entity, event type, key, status, attempts, when; its last error below. */
export function describeTimer(timer: TimerRecord): string {
  const type = String((timer.event as { type?: unknown } | null)?.type ?? "?");
  const key = timer.key === null ? "" : `  key ${timer.key}`;
  const retried = timer.status === TimerStatus.Pending && timer.nextAttemptAt !== timer.dueAt;
  const when = `due ${isoTime(timer.dueAt)}${retried ? `, next firing ${isoTime(timer.nextAttemptAt)}` : ""}`;
  const error = timer.lastError === null ? "" : `\n    last error: ${timer.lastError}`;
  const attempts = `${timer.attempts} attempt${timer.attempts === 1 ? "" : "s"}`;
  return `${timer.timerId}  ${timer.machine} ${timer.entityId}  ${type}${key}  ${timer.status}, ${attempts}, ${when}${error}`;
}

/**
 * The differences between two JSON values, one line each: `~ path: before → after`,
 * `- path: before` (gone), `+ path: after` (new). Empty when they are equal.
 *
 * @example
 * diffJson({ status: "authorizing", n: 1 }, { status: "awaiting_verification", n: 1 });
 * // ['~ status: "authorizing" → "awaiting_verification"']
 */
export function diffJson(before: unknown, after: unknown, path = ""): string[] {
  if (stableStringify(before) === stableStringify(after)) return [];
  const at = (key: string | number) =>
    typeof key === "number" ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`;
  if (Array.isArray(before) && Array.isArray(after)) {
    const lines: string[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      if (i >= after.length) lines.push(`- ${at(i)}: ${JSON.stringify(before[i])}`);
      else if (i >= before.length) lines.push(`+ ${at(i)}: ${JSON.stringify(after[i])}`);
      else lines.push(...diffJson(before[i], after[i], at(i)));
    }
    return lines;
  }
  if (isObject(before) && isObject(after)) {
    const lines: string[] = [];
    for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
      if (!(key in after)) lines.push(`- ${at(key)}: ${JSON.stringify(before[key])}`);
      else if (!(key in before)) lines.push(`+ ${at(key)}: ${JSON.stringify(after[key])}`);
      else lines.push(...diffJson(before[key], after[key], at(key)));
    }
    return lines;
  }
  return [`~ ${path === "" ? "(value)" : path}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
