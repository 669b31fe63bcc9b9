// The subjects, headers and stream names of drover's NATS transport. **contract** (DESIGN §11):
// publishers and the services that consume intents rely on them; everything else imports them.

/** The stream the ingress subjects are stored in (created if missing). */
export const EVENTS_STREAM = "DROVER_EVENTS";
/** The stream drover creates for the intent subjects it publishes when no stream holds them. */
export const INTENTS_STREAM = "DROVER_INTENTS";
/** The durable consumer the drover processes share. */
export const INGRESS_CONSUMER = "drover";

/** Headers drover reads and writes. */
export const Header = {
  /** JetStream's de-duplication key: the event id going in, the intent id going out. */
  MsgId: "Nats-Msg-Id",
  /** A subject to answer with the event's `RunResult` JSON once its outcome is durable. */
  ReplyTo: "Drover-Reply-To",
  Machine: "Drover-Machine",
  EntityId: "Drover-Entity-Id",
  IntentId: "Drover-Intent-Id",
  IntentType: "Drover-Intent-Type",
} as const;

/** `drover.<machine>.<entityId>.events`: where the events of one entity are published. */
export function eventsSubject(machine: string, entityId: string): string {
  return `drover.${machine}.${entityId}.events`;
}

/**
 * `drover.<machine>.<entityId>.run`: plain NATS request/reply into the same stream (not stored
 * itself: drover stores the request on the events subject and answers with the `RunResult`).
 */
export function runSubject(machine: string, entityId: string): string {
  return `drover.${machine}.${entityId}.run`;
}

/** `drover.<machine>.intents.<type>`: where an intent is published for other services. */
export function intentSubject(machine: string, intentType: string): string {
  return `drover.${machine}.intents.${intentType}`;
}

/** What the stream holds: every entity's events subject. */
export const EVENTS_SUBJECTS = "drover.*.*.events";
/** What the request/reply bridge listens on. */
export const RUN_SUBJECTS = "drover.*.*.run";

/** The machine and entity id an ingress subject names, or `undefined` when it is not one. */
export function parseEntitySubject(subject: string): { machine: string; id: string } | undefined {
  const tokens = subject.split(".");
  if (tokens.length !== 4 || tokens[0] !== "drover") return undefined;
  const [, machine, id, kind] = tokens as [string, string, string, string];
  if (kind !== "events" && kind !== "run") return undefined;
  if (machine === "" || id === "") return undefined;
  return { machine, id };
}

/**
 * Whether a value can be one token of a subject: printable, no `.`, no wildcard, no space.
 * An entity id that is not cannot be addressed over NATS (use HTTP for it).
 */
export function isSubjectToken(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value) && !/[.*>]/.test(value);
}
