import { RunResultKind, TimerStatus } from "@drover/core";
import { EdgeReason, ReadinessCheckKind, ReadyStatus, TimerLimit } from "../wire.js";
import type { OpenApiObject } from "./document.js";
import { ref } from "./document.js";
import type { SchemaTable } from "./json-schema.js";

// The bodies and parameters of the timer, intent-type and schedule routes (wire/operations.ts),
// and the readiness probe's body (wire/readiness.ts).

const time = (description: string, nullable = false) => ({
  type: nullable ? ["string", "null"] : "string",
  format: "date-time",
  description: `${description} ISO 8601, UTC.`,
});

/** The components of the operator routes: timers, intent types, schedules, readiness. */
export function addOperatorSchemas(table: SchemaTable): void {
  table.set("Timer", {
    type: "object",
    description: "A durable timer: `event` goes to the entity at `dueAt`, with `timerId` as its event id.",
    required: [
      "timerId",
      "machine",
      "entityId",
      "key",
      "event",
      "eventVersion",
      "status",
      "attempts",
      "lastError",
      "dueAt",
      "nextAttemptAt",
      "leaseOwner",
      "leaseUntil",
    ],
    properties: {
      timerId: { type: "string" },
      machine: { type: "string" },
      entityId: { type: "string" },
      key: {
        type: ["string", "null"],
        description: "The name its machine gave it (`schedule(at, event, { key })`): a new one replaces it.",
      },
      event: { description: "The event it sends, as stored." },
      eventVersion: { type: "integer", minimum: 1 },
      status: {
        type: "string",
        enum: Object.values(TimerStatus),
        description:
          "`pending` until it fires (`fired`), is cancelled or replaced by its machine (`cancelled`), or runs out " +
          "of attempts (`dead`: retry it with `POST /v1/timers/{timerId}/retry`).",
      },
      attempts: { type: "integer", minimum: 0, description: "Firings tried so far." },
      lastError: { type: ["string", "null"] },
      dueAt: time("When it is due."),
      nextAttemptAt: time("Not fired before this (pushed back after a failed firing)."),
      leaseOwner: { type: ["string", "null"], description: "The scheduler firing it now, if any." },
      leaseUntil: time("Its lease runs out then.", true),
    },
  });
  table.set("TimerPage", {
    type: "object",
    description: "Timers, soonest due first.",
    required: ["items"],
    properties: { items: { type: "array", items: ref("Timer") } },
  });
  const intentType = {
    type: "object",
    required: ["intentType", "machines", "paused", "pausedAt"],
    properties: {
      intentType: { type: "string" },
      machines: {
        type: "array",
        items: { type: "string" },
        description: "The machines whose intent schema declares it (empty: none any more, but it is paused).",
      },
      paused: { type: "boolean" },
      pausedAt: time("Since when it is paused; `null` when it is not.", true),
    },
  };
  table.set("IntentType", {
    ...intentType,
    description:
      "An intent type and whether an operator paused it: a paused type's intents stay pending, keeping their " +
      "attempts, in every process on the store, until it is resumed.",
  });
  table.set("IntentTypeChange", {
    ...intentType,
    description: "The intent type after pausing or resuming it, and whether this call changed it.",
    required: [...intentType.required, "changed"],
    properties: {
      ...intentType.properties,
      changed: { type: "boolean", description: "`false`: it already was as asked; nothing changed." },
    },
  });
  table.set("IntentTypes", {
    type: "object",
    required: ["items"],
    properties: { items: { type: "array", items: ref("IntentType") } },
  });
  table.set("UnknownIntentTypeProblem", {
    description: "No machine of this server declares the intent type (and it is not paused); `detail` lists them.",
    allOf: [
      ref("Problem"),
      {
        type: "object",
        required: ["kind", "reason"],
        properties: { kind: { const: RunResultKind.NotFound }, reason: { const: EdgeReason.UnknownIntentType } },
      },
    ],
  });
  table.set("Schedules", {
    type: "object",
    description: "The server's recurring schedules (the config's `schedules`), in config order.",
    required: ["items"],
    properties: {
      items: {
        type: "array",
        items: {
          type: "object",
          required: ["name", "cron", "tz", "machine", "id", "eventType", "event", "nextAt"],
          properties: {
            name: {
              type: "string",
              description: "Given or derived; each occurrence's event id is `cron/<name>/<instant>`.",
            },
            cron: { type: "string", description: "5 fields, or 6 with seconds first." },
            tz: { type: "string", description: "The IANA time zone the expression is read in." },
            machine: { type: "string" },
            id: { type: "string" },
            eventType: { type: ["string", "null"] },
            event: { description: "The event each occurrence sends." },
            nextAt: time("Its next occurrence (`null`: none).", true),
          },
        },
      },
    },
  });
  table.set("Readiness", {
    type: "object",
    description: "Whether this process can do its job now; every check listed, a failing one with its reason.",
    required: ["status", "checks"],
    properties: {
      status: { enum: Object.values(ReadyStatus), description: "`ready` (200) or `not_ready` (503)." },
      checks: {
        type: "array",
        items: {
          type: "object",
          required: ["name", "kind", "ok"],
          properties: {
            name: {
              type: "string",
              description: "`store`, `dispatcher`, `scheduler`, or an attached component's name.",
            },
            kind: { enum: Object.values(ReadinessCheckKind) },
            ok: { type: "boolean" },
            reason: { type: "string", description: "Why it is not ok (absent when it is)." },
          },
        },
      },
    },
  });
}

/** The query and path parameters of the operator routes. */
export function operatorParameters(): Record<string, OpenApiObject> {
  return {
    TimerStatus: {
      name: "status",
      in: "query",
      required: false,
      description: "Only timers in this status; absent: all.",
      schema: { type: "string", enum: Object.values(TimerStatus) },
    },
    TimerMachine: {
      name: "machine",
      in: "query",
      required: false,
      description: "With `id`: only the timers of this entity.",
      schema: { type: "string", minLength: 1, maxLength: 200 },
    },
    TimerEntityId: {
      name: "id",
      in: "query",
      required: false,
      description: "With `machine`: only the timers of this entity (parsed by the machine's id schema).",
      schema: { type: "string", minLength: 1 },
    },
    TimerLimit: {
      name: "limit",
      in: "query",
      required: false,
      description: "How many timers to return.",
      schema: { type: "integer", minimum: TimerLimit.Min, maximum: TimerLimit.Max, default: TimerLimit.Default },
    },
    TimerId: {
      name: "timerId",
      in: "path",
      required: true,
      description: "The timer's id, its slashes percent-encoded (`%2F`).",
      schema: { type: "string", minLength: 1 },
    },
    IntentType: {
      name: "type",
      in: "path",
      required: true,
      description: "An intent type's name, e.g. `AuthorizeWithProvider`.",
      schema: { type: "string", minLength: 1, maxLength: 200 },
    },
  };
}
