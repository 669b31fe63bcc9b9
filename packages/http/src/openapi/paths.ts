import type { AnyMachine } from "@drover/core";
import { Scope } from "../wire.js";
import {
  guarded,
  header,
  type OperationSpec,
  operation,
  parameter,
  problem,
  response,
  sharedResponse,
} from "./components.js";
import {
  JSON_MEDIA,
  type JsonObject,
  type JsonSchema,
  type OpenApiDocument,
  type OpenApiObject,
  ref,
  SCHEMAS,
} from "./document.js";
import { MachinePart } from "./machine-schemas.js";

// ─── Paths ─────────────────────────────────────────────────────────────────────────────

const json = (schema: JsonSchema) => ({ media: JSON_MEDIA, schema });

/** A `GET` of the `operations` tag that needs the `read` scope and answers one JSON component. */
function readOperation(id: string, summary: string, description: string, answer: string, schema: string) {
  return {
    get: operation({
      id,
      tags: ["operations"],
      summary,
      scope: Scope.Read,
      description,
      responses: guarded({ "200": response(answer, json(ref(schema))) }),
    }),
  };
}

export function machinePaths(machine: AnyMachine, events: ReadonlyMap<string, string>): OpenApiDocument["paths"] {
  const m = machine.name;
  const schema = (part: MachinePart) => ref(`${m}.${part}`);
  const idParameter = {
    name: "id",
    in: "path",
    required: true,
    description: `The entity's id, as \`${m}\`'s id schema describes it.`,
    schema: schema(MachinePart.Id),
  };
  const invalid = (what: string) =>
    problem(
      `Invalid input (${what}); nothing was written. \`issues\` lists what the schema found.`,
      ref("InvalidProblem"),
    );
  const types = [...events.keys()];
  const internal = machine.internal.length > 0 ? machine.internal.map((type) => `\`${type}\``).join(", ") : "none";
  const body: JsonObject =
    events.size === 0
      ? { not: {}, description: `\`${m}\` takes no events from callers.` }
      : {
          oneOf: [...events.values()].map(ref),
          discriminator: {
            propertyName: "type",
            mapping: Object.fromEntries([...events].map(([type, name]) => [type, SCHEMAS + name])),
          },
        };
  const replayed = { "Idempotent-Replayed": header("IdempotentReplayed") };
  /** A read of one entity by id: `400` for a bad id, `404` for an unknown one. */
  const entityRead = (spec: Omit<OperationSpec, "parameters" | "responses">, ok: OpenApiObject) => ({
    get: operation({
      ...spec,
      parameters: [idParameter],
      responses: guarded({
        "200": ok,
        "400": invalid("id"),
        "404": problem(`No such ${m} entity.`, ref("NotFoundProblem")),
      }),
    }),
  });

  return {
    [`/v1/${m}/{id}/events`]: {
      post: operation({
        id: `${m}.sendEvent`,
        tags: [m],
        summary: `Send an event to a ${m} entity`,
        scope: Scope.Write,
        description:
          `Events callers may send: ${types.map((type) => `\`${type}\``).join(", ") || "none"}. ` +
          `Only ${machine.creates.map((type) => `\`${type}\``).join(", ")} may create an entity; any other ` +
          `event to an unknown id is 404. Internal events (sent only by drover: ${internal}) are 400.`,
        parameters: [idParameter, parameter("IdempotencyKey"), parameter("IfMatch")],
        requestBody: {
          required: true,
          description: "The event: a flat JSON object with a `type` and its fields (at most 64 KiB).",
          content: { [JSON_MEDIA]: { schema: body } },
        },
        responses: {
          ...guarded({
            "200": response(
              "Processed: the new state and the intents it asked for. A duplicate (same Idempotency-Key and body) " +
                "answers the original body again, with `Idempotent-Replayed: true`.",
              json(schema(MachinePart.Processed)),
              replayed,
            ),
            "400": invalid("id, event, Idempotency-Key or If-Match; or an internal event"),
            "404": problem(`No such ${m} entity, and the event does not create one.`, ref("NotFoundProblem")),
            "409": problem("The entity kept changing until retries ran out; safe to retry.", ref("ConflictProblem")),
            "412": problem(
              "If-Match did not name the entity's current version (a weak tag never does), or was `*` and there is no entity.",
              ref("Problem"),
            ),
            "413": sharedResponse("PayloadTooLarge"),
            "422": problem(
              `Rejected by \`${m}\` (\`kind: rejected\`, \`reason\` from its rejection reasons; replayed for a ` +
                "duplicate with `Idempotent-Replayed: true`), or the Idempotency-Key was used with another body " +
                "(`kind: invalid`, `reason: idempotency_key_reused`).",
              { oneOf: [schema(MachinePart.Rejected), ref("IdempotencyKeyReusedProblem")] },
              replayed,
            ),
          }),
          // Over guarded()'s 503: on this route it is also an entity this code cannot read.
          "503": problem(
            "The store is unavailable (`kind: unavailable`; try again after `Retry-After`), or the entity's stored " +
              "state was written by newer code, or its migration to this code's version failed " +
              "(`kind: state_unreadable`, `reason` newer_version, migration_failed, schema_refused or bad_version; " +
              "likewise `event_unreadable` for a stored event). Nothing was written; the same request succeeds once " +
              "code that can read the state runs.",
            { oneOf: [ref("UnavailableProblem"), ref("UnreadableProblem")] },
          ),
        },
      }),
    },
    [`/v1/${m}/{id}`]: entityRead(
      {
        id: `${m}.get`,
        tags: [m],
        summary: `Read a ${m} entity`,
        scope: Scope.Read,
        description: "The entity's current state and version; `ETag` is its version.",
      },
      response("The entity.", json(schema(MachinePart.Entity)), { ETag: header("ETag") }),
    ),
    [`/v1/${m}/{id}/history`]: entityRead(
      {
        id: `${m}.history`,
        tags: [m],
        summary: `The journal of a ${m} entity`,
        scope: Scope.Read,
        description: "Every accepted event of the entity with the state it led to, oldest first.",
      },
      response("The journal.", json(schema(MachinePart.History))),
    ),
    [`/v1/${m}/{id}/outbox`]: entityRead(
      {
        id: `${m}.outbox`,
        tags: [m, "outbox"],
        summary: `The outbox rows of a ${m} entity`,
        scope: Scope.Admin,
        description: "The outbox rows of the intents in the entity's journal, in commit order.",
      },
      response("Its outbox rows.", json(ref("OutboxPage"))),
    ),
    [`/v1/${m}`]: {
      get: operation({
        id: `${m}.list`,
        tags: [m],
        summary: `List ${m} entities`,
        scope: Scope.Read,
        description: "A page of entities in id order.",
        parameters: [parameter("Limit"), parameter("Cursor"), parameter("Prefix"), parameter("Status")],
        responses: guarded({
          "200": response("A page of entities.", json(schema(MachinePart.EntityPage))),
          "400": invalid("limit, cursor, prefix or status"),
        }),
      }),
    },
  };
}

export function operationsPaths(): OpenApiDocument["paths"] {
  return {
    "/v1/outbox": {
      get: operation({
        id: "outbox.list",
        tags: ["outbox"],
        summary: "List outbox rows",
        scope: Scope.Admin,
        description: "Intents waiting to be executed (`pending`) or given up on (`dead`).",
        parameters: [parameter("OutboxStatus"), parameter("OutboxLimit")],
        responses: guarded({
          "200": response("Outbox rows, in commit order.", json(ref("OutboxPage"))),
          "400": problem("Invalid `status` or `limit`.", ref("InvalidProblem")),
        }),
      }),
    },
    "/v1/outbox/{intentId}/retry": {
      post: operation({
        id: "outbox.retry",
        tags: ["outbox"],
        summary: "Retry a dead intent",
        scope: Scope.Admin,
        description: "Make a dead intent pending again, with a fresh count of attempts.",
        parameters: [parameter("IntentId")],
        responses: guarded({
          "200": response("The row, pending again.", json(ref("OutboxRecord"))),
          "404": problem("No such intent.", ref("Problem")),
          "409": problem("The intent is not dead (it is pending or done).", ref("Problem")),
        }),
      }),
    },
    "/v1/token": readOperation(
      "token.info",
      "The caller's token",
      "The name and scopes of the token this request carries.",
      "The token.",
      "TokenInfo",
    ),
    "/v1/machines": readOperation(
      "machines.list",
      "Machines, their versions and their entities by state",
      "Every machine of this server with the state and event schema versions its code runs (`version`, " +
        "`eventVersion`), its entities counted by state name (as each machine names its states) and by the " +
        "state version they are stored at (`stateVersions`: one count query per machine).",
      "The machines.",
      "MachineSummaries",
    ),
    "/v1/machines/{machine}/diagram": {
      get: operation({
        id: "machines.diagram",
        tags: ["operations"],
        summary: "A machine's state diagram",
        scope: Scope.Read,
        description:
          "The machine's states and transitions, found by running it on events generated from its schemas " +
          "(`exploreMachine`), with the same graph as a Mermaid `stateDiagram-v2`. State names are the " +
          "machine's own (`stateName`; by default the state's `status`, else its `state` field).",
        parameters: [
          {
            name: "machine",
            in: "path",
            required: true,
            description: "The machine's name.",
            schema: { type: "string" },
          },
        ],
        responses: guarded({
          "200": response("The diagram.", json(ref("Diagram"))),
          "404": problem("No such machine.", ref("Problem")),
        }),
      }),
    },
    "/v1/stats": readOperation(
      "stats",
      "Counters for the dashboard",
      "Results by machine and kind, dispatcher attempts, the outbox, timers and timer firings, as JSON.",
      "The counters.",
      "Stats",
    ),
    "/v1/stream": {
      get: operation({
        id: "stream",
        tags: ["operations"],
        summary: "Live events (Server-Sent Events)",
        scope: Scope.Read,
        description:
          "A never-ending `text/event-stream`: `event: step` for every event this server runs (machine, id, " +
          "result kind, type, version, status, intents), `event: attempt` for every dispatcher attempt " +
          "(intent id, outcome, attempt, error), `event: dead_letter` when an intent is given up (intent id, " +
          "machine, entity id, intent type, attempts, error), `event: timer_dead` when a timer is (timer id, " +
          "machine, entity id, attempts, error), and `event: stats` (as `GET /v1/stats`) every 2 seconds. Send the token in " +
          "the `Authorization` header (read it with `fetch`: `EventSource` cannot send headers).",
        responses: guarded({
          "200": response("The stream.", { media: "text/event-stream", schema: { type: "string" } }),
        }),
      }),
    },
    "/healthz": {
      get: operation({
        id: "healthz",
        tags: ["operations"],
        summary: "Health",
        scope: null,
        description:
          "Liveness: 200 while the process runs and answers (point a Kubernetes livenessProbe here); " +
          "`degraded` when an attached component is not ok. 503 only while the server is shutting down.",
        responses: {
          "200": response("Alive.", json(ref("Health"))),
          "503": sharedResponse("Unavailable"),
        },
      }),
    },
    "/readyz": {
      get: operation({
        id: "readyz",
        tags: ["operations"],
        summary: "Readiness",
        scope: null,
        description:
          "Readiness: 200 when this process can do its job — the store commits a write (probed at most about " +
          "once a second), the dispatcher and scheduler loops complete their rounds, attached components are " +
          "up; else 503 with the failing checks and their reasons. Point load balancers and a Kubernetes " +
          "readinessProbe here.",
        responses: {
          "200": response("Ready.", json(ref("Readiness"))),
          "503": response("Not ready: the failing checks say why.", json(ref("Readiness"))),
        },
      }),
    },
    "/metrics": {
      get: operation({
        id: "metrics",
        tags: ["operations"],
        summary: "Prometheus metrics",
        scope: Scope.Read,
        description: "Metrics in the Prometheus text exposition format.",
        responses: {
          "200": response("The metrics.", { media: "text/plain", schema: { type: "string" } }),
          "401": sharedResponse("Unauthorized"),
          "403": sharedResponse("Forbidden"),
        },
      }),
    },
    "/openapi.json": {
      get: operation({
        id: "openapi",
        tags: ["operations"],
        summary: "This document",
        scope: null,
        description: "The OpenAPI 3.1 description of this API.",
        responses: { "200": response("This document.", json(ref("OpenApiDocument"))) },
      }),
    },
  };
}
