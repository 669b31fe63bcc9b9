import type { Divergence, JournalEntry } from "@drover/core";
import { DivergenceKind, VersionedSubject } from "@drover/core";
import { diffJson } from "./format.js";

/**
 * A divergence for people, as `drover replay` and `drover upgrade` print it: entity, version,
 * event type and id, what differs (a diff, indented) or why the current code cannot decide
 * the step. `entry` is the journal entry it is about (for the event type; `?` without one).
 *
 * @example
 * describeDivergence(divergence, entries.find((e) => e.version === divergence.version));
 * // payments pay_… version 1 (RequestPayment, event evt_…): the state differs (recorded → now)
 * //     ~ status: "authorizing" → "awaiting_verification"
 */
export function describeDivergence(d: Divergence, entry: JournalEntry | undefined): string {
  const type = String((entry?.event as { type?: unknown } | undefined)?.type ?? "?");
  const head = `${d.machine} ${d.id} version ${d.version} (${type}, event ${d.eventId}):`;
  switch (d.kind) {
    case DivergenceKind.State:
      return [`${head} the state differs (recorded → now)`, ...indent(diffJson(d.recorded, d.replayed))].join("\n");
    case DivergenceKind.Intents:
      return [`${head} the intents differ (recorded → now)`, ...indent(diffJson(d.recorded, d.replayed))].join("\n");
    case DivergenceKind.Rejected: {
      const { reason, detail } = fields(d.replayed);
      return `${head} now rejected: ${String(reason)}${detail === undefined ? "" : ` — ${String(detail)}`}`;
    }
    case DivergenceKind.NotFound:
      return `${head} now not_found: the current code does not create an entity from this event`;
    case DivergenceKind.Unreadable: {
      const { subject, reason, storedVersion, expectedVersion, message } = fields(d.replayed);
      const what = subject === VersionedSubject.Event ? "recorded event" : "state recorded before it";
      return `${head} the ${what} cannot be read (${String(reason)}: stored at v${String(storedVersion)}, the code is at v${String(expectedVersion)}): ${String(message)}`;
    }
    case DivergenceKind.EventRefused: {
      const { event, issues } = fields(d.replayed);
      return [
        `${head} the recorded event no longer fits the event schema: ${String(issues)}`,
        ...indent([`event as migrated: ${JSON.stringify(event)}`]),
      ].join("\n");
    }
    case DivergenceKind.StateRefused: {
      const { state, issues } = fields(d.replayed);
      return [
        `${head} the current code decides a state its own state schema refuses: ${String(issues)}`,
        ...indent([`state decided: ${JSON.stringify(state)}`]),
      ].join("\n");
    }
    case DivergenceKind.IntentRefused: {
      const refused = Array.isArray(d.replayed) ? d.replayed.map(fields) : [];
      return [
        `${head} the current code decides ${refused.length === 1 ? "an intent" : `${refused.length} intents`} its own intent schema refuses`,
        ...indent(refused.map(({ intent, issues }) => `${JSON.stringify(intent)}: ${String(issues)}`)),
      ].join("\n");
    }
    default: {
      const exhaustive: never = d.kind;
      return `${head} ${String(exhaustive)}`;
    }
  }
}

function fields(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function indent(lines: readonly string[]): string[] {
  return lines.map((line) => `    ${line}`);
}
