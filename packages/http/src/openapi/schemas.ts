import { InvalidReason, OutboxStatus, RunResultKind, UnreadableReason } from "@drover/core";
import { EdgeKind, HealthStatus, Scope, UnreadableKind } from "../wire.js";
import { type JsonObject, ref } from "./document.js";
import type { SchemaTable } from "./json-schema.js";

// ─── Shared schemas ────────────────────────────────────────────────────────────────────

const timestamp = (description: string): JsonObject => ({
  type: "string",
  format: "date-time",
  description: `${description} ISO 8601, UTC, e.g. 2026-01-01T12:00:00.000Z.`,
});
const version = { type: "integer", minimum: 1, description: "1 after creation, +1 per accepted event." };
const eventId = { type: "string", description: "The event's id: its Idempotency-Key, or one drover generated." };
const schemaVersion = (description: string): JsonObject => ({ type: "integer", minimum: 1, description });
const stateVersion = schemaVersion(
  "The version of the machine's state schema the state is stored at (1 when the machine names none). " +
    "Below the running code's version (`GET /v1/machines`), the state has that older version's shape and is " +
    "migrated when the next event is processed.",
);

export function intentRecordSchema(intent: JsonObject): JsonObject {
  return {
    type: "object",
    description: "An intent (a side effect the machine asked for) with its stable id.",
    required: ["id", "intent"],
    properties: { id: { type: "string", description: "`machine/entityId/version/index`." }, intent },
  };
}

export function processedSchema(
  id: JsonObject,
  state: JsonObject,
  intentRecord: JsonObject,
  machine?: string,
): JsonObject {
  return {
    type: "object",
    description: "The event was applied (or, replayed for a duplicate, was applied before).",
    required: ["kind", "machine", "id", "eventId", "version", "state", "intents"],
    properties: {
      kind: { const: RunResultKind.Processed },
      machine: machine === undefined ? { type: "string" } : { const: machine },
      id,
      eventId,
      version,
      state,
      intents: { type: "array", items: intentRecord },
    },
  };
}

export function entitySchema(id: JsonObject, state: JsonObject): JsonObject {
  return {
    type: "object",
    required: ["id", "version", "state", "stateVersion", "status", "createdAt", "updatedAt"],
    properties: {
      id,
      version,
      state: { ...state, description: "The state as stored, at `stateVersion`." },
      stateVersion,
      status: stateNameSchema("The state's name as its machine names it (what `?status=` filters); `null`: none."),
      createdAt: timestamp("When the entity was created."),
      updatedAt: timestamp("When it last changed."),
    },
  };
}

export function entityPageSchema(entity: JsonObject): JsonObject {
  return {
    type: "object",
    description: "Entities in id order.",
    required: ["items", "nextCursor"],
    properties: {
      items: { type: "array", items: entity },
      nextCursor: {
        type: ["string", "null"],
        description: "Pass as `cursor` for the next page; `null` on the last page.",
      },
    },
  };
}

export function journalEntrySchema(id: JsonObject, event: JsonObject, state: JsonObject, intentRecord: JsonObject) {
  return {
    type: "object",
    description: "One accepted event: enough to replay the step.",
    required: [
      "machine",
      "id",
      "version",
      "eventId",
      "event",
      "eventVersion",
      "state",
      "stateVersion",
      "status",
      "intents",
      "at",
    ],
    properties: {
      machine: { type: "string" },
      id,
      version,
      eventId,
      event: { ...event, description: "The event as recorded, at `eventVersion`." },
      eventVersion: schemaVersion("The version of the machine's event schema the event was recorded at."),
      state: { ...state, description: "The state the machine decided on, as written at `stateVersion`." },
      stateVersion: schemaVersion("The version of the machine's state schema the state was written at."),
      status: stateNameSchema("The name the machine gives that state; `null`: none."),
      intents: { type: "array", items: intentRecord },
      at: timestamp("The event's time (the `at` the machine saw)."),
    },
  };
}

export function historySchema(entry: JsonObject): JsonObject {
  return {
    type: "object",
    required: ["entries"],
    properties: { entries: { type: "array", description: "Oldest first.", items: entry } },
  };
}

function stateNameSchema(description: string): JsonObject {
  return { type: ["string", "null"], description };
}

function problemWith(description: string, properties: JsonObject, required: string[]): JsonObject {
  return { description, allOf: [ref("Problem"), { type: "object", required, properties }] };
}

export function addSharedSchemas(table: SchemaTable): void {
  const anyState = { description: "The entity's state, as its machine's state schema describes it." };
  table.set("Issue", {
    type: "object",
    description: "One problem a schema found: where, and what.",
    required: ["path", "message", "code"],
    properties: {
      path: { type: "array", items: { type: ["string", "integer"] } },
      message: { type: "string" },
      code: { type: "string" },
    },
  });
  table.set("Problem", {
    type: "object",
    description: "RFC 9457 problem details, with drover's `kind`.",
    required: ["type", "title", "status", "kind"],
    properties: {
      type: { type: "string", format: "uri-reference" },
      title: { type: "string" },
      status: { type: "integer", minimum: 100, maximum: 599 },
      detail: { type: "string" },
      instance: { type: "string", format: "uri-reference" },
      kind: {
        type: "string",
        description:
          `What happened: a drover result kind (${Object.values(RunResultKind)
            .filter((kind) => kind !== RunResultKind.Unreadable)
            .join(", ")}), ` +
          `${Object.values(UnreadableKind).join(" or ")} for a stored value this code cannot read, or an HTTP-level one.`,
      },
      reason: { type: "string", description: "Why: the machine's rejection reason, or why input was refused." },
      issues: { type: "array", items: ref("Issue") },
    },
  });
  table.set(
    "InvalidProblem",
    problemWith(
      "The input was refused before it reached the machine; nothing was written.",
      {
        kind: { const: RunResultKind.Invalid },
        reason: {
          type: "string",
          examples: Object.values(InvalidReason).filter((reason) => reason !== InvalidReason.IdempotencyKeyReused),
        },
      },
      ["kind"],
    ),
  );
  table.set(
    "IdempotencyKeyReusedProblem",
    problemWith(
      "The Idempotency-Key was used before with another request.",
      { kind: { const: RunResultKind.Invalid }, reason: { const: InvalidReason.IdempotencyKeyReused } },
      ["kind", "reason"],
    ),
  );
  table.set("NotFoundProblem", problemWith("No such entity.", { kind: { const: RunResultKind.NotFound } }, ["kind"]));
  table.set(
    "ConflictProblem",
    problemWith(
      "The entity kept changing until retries ran out; safe to retry.",
      {
        kind: { const: RunResultKind.Conflict },
      },
      ["kind"],
    ),
  );
  table.set(
    "UnavailableProblem",
    problemWith(
      "The store is unavailable (or the server too busy); try again after `Retry-After` seconds.",
      { kind: { const: EdgeKind.Unavailable }, status: { const: 503 } },
      ["kind"],
    ),
  );
  table.set(
    "UnreadableProblem",
    problemWith(
      "The entity's stored state (`state_unreadable`), or a stored event (`event_unreadable`), cannot be read by " +
        "the running code: written by newer code, a migration threw, or the migrated value does not fit the " +
        "current schema. Nothing was written; the same request succeeds once code that can read the value runs. " +
        "Answered with 503 and no `Retry-After`: a deploy fixes it, not time.",
      {
        kind: { type: "string", enum: Object.values(UnreadableKind) },
        status: { const: 503 },
        reason: { type: "string", enum: Object.values(UnreadableReason) },
        machine: { type: "string" },
        id: { type: "string" },
        detail: { type: "string", description: "Names the entity, both versions and the first issue." },
        eventId,
        storedVersion: { type: "number", description: "The schema version the value is stored at." },
        expectedVersion: schemaVersion("The schema version the running code reads and writes."),
        issues: {
          type: "array",
          items: ref("Issue"),
          description: "What the current schema found wrong (`schema_refused`); empty otherwise.",
        },
      },
      ["kind", "status", "detail", "reason", "machine", "id", "eventId", "storedVersion", "expectedVersion", "issues"],
    ),
  );
  table.set(
    "IntentRecord",
    intentRecordSchema({ description: "The intent, as its machine's intent schema describes it." }),
  );
  table.set("Processed", processedSchema({ type: "string" }, anyState, ref("IntentRecord")));
  table.set("Entity", entitySchema({ type: "string" }, anyState));
  table.set("EntityPage", entityPageSchema(ref("Entity")));
  table.set(
    "JournalEntry",
    journalEntrySchema(
      { type: "string" },
      { description: "The event, as it was applied." },
      anyState,
      ref("IntentRecord"),
    ),
  );
  table.set("History", historySchema(ref("JournalEntry")));
  table.set("OutboxRecord", {
    type: "object",
    description: "An intent waiting to be (or already) executed.",
    required: [
      "intentId",
      "machine",
      "entityId",
      "intent",
      "status",
      "attempts",
      "nextAttemptAt",
      "leaseOwner",
      "leaseUntil",
      "lastError",
      "createdAt",
      "traceParent",
    ],
    properties: {
      intentId: { type: "string", description: "`machine/entityId/version/index`." },
      machine: { type: "string" },
      entityId: { type: "string" },
      intent: { description: "The intent, as its machine's intent schema describes it." },
      status: { type: "string", enum: Object.values(OutboxStatus) },
      attempts: { type: "integer", minimum: 0 },
      nextAttemptAt: timestamp("Not tried again before this."),
      leaseOwner: { type: ["string", "null"], description: "The dispatcher working on it, if any." },
      leaseUntil: { ...timestamp("Its lease runs out then."), type: ["string", "null"] },
      lastError: { type: ["string", "null"] },
      createdAt: timestamp("When its step committed."),
      traceParent: {
        type: ["string", "null"],
        description: "The W3C traceparent of the step that decided it, when tracing was on: its trace's id.",
      },
    },
  });
  table.set("OutboxPage", {
    type: "object",
    description: "Outbox rows in the order their intents were committed.",
    required: ["items"],
    properties: { items: { type: "array", items: ref("OutboxRecord") } },
  });
  table.set("TokenInfo", {
    type: "object",
    description: "The token the request was made with.",
    required: ["name", "scopes"],
    properties: {
      name: { type: ["string", "null"] },
      scopes: { type: "array", items: { type: "string", enum: [Scope.Read, Scope.Write, Scope.Admin] } },
    },
  });
  table.set("MachineSummaries", {
    type: "object",
    description:
      "Every machine with its schema versions and its entities counted by state name (as each machine names " +
      "its states) and by the state version they are stored at.",
    required: ["machines"],
    properties: {
      machines: {
        type: "array",
        items: {
          type: "object",
          required: ["name", "version", "eventVersion", "total", "states", "stateVersions", "internal"],
          properties: {
            name: { type: "string" },
            version: schemaVersion("The version of the state schema the running code reads and writes."),
            eventVersion: schemaVersion("The version of the event schema the running code records."),
            total: { type: "integer", minimum: 0 },
            states: {
              type: "array",
              description: "Sorted by state name; `null` counts states without a name, last.",
              items: {
                type: "object",
                required: ["status", "count"],
                properties: { status: { type: ["string", "null"] }, count: { type: "integer", minimum: 0 } },
              },
            },
            stateVersions: {
              type: "array",
              description:
                "Entities by the state version they are stored at, lowest first; versions without entities are " +
                "left out. Below `version`: migrated on their next event (or by `drover upgrade --apply`); " +
                "above it: written by newer code, answered `state_unreadable`.",
              items: {
                type: "object",
                required: ["stateVersion", "count"],
                properties: { stateVersion: { type: "integer", minimum: 1 }, count: { type: "integer", minimum: 1 } },
              },
            },
            internal: {
              type: "array",
              items: { type: "string" },
              description: "Event types only drover sends (effects, timers).",
            },
          },
        },
      },
    },
  });
  const counts = { type: "object", additionalProperties: { type: "integer", minimum: 0 } };
  table.set("Stats", {
    type: "object",
    description: "Counters of this server process since it started, and the outbox and timers (all processes).",
    required: ["at", "startedAt", "results", "attempts", "outbox", "timers", "timerFirings"],
    properties: {
      at: timestamp("When the figures were taken."),
      startedAt: timestamp("When the server started."),
      results: {
        type: "object",
        description: "Events run, by machine, then by result kind.",
        additionalProperties: counts,
      },
      attempts: { ...counts, description: "Dispatcher attempts by outcome: done, retry, dead." },
      outbox: { ...counts, description: "Outbox rows by status: pending, done, dead." },
      timers: { ...counts, description: "Timers by status (all processes): pending, fired, cancelled, dead." },
      timerFirings: { ...counts, description: "Timer firings of this server by outcome: fired, retry, dead." },
    },
  });
  table.set("Diagram", {
    type: "object",
    description: "A machine's states and transitions.",
    required: ["machine", "states", "transitions", "mermaid"],
    properties: {
      machine: { type: "string" },
      states: {
        type: "array",
        items: { type: "string" },
        description: "In the order exploration reached them; states entities are stored in included.",
      },
      unreached: {
        type: "array",
        items: { type: "string" },
        description: "Stored states that exploring from creation did not reach (drawn from the database).",
      },
      transitions: {
        type: "array",
        items: {
          type: "object",
          required: ["from", "event", "to"],
          properties: {
            from: { type: ["string", "null"], description: "`null`: the event creates the entity." },
            event: { type: "string" },
            to: { type: "string" },
          },
        },
      },
      mermaid: { type: ["string", "null"], description: "The graph as a Mermaid stateDiagram-v2." },
      note: { type: "string", description: "Why there is no graph, when the machine could not be explored." },
    },
  });
  // Open objects say so (`additionalProperties: true`): a bare `type: object` reads as "no members" to
  // client generators such as openapi-typescript.
  const open = { type: "object", additionalProperties: true };
  table.set("OpenApiDocument", {
    type: "object",
    description: "An OpenAPI 3.1 document: this one.",
    required: ["openapi", "info", "paths"],
    properties: {
      openapi: { type: "string", pattern: "^3\\.1\\.[0-9]+$" },
      info: {
        type: "object",
        required: ["title", "version"],
        properties: { title: { type: "string" }, version: { type: "string" }, description: { type: "string" } },
        additionalProperties: true,
      },
      paths: { type: "object", additionalProperties: open },
      components: open,
    },
    additionalProperties: true,
  });
  table.set("Health", {
    type: "object",
    required: ["status"],
    properties: {
      status: {
        enum: Object.values(HealthStatus),
        description: "`degraded` when an attached component (e.g. NATS) is not ok; the process still answers.",
      },
      components: {
        type: "object",
        description: "Attached components by name (`nats` with `drover serve --nats`).",
        additionalProperties: {
          type: "object",
          required: ["ok", "status"],
          properties: {
            ok: { type: "boolean" },
            status: { type: "string", description: "e.g. `connected`, `reconnecting`, `closed`" },
            detail: { type: "string" },
          },
        },
      },
    },
  });
}
