import { Scope } from "../wire.js";
import { guarded, operation, parameter, problem, response } from "./components.js";
import { JSON_MEDIA, type JsonSchema, type OpenApiDocument, ref } from "./document.js";

const json = (schema: JsonSchema) => ({ media: JSON_MEDIA, schema });

/** The timer, intent-type and schedule routes. */
export function operatorPaths(): OpenApiDocument["paths"] {
  const unknownType = problem(
    "No machine of this server declares the intent type (`reason: unknown_intent_type`); `detail` lists them.",
    ref("UnknownIntentTypeProblem"),
  );
  return {
    "/v1/timers": {
      get: operation({
        id: "timers.list",
        tags: ["timers"],
        summary: "List timers",
        scope: Scope.Admin,
        description:
          "Timers, soonest due first: all, or by status (`pending`, `fired`, `cancelled`, `dead`), or those of one " +
          "entity (`machine` and `id` together).",
        parameters: [
          parameter("TimerStatus"),
          parameter("TimerMachine"),
          parameter("TimerEntityId"),
          parameter("TimerLimit"),
        ],
        responses: guarded({
          "200": response("Timers, soonest due first.", json(ref("TimerPage"))),
          "400": problem("Invalid `status`, `limit` or `id`, or `machine` without `id`.", ref("InvalidProblem")),
          "404": problem("No such machine.", ref("Problem")),
        }),
      }),
    },
    "/v1/timers/{timerId}": {
      get: operation({
        id: "timers.get",
        tags: ["timers"],
        summary: "Read a timer",
        scope: Scope.Admin,
        description: "One timer with its status, attempts and last error.",
        parameters: [parameter("TimerId")],
        responses: guarded({
          "200": response("The timer.", json(ref("Timer"))),
          "404": problem("No such timer.", ref("Problem")),
        }),
      }),
    },
    "/v1/timers/{timerId}/retry": {
      post: operation({
        id: "timers.retry",
        tags: ["timers"],
        summary: "Retry a dead timer",
        scope: Scope.Admin,
        description: "Make a dead timer pending again, due now, with a fresh count of attempts.",
        parameters: [parameter("TimerId")],
        responses: guarded({
          "200": response("The timer, pending again.", json(ref("Timer"))),
          "404": problem("No such timer.", ref("Problem")),
          "409": problem("The timer is not dead (it is pending, fired or cancelled).", ref("Problem")),
        }),
      }),
    },
    "/v1/intent-types": {
      get: operation({
        id: "intentTypes.list",
        tags: ["intent types"],
        summary: "Intent types and whether they are paused",
        scope: Scope.Admin,
        description: "Every intent type the machines declare (by name), then paused ones no machine declares any more.",
        responses: guarded({ "200": response("The intent types.", json(ref("IntentTypes"))) }),
      }),
    },
    "/v1/intent-types/paused": {
      get: operation({
        id: "intentTypes.paused",
        tags: ["intent types"],
        summary: "Paused intent types",
        scope: Scope.Admin,
        description: "The intent types an operator paused, by name.",
        responses: guarded({ "200": response("The paused intent types.", json(ref("IntentTypes"))) }),
      }),
    },
    "/v1/intent-types/{type}/pause": {
      put: operation({
        id: "intentTypes.pause",
        tags: ["intent types"],
        summary: "Pause an intent type",
        scope: Scope.Admin,
        description:
          "Pause an intent type in every process on the store, no restart needed (e.g. during a provider outage): " +
          "its intents stay pending and keep their attempts; an entity's later intents wait behind a paused one. " +
          "Idempotent: pausing a paused type answers 200 with `changed: false`.",
        parameters: [parameter("IntentType")],
        responses: guarded({
          "200": response("The intent type, paused.", json(ref("IntentTypeChange"))),
          "404": unknownType,
        }),
      }),
      delete: operation({
        id: "intentTypes.resume",
        tags: ["intent types"],
        summary: "Resume a paused intent type",
        scope: Scope.Admin,
        description:
          "Resume an intent type: its due intents run at once. Idempotent: resuming a running type answers 200 " +
          "with `changed: false`. A paused type no machine declares any more can still be resumed.",
        parameters: [parameter("IntentType")],
        responses: guarded({
          "200": response("The intent type, running.", json(ref("IntentTypeChange"))),
          "404": unknownType,
        }),
      }),
    },
    "/v1/schedules": {
      get: operation({
        id: "schedules.list",
        tags: ["operations"],
        summary: "Recurring schedules",
        scope: Scope.Read,
        description:
          "The config's recurring schedules with their next occurrence. Each occurrence is sent once across all " +
          "processes (its instant is in the event id); after downtime the latest missed one fires once on start.",
        responses: guarded({ "200": response("The schedules.", json(ref("Schedules"))) }),
      }),
    },
  };
}
