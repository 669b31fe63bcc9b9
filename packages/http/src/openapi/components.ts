import { OutboxStatus } from "@drover/core";
import {
  ENTITY_TAG_PATTERN,
  IDEMPOTENCY_KEY_PATTERN,
  IF_MATCH_PATTERN,
  ListLimit,
  OutboxLimit,
  type Scope,
} from "../wire.js";
import { type JsonSchema, type OpenApiObject, type OpenApiOperation, PROBLEM_JSON, ref } from "./document.js";

// ─── Headers, parameters, responses ────────────────────────────────────────────────────

export const header = (name: string) => ({ $ref: `#/components/headers/${name}` });
export const parameter = (name: string) => ({ $ref: `#/components/parameters/${name}` });
export const sharedResponse = (name: string) => ({ $ref: `#/components/responses/${name}` });

export function sharedHeaders(): Record<string, OpenApiObject> {
  return {
    RequestId: { description: "The request's id, also in the server's logs.", schema: { type: "string" } },
    IdempotentReplayed: {
      description: "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
      schema: { type: "string", enum: ["true"] },
    },
    ETag: {
      description: 'The entity\'s version in double quotes, e.g. `"3"`: send it back as `If-Match`.',
      schema: { type: "string", pattern: ENTITY_TAG_PATTERN },
    },
  };
}

export function sharedParameters(): Record<string, OpenApiObject> {
  const limit = (what: string, bounds: { readonly Min: number; readonly Max: number; readonly Default: number }) => ({
    name: "limit",
    in: "query",
    required: false,
    description: `How many ${what} to return.`,
    schema: { type: "integer", minimum: bounds.Min, maximum: bounds.Max, default: bounds.Default },
  });
  return {
    IdempotencyKey: {
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description:
        "The event's id (1–255 printable ASCII characters, no spaces). Sending the same key and body again " +
        "replays the first answer (with `Idempotent-Replayed: true`) and changes nothing; the same key with " +
        "another body is 422 `idempotency_key_reused`. Without it, drover generates an id.",
      schema: { type: "string", minLength: 1, maxLength: 255, pattern: IDEMPOTENCY_KEY_PATTERN },
    },
    IfMatch: {
      name: "If-Match",
      in: "header",
      required: false,
      description:
        'Apply the event only if the entity is at one of these versions (its ETag, e.g. `"3"`, or a list `"2", "3"`; ' +
        '`"0"`: it must not exist yet), or exists at all (`*`), else 412. Tags are compared strongly: a weak tag ' +
        '(`W/"3"`) never matches.',
      schema: { type: "string", pattern: IF_MATCH_PATTERN },
    },
    Limit: limit("entities", ListLimit),
    Prefix: {
      name: "prefix",
      in: "query",
      required: false,
      description: "Only entities whose id starts with this.",
      schema: { type: "string", minLength: 1, maxLength: 200 },
    },
    Status: {
      name: "status",
      in: "query",
      required: false,
      description: "Only entities whose state has this name, as their machine names it (`stateName`).",
      schema: { type: "string", minLength: 1, maxLength: 200 },
    },
    Cursor: {
      name: "cursor",
      in: "query",
      required: false,
      description: "The `nextCursor` of the previous page; absent for the first page.",
      schema: { type: "string", minLength: 1 },
    },
    OutboxStatus: {
      name: "status",
      in: "query",
      required: false,
      description: "Only rows in this status: `pending` (waiting or being retried) or `dead` (gave up); absent: all.",
      schema: { type: "string", enum: [OutboxStatus.Pending, OutboxStatus.Dead] },
    },
    OutboxLimit: limit("rows", OutboxLimit),
    IntentId: {
      name: "intentId",
      in: "path",
      required: true,
      description: "The intent's id `machine/entityId/version/index`, its slashes percent-encoded (`%2F`).",
      schema: { type: "string", minLength: 1 },
    },
  };
}

/** A response; every answer carries `X-Request-Id`. */
export function response(
  description: string,
  content?: { media: string; schema: JsonSchema },
  headers: Record<string, OpenApiObject> = {},
): OpenApiObject {
  const answer: OpenApiObject = { description, headers: { "X-Request-Id": header("RequestId"), ...headers } };
  if (content !== undefined) answer.content = { [content.media]: { schema: content.schema } };
  return answer;
}

export function problem(
  description: string,
  schema: JsonSchema,
  headers?: Record<string, OpenApiObject>,
): OpenApiObject {
  return response(description, { media: PROBLEM_JSON, schema }, headers);
}

export function sharedResponses(): Record<string, OpenApiObject> {
  return {
    Unauthorized: problem("No valid bearer token.", ref("Problem"), {
      "WWW-Authenticate": { description: "`Bearer`.", schema: { type: "string" } },
    }),
    Forbidden: problem("The token lacks the scope this operation needs.", ref("Problem")),
    PayloadTooLarge: problem("The body is over 64 KiB.", ref("Problem")),
    Unavailable: problem("The store is unavailable; try again later.", ref("Problem")),
  };
}

/** Description, scope and security of an operation. */
function access(
  scope: Scope | null,
  description: string,
): Pick<OpenApiOperation, "description" | "security" | "x-drover-scope"> {
  if (scope === null) return { description: `${description}\n\nOpen: no token needed.`, security: [] };
  return { description: `${description}\n\nNeeds a token with the \`${scope}\` scope.`, "x-drover-scope": scope };
}

/** What {@link operation} takes: the operation's id, tags and summary, who may call it, and its answers. */
export interface OperationSpec {
  readonly id: string;
  readonly tags: string[];
  readonly summary: string;
  /** `null`: open to anyone. */
  readonly scope: Scope | null;
  readonly description: string;
  readonly parameters?: OpenApiObject[];
  readonly requestBody?: OpenApiOperation["requestBody"];
  readonly responses: Record<string, OpenApiObject>;
}

/** An operation, its keys in the document's order. */
export function operation(spec: OperationSpec): OpenApiOperation {
  return {
    operationId: spec.id,
    tags: spec.tags,
    summary: spec.summary,
    ...access(spec.scope, spec.description),
    ...(spec.parameters === undefined ? {} : { parameters: spec.parameters }),
    ...(spec.requestBody === undefined ? {} : { requestBody: spec.requestBody }),
    responses: spec.responses,
  };
}

export function guarded(responses: Record<string, OpenApiObject>): Record<string, OpenApiObject> {
  return {
    ...responses,
    "401": sharedResponse("Unauthorized"),
    "403": sharedResponse("Forbidden"),
    "503": sharedResponse("Unavailable"),
  };
}
