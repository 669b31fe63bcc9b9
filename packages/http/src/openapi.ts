import { isDeepStrictEqual } from "node:util";
import type {
  AnyMachine,
  IntentRecord,
  Issue,
  JournalEntry,
  Json,
  OutboxRecord,
  Processed,
  StoredEntity,
} from "@drover/core";
import { InvalidReason, OutboxStatus, RunResultKind } from "@drover/core";
import { z } from "zod";

// ─── The document's types ──────────────────────────────────────────────────────────────

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) as a plain JSON value. */
export type JsonSchema = boolean | { [keyword: string]: unknown };

/** Any OpenAPI object this module does not model in detail (responses, parameters…). */
export type OpenApiObject = { [key: string]: unknown };

/** The token scopes of the HTTP API. */
export type ApiScope = "read" | "write" | "admin";

/** One operation of the document. */
export type OpenApiOperation = {
  operationId: string;
  tags: string[];
  summary: string;
  description: string;
  /** `[]` on the routes open to anyone; absent means the document's global bearer rule. */
  security?: Record<string, string[]>[];
  /** The scope the operation needs; absent on open routes. */
  "x-drover-scope"?: ApiScope;
  parameters?: OpenApiObject[];
  requestBody?: { required: boolean; description: string; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, OpenApiObject>;
};

/** An OpenAPI 3.1.0 document, as {@link buildOpenApi} makes it: plain JSON, ready to serve. */
export type OpenApiDocument = {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  servers?: { url: string }[];
  tags: { name: string; description: string }[];
  security: Record<string, string[]>[];
  paths: Record<string, { get?: OpenApiOperation; post?: OpenApiOperation }>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, OpenApiObject>;
    headers: Record<string, OpenApiObject>;
    parameters: Record<string, OpenApiObject>;
    responses: Record<string, OpenApiObject>;
  };
};

/** What {@link buildOpenApi} takes. */
export interface BuildOpenApiOptions {
  /** The machines the server exposes: one set of `/v1/{machine}` routes each. */
  readonly machines: readonly AnyMachine[];
  /** `info.title`; default `"drover"`. */
  readonly title?: string;
  /** `info.version`, the version of this API description; default `"1.0.0"`. */
  readonly version?: string;
  /** Where the API is served, e.g. `"http://127.0.0.1:3000"`; without it, no `servers` (clients use the document's origin). */
  readonly serverUrl?: string;
}

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

// ─── Building the document ─────────────────────────────────────────────────────────────

type JsonObject = { [keyword: string]: unknown };

const SCHEMAS = "#/components/schemas/";
/** A reference to a component in a schema's JSON text (component names need no escaping). */
const REFERENCE = /"\$ref":"#\/components\/schemas\/([A-Za-z0-9._-]+)"/g;
const PROBLEM_JSON = "application/problem+json";
const JSON_MEDIA = "application/json";
/** First path segments under `/v1` that are not machines. */
const RESERVED_SEGMENTS = ["outbox", "machines", "stream", "stats", "token"];

const Scope = { Read: "read", Write: "write", Admin: "admin" } as const satisfies Record<string, ApiScope>;

/** The component names every machine gets, `<machine>.<suffix>`; events and `$defs` never take them. */
const MachinePart = {
  Id: "Id",
  State: "State",
  Intent: "Intent",
  Event: "Event",
  RejectionReason: "RejectionReason",
  Rejected: "Rejected",
  IntentRecord: "IntentRecord",
  Processed: "Processed",
  Entity: "Entity",
  EntityPage: "EntityPage",
  JournalEntry: "JournalEntry",
  History: "History",
} as const;
type MachinePart = (typeof MachinePart)[keyof typeof MachinePart];

function ref(name: string): JsonObject {
  return { $ref: SCHEMAS + name };
}

/**
 * The OpenAPI 3.1 description of drover's HTTP API for `machines`: every route of the
 * contract, with request bodies and responses generated from the same zod schemas the server
 * validates with (request bodies as zod *inputs*, responses as *outputs*). Events a machine
 * lists in `internal` are left out of its request body. Deterministic: the same machines give
 * a deep-equal document.
 *
 * Throws a `TypeError` naming the machine when its event schema is not a union of objects with
 * a literal `type` (what `z.discriminatedUnion("type", [...])` gives), or when a machine's name
 * clashes with another route.
 *
 * @example
 * const doc = buildOpenApi({ machines: [payments], serverUrl: "http://127.0.0.1:3000" });
 * doc.paths["/v1/payments/{id}/events"]?.post?.requestBody; // oneOf RequestPayment, VerifyPayment, …
 */
export function buildOpenApi(options: BuildOpenApiOptions): OpenApiDocument {
  const schemas = new SchemaTable();
  addSharedSchemas(schemas);

  const paths: OpenApiDocument["paths"] = {};
  const tags: OpenApiDocument["tags"] = [];
  const names = new Set<string>();
  for (const machine of options.machines) {
    if (names.has(machine.name)) throw new TypeError(`machine "${machine.name}" is listed twice`);
    if (RESERVED_SEGMENTS.includes(machine.name)) {
      throw new TypeError(
        `machine "${machine.name}" clashes with the route /v1/${machine.name}: give the machine another name`,
      );
    }
    names.add(machine.name);
    const events = addMachineSchemas(schemas, machine);
    Object.assign(paths, machinePaths(machine, events));
    tags.push({ name: machine.name, description: `Entities of the \`${machine.name}\` machine.` });
  }
  Object.assign(paths, operationsPaths());
  tags.push(
    { name: "outbox", description: "Intents waiting to be executed, and dead letters (admin)." },
    { name: "operations", description: "Health, metrics and this document." },
  );

  const machineList = options.machines.map((machine) => `\`${machine.name}\``).join(", ");
  const document: OpenApiDocument = {
    openapi: "3.1.0",
    info: {
      title: options.title ?? "drover",
      version: options.version ?? "1.0.0",
      description:
        `drover's HTTP API for the machines ${machineList || "(none)"}, generated from their schemas. ` +
        "Every `/v1` route needs `Authorization: Bearer <token>`; tokens carry the scopes `read`, `write` " +
        "and `admin`, and each operation names the scope it needs (also in `x-drover-scope`). Errors are " +
        "RFC 9457 problem details with an extra `kind`. Every answer carries `X-Request-Id`.",
    },
    tags,
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: schemas.toRecord(),
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "An API token (`drover token create --scopes read,write`). With no tokens configured, the server " +
            "creates an admin token on first start and prints it once.",
        },
      },
      headers: sharedHeaders(),
      parameters: sharedParameters(),
      responses: sharedResponses(),
    },
  };
  if (options.serverUrl !== undefined) document.servers = [{ url: options.serverUrl }];
  return document;
}

// ─── Component table ───────────────────────────────────────────────────────────────────

/** `components.schemas` under construction: names are unique, equal schemas may share one. */
class SchemaTable {
  readonly #schemas = new Map<string, JsonSchema>();
  readonly #reserved = new Set<string>();
  readonly #hoisted = new Set<string>();

  /** Keep `name` for a later {@link set}: {@link allocate} will not hand it out. */
  reserve(name: string): void {
    this.#reserved.add(name);
  }

  /** Store `schema` as `name`; a `hoisted` one (a zod `$defs` entry) is dropped if nothing points at it. */
  set(name: string, schema: JsonSchema, hoisted = false): void {
    if (this.#schemas.has(name)) throw new Error(`internal error: schema ${name} set twice`);
    this.#schemas.set(name, schema);
    if (hoisted) this.#hoisted.add(name);
  }

  has(name: string): boolean {
    return this.#schemas.has(name);
  }

  get(name: string): JsonSchema | undefined {
    return this.#schemas.get(name);
  }

  /** True if `name` can hold `schema`: free, or already holding an equal schema. */
  fits(name: string, schema: JsonSchema): boolean {
    const existing = this.#schemas.get(name);
    if (existing !== undefined) return isDeepStrictEqual(existing, schema);
    return !this.#reserved.has(name);
  }

  /** A name that is neither taken nor reserved nor in `also`: `base`, else `base_2`, `base_3`… */
  free(base: string, also: ReadonlySet<string> = new Set()): string {
    for (let n = 1; ; n++) {
      const name = n === 1 ? base : `${base}_${n}`;
      if (!this.#schemas.has(name) && !this.#reserved.has(name) && !also.has(name)) return name;
    }
  }

  /** Put `schema` under `base` (or `base_2`…), reusing a name that already holds an equal schema. */
  allocate(base: string, schema: JsonSchema): string {
    for (let n = 1; ; n++) {
      const name = n === 1 ? base : `${base}_${n}`;
      if (this.fits(name, schema)) {
        if (!this.#schemas.has(name)) this.#schemas.set(name, schema);
        this.#hoisted.delete(name);
        return name;
      }
    }
  }

  /**
   * The schemas, without the hoisted ones nothing points at (such as the input side of a
   * `.meta({ id })` event, which its event component copies).
   */
  toRecord(): Record<string, JsonSchema> {
    const kept = new Set([...this.#schemas.keys()].filter((name) => !this.#hoisted.has(name)));
    const queue = [...kept];
    for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
      for (const [, target] of JSON.stringify(this.#schemas.get(name)).matchAll(REFERENCE)) {
        if (target !== undefined && !kept.has(target)) {
          kept.add(target);
          queue.push(target);
        }
      }
    }
    return Object.fromEntries([...this.#schemas].filter(([name]) => kept.has(name)));
  }
}

/** Component names must match `^[a-zA-Z0-9._-]+$`. */
function componentName(text: string): string {
  const name = text.replace(/[^A-Za-z0-9._-]/g, "_");
  return name === "" ? "_" : name;
}

// ─── zod → JSON Schema ─────────────────────────────────────────────────────────────────

/** Keywords whose value is one subschema, an array of them, or a map of them. */
const SUBSCHEMA = new Set([
  "items",
  "additionalProperties",
  "not",
  "propertyNames",
  "contains",
  "if",
  "then",
  "else",
  "unevaluatedItems",
  "unevaluatedProperties",
  "contentSchema",
]);
const SUBSCHEMA_ARRAY = new Set(["allOf", "anyOf", "oneOf", "prefixItems"]);
const SUBSCHEMA_MAP = new Set(["properties", "patternProperties", "$defs", "dependentSchemas"]);
/** Dropped: `$schema`/`$id` are the document's business; zod's `readOnly` (from `.readonly()`) is about TS immutability, and in OpenAPI it would tell clients not to send the field. */
const DROPPED = new Set(["$schema", "$id", "readOnly"]);

/** Rebuild a schema, visiting every subschema (and only subschemas: `const`, `default`… are data). */
function mapSchema(schema: unknown, visit: (node: JsonObject) => JsonObject): unknown {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return schema;
  const node = schema as JsonObject;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED.has(key)) continue;
    if (SUBSCHEMA.has(key)) out[key] = mapSchema(value, visit);
    else if (SUBSCHEMA_ARRAY.has(key) && Array.isArray(value)) out[key] = value.map((item) => mapSchema(item, visit));
    else if (SUBSCHEMA_MAP.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, item]) => [name, mapSchema(item, visit)]));
    } else out[key] = value;
  }
  return visit(out);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toJsonSchema(machine: AnyMachine, what: string, schema: z.ZodType, io: "input" | "output"): JsonObject {
  try {
    return z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as JsonObject;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new TypeError(`machine "${machine.name}": its ${what} schema cannot be described as JSON Schema: ${message}`);
  }
}

/**
 * Bring a converted schema into the table: its `$defs` (zod makes them for `.meta({ id })`
 * schemas and for recursion) become components `<machine>.defs.<def>`, sharing a name with an
 * equal schema already there, else taking `<def>.input` (zod's input side of a def whose output
 * differs) or `<def>_2`, `_3`…; `#/$defs/…` and `#` (the root itself)
 * are pointed at the components. The root is returned, not stored: it goes under `rootName`.
 */
function importSchema(
  table: SchemaTable,
  machine: AnyMachine,
  json: JsonObject,
  io: "input" | "output",
  rootName: string,
): JsonObject {
  const defs = isObject(json.$defs) ? json.$defs : {};
  const defNames = Object.keys(defs);
  const mapping = new Map<string, string>();
  for (const def of defNames) {
    const base = `${machine.name}.defs.${componentName(def)}`;
    mapping.set(def, [...mapping.values()].includes(base) ? table.free(base, new Set(mapping.values())) : base);
  }
  const rewrite = (schema: unknown): JsonObject =>
    mapSchema(schema, (node) => {
      const target = node.$ref;
      if (typeof target !== "string") return node;
      if (target === "#") return { ...node, $ref: SCHEMAS + rootName };
      if (target.startsWith("#/$defs/")) {
        const pointer = target.slice("#/$defs/".length);
        const def = mapping.has(pointer) ? pointer : pointer.replaceAll("~1", "/").replaceAll("~0", "~");
        const name = mapping.get(def);
        if (name === undefined) throw new Error(`internal error: unexpected reference ${target} from zod`);
        return { ...node, $ref: SCHEMAS + name };
      }
      return node;
    }) as JsonObject;

  // Renaming one def changes the references in others, so settle the names before storing any.
  let rewritten = defNames.map((def) => rewrite(defs[def]));
  for (let round = 0; round <= defNames.length; round++) {
    const clashes = defNames.filter((def, index) => {
      const name = mapping.get(def) as string;
      return !table.fits(name, rewritten[index] as JsonObject);
    });
    if (clashes.length === 0) break;
    for (const def of clashes) {
      const others = new Set([...mapping.entries()].filter(([key]) => key !== def).map(([, name]) => name));
      // Most clashes are a def whose input side differs from its output side (a loose object).
      const base = `${machine.name}.defs.${componentName(def)}${io === "input" ? ".input" : ""}`;
      mapping.set(def, table.free(base, others));
    }
    rewritten = defNames.map((def) => rewrite(defs[def]));
  }
  defNames.forEach((def, index) => {
    const name = mapping.get(def) as string;
    if (!table.has(name)) table.set(name, rewritten[index] as JsonObject, true);
  });
  const { $defs: _defs, ...root } = json;
  return rewrite(root);
}

/** The part of a schema that describes one event type, found by {@link eventBranches}. */
interface EventBranch {
  readonly type: string;
  readonly schema: JsonObject;
}

/**
 * Split a machine's (imported) event schema into one object schema per event type. Unions
 * (`oneOf`/`anyOf`, nested too) are flattened, references followed; an object whose `type` is
 * an `enum` (a `z.literal([...])` of several values) gives one branch per value.
 */
function eventBranches(table: SchemaTable, machine: AnyMachine, schema: JsonObject): EventBranch[] {
  const branches: EventBranch[] = [];
  const visit = (node: JsonObject, where: string, seen: ReadonlySet<string>): void => {
    const followable = node.properties === undefined && node.oneOf === undefined && node.anyOf === undefined;
    if (typeof node.$ref === "string" && node.$ref.startsWith(SCHEMAS) && followable) {
      const name = node.$ref.slice(SCHEMAS.length);
      const target = table.get(name);
      if (!seen.has(name) && isObject(target)) {
        visit(target, `${where} (${name})`, new Set([...seen, name]));
        return;
      }
    }
    const union = Array.isArray(node.oneOf) ? node.oneOf : Array.isArray(node.anyOf) ? node.anyOf : undefined;
    if (union !== undefined && node.properties === undefined) {
      union.forEach((member, index) => {
        visit(isObject(member) ? member : {}, `${where}.${node.oneOf ? "oneOf" : "anyOf"}[${index}]`, seen);
      });
      return;
    }
    const properties = isObject(node.properties) ? node.properties : undefined;
    const type = properties !== undefined && isObject(properties.type) ? properties.type : undefined;
    if (node.type === "object" && properties !== undefined && type !== undefined) {
      if (typeof type.const === "string") {
        branches.push({ type: type.const, schema: node });
        return;
      }
      if (Array.isArray(type.enum) && type.enum.length > 0 && type.enum.every((value) => typeof value === "string")) {
        for (const value of type.enum as string[]) {
          const { enum: _values, ...single } = type;
          branches.push({
            type: value,
            schema: { ...node, properties: { ...properties, type: { ...single, const: value } } },
          });
        }
        return;
      }
    }
    const shown = JSON.stringify(node);
    throw new TypeError(
      `machine "${machine.name}": its event schema cannot be described in OpenAPI. drover needs a union of ` +
        'objects, each with a literal "type" (z.discriminatedUnion("type", [z.object({ type: z.literal("…"), … }), …])), ' +
        `but ${where} is ${shown.length > 160 ? `${shown.slice(0, 157)}...` : shown}`,
    );
  };
  visit(schema, "the event schema", new Set());
  return branches;
}

/** The machine's components; returns the component name of each external event type, in schema order. */
function addMachineSchemas(table: SchemaTable, machine: AnyMachine): Map<string, string> {
  const name = (part: MachinePart) => `${machine.name}.${part}`;
  for (const part of Object.values(MachinePart)) table.reserve(name(part));

  const imported = (what: string, schema: z.ZodType, io: "input" | "output", rootName: string) =>
    importSchema(table, machine, toJsonSchema(machine, what, schema, io), io, rootName);
  table.set(name(MachinePart.Id), imported("id", machine.schemas.id, "input", name(MachinePart.Id)));
  table.set(name(MachinePart.State), imported("state", machine.schemas.state, "output", name(MachinePart.State)));
  table.set(name(MachinePart.Intent), imported("intent", machine.schemas.intent, "output", name(MachinePart.Intent)));
  const journalEvents = imported("event", machine.schemas.event, "output", name(MachinePart.Event));
  table.set(name(MachinePart.Event), {
    ...journalEvents,
    description:
      journalEvents.description ??
      `Every event of \`${machine.name}\` as the journal records it (internal ones included).`,
  });
  table.set(
    name(MachinePart.RejectionReason),
    imported("rejection", machine.schemas.rejection, "output", name(MachinePart.RejectionReason)),
  );

  // Request bodies: zod's input side. A self-reference (`#`) needs the whole union as a component.
  const inputRoot = table.free(`${machine.name}.EventInput`);
  table.reserve(inputRoot);
  const inputEvents = imported("event", machine.schemas.event, "input", inputRoot);
  if (JSON.stringify(inputEvents).includes(`"${SCHEMAS}${inputRoot}"`)) table.set(inputRoot, inputEvents);
  const byType = new Map<string, JsonObject[]>();
  for (const branch of eventBranches(table, machine, inputEvents)) {
    if (machine.internal.includes(branch.type)) continue;
    byType.set(branch.type, [...(byType.get(branch.type) ?? []), branch.schema]);
  }
  const events = new Map<string, string>();
  for (const [type, variants] of byType) {
    const schema = variants.length === 1 ? (variants[0] as JsonObject) : { anyOf: variants };
    events.set(type, table.allocate(`${machine.name}.${componentName(type)}`, schema));
  }

  table.set(name(MachinePart.Rejected), {
    description: `\`${machine.name}\` refused the event: \`reason\` says why.`,
    allOf: [
      ref("Problem"),
      {
        type: "object",
        required: ["kind", "reason"],
        properties: { kind: { const: RunResultKind.Rejected }, reason: ref(name(MachinePart.RejectionReason)) },
      },
    ],
  });
  table.set(name(MachinePart.IntentRecord), intentRecordSchema(ref(name(MachinePart.Intent))));
  table.set(
    name(MachinePart.Processed),
    processedSchema(
      ref(name(MachinePart.Id)),
      ref(name(MachinePart.State)),
      ref(name(MachinePart.IntentRecord)),
      machine.name,
    ),
  );
  table.set(name(MachinePart.Entity), entitySchema(ref(name(MachinePart.Id)), ref(name(MachinePart.State))));
  table.set(name(MachinePart.EntityPage), entityPageSchema(ref(name(MachinePart.Entity))));
  table.set(
    name(MachinePart.JournalEntry),
    journalEntrySchema(
      ref(name(MachinePart.Id)),
      ref(name(MachinePart.Event)),
      ref(name(MachinePart.State)),
      ref(name(MachinePart.IntentRecord)),
    ),
  );
  table.set(name(MachinePart.History), historySchema(ref(name(MachinePart.JournalEntry))));
  return events;
}

// ─── Shared schemas ────────────────────────────────────────────────────────────────────

const timestamp = (description: string): JsonObject => ({
  type: "string",
  format: "date-time",
  description: `${description} ISO 8601, UTC, e.g. 2026-01-01T12:00:00.000Z.`,
});
const version = { type: "integer", minimum: 1, description: "1 after creation, +1 per accepted event." };
const eventId = { type: "string", description: "The event's id: its Idempotency-Key, or one drover generated." };

function intentRecordSchema(intent: JsonObject): JsonObject {
  return {
    type: "object",
    description: "An intent (a side effect the machine asked for) with its stable id.",
    required: ["id", "intent"],
    properties: { id: { type: "string", description: "`machine/entityId/version/index`." }, intent },
  };
}

function processedSchema(id: JsonObject, state: JsonObject, intentRecord: JsonObject, machine?: string): JsonObject {
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

function entitySchema(id: JsonObject, state: JsonObject): JsonObject {
  return {
    type: "object",
    required: ["id", "version", "state", "createdAt", "updatedAt"],
    properties: {
      id,
      version,
      state,
      createdAt: timestamp("When the entity was created."),
      updatedAt: timestamp("When it last changed."),
    },
  };
}

function entityPageSchema(entity: JsonObject): JsonObject {
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

function journalEntrySchema(id: JsonObject, event: JsonObject, state: JsonObject, intentRecord: JsonObject) {
  return {
    type: "object",
    description: "One accepted event: enough to replay the step.",
    required: ["machine", "id", "version", "eventId", "event", "state", "intents", "at"],
    properties: {
      machine: { type: "string" },
      id,
      version,
      eventId,
      event,
      state: { ...state, description: "The state the machine decided on." },
      intents: { type: "array", items: intentRecord },
      at: timestamp("The event's time (the `at` the machine saw)."),
    },
  };
}

function historySchema(entry: JsonObject): JsonObject {
  return {
    type: "object",
    required: ["entries"],
    properties: { entries: { type: "array", description: "Oldest first.", items: entry } },
  };
}

function problemWith(description: string, properties: JsonObject, required: string[]): JsonObject {
  return { description, allOf: [ref("Problem"), { type: "object", required, properties }] };
}

function addSharedSchemas(table: SchemaTable): void {
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
        description: `What happened: a drover result kind (${Object.values(RunResultKind).join(", ")}) or an HTTP-level one.`,
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
    description: "Every machine with its entities counted by state (the state's `status` member).",
    required: ["machines"],
    properties: {
      machines: {
        type: "array",
        items: {
          type: "object",
          required: ["name", "total", "states", "internal"],
          properties: {
            name: { type: "string" },
            total: { type: "integer", minimum: 0 },
            states: {
              type: "array",
              description: "Sorted by status; `null` counts states without a string `status`, last.",
              items: {
                type: "object",
                required: ["status", "count"],
                properties: { status: { type: ["string", "null"] }, count: { type: "integer", minimum: 0 } },
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
    description: "Counters of this server process since it started, and the outbox (all processes).",
    required: ["at", "startedAt", "results", "attempts", "outbox"],
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
    },
  });
  table.set("Diagram", {
    type: "object",
    description: "A machine's states and transitions.",
    required: ["machine", "states", "transitions", "mermaid"],
    properties: {
      machine: { type: "string" },
      states: { type: "array", items: { type: "string" }, description: "In the order exploration reached them." },
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
  table.set("Health", {
    type: "object",
    required: ["status"],
    properties: { status: { const: "ok" } },
  });
}

// ─── Headers, parameters, responses ────────────────────────────────────────────────────

const header = (name: string) => ({ $ref: `#/components/headers/${name}` });
const parameter = (name: string) => ({ $ref: `#/components/parameters/${name}` });
const sharedResponse = (name: string) => ({ $ref: `#/components/responses/${name}` });

function sharedHeaders(): Record<string, OpenApiObject> {
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

function sharedParameters(): Record<string, OpenApiObject> {
  const limit = (what: string) => ({
    name: "limit",
    in: "query",
    required: false,
    description: `How many ${what} to return.`,
    schema: { type: "integer", minimum: ListLimit.Min, maximum: ListLimit.Max, default: ListLimit.Default },
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
    Limit: limit("entities"),
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
      description: "Only entities whose state's `status` member is this.",
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
    OutboxLimit: limit("rows"),
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
function response(
  description: string,
  content?: { media: string; schema: JsonSchema },
  headers: Record<string, OpenApiObject> = {},
): OpenApiObject {
  const answer: OpenApiObject = { description, headers: { "X-Request-Id": header("RequestId"), ...headers } };
  if (content !== undefined) answer.content = { [content.media]: { schema: content.schema } };
  return answer;
}

function problem(description: string, schema: JsonSchema, headers?: Record<string, OpenApiObject>): OpenApiObject {
  return response(description, { media: PROBLEM_JSON, schema }, headers);
}

function sharedResponses(): Record<string, OpenApiObject> {
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
  scope: ApiScope | null,
  description: string,
): Pick<OpenApiOperation, "description" | "security" | "x-drover-scope"> {
  if (scope === null) return { description: `${description}\n\nOpen: no token needed.`, security: [] };
  return { description: `${description}\n\nNeeds a token with the \`${scope}\` scope.`, "x-drover-scope": scope };
}

function guarded(responses: Record<string, OpenApiObject>): Record<string, OpenApiObject> {
  return {
    ...responses,
    "401": sharedResponse("Unauthorized"),
    "403": sharedResponse("Forbidden"),
    "503": sharedResponse("Unavailable"),
  };
}

// ─── Paths ─────────────────────────────────────────────────────────────────────────────

function machinePaths(machine: AnyMachine, events: ReadonlyMap<string, string>): OpenApiDocument["paths"] {
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
  const json = (schemaValue: JsonSchema) => ({ media: JSON_MEDIA, schema: schemaValue });
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

  return {
    [`/v1/${m}/{id}/events`]: {
      post: {
        operationId: `${m}.sendEvent`,
        tags: [m],
        summary: `Send an event to a ${m} entity`,
        ...access(
          Scope.Write,
          `Events callers may send: ${types.map((type) => `\`${type}\``).join(", ") || "none"}. ` +
            `Only ${machine.creates.map((type) => `\`${type}\``).join(", ")} may create an entity; any other ` +
            `event to an unknown id is 404. Internal events (sent only by drover: ${internal}) are 400.`,
        ),
        parameters: [idParameter, parameter("IdempotencyKey"), parameter("IfMatch")],
        requestBody: {
          required: true,
          description: "The event: a flat JSON object with a `type` and its fields (at most 64 KiB).",
          content: { [JSON_MEDIA]: { schema: body } },
        },
        responses: guarded({
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
      },
    },
    [`/v1/${m}/{id}`]: {
      get: {
        operationId: `${m}.get`,
        tags: [m],
        summary: `Read a ${m} entity`,
        ...access(Scope.Read, "The entity's current state and version; `ETag` is its version."),
        parameters: [idParameter],
        responses: guarded({
          "200": response("The entity.", json(schema(MachinePart.Entity)), { ETag: header("ETag") }),
          "400": invalid("id"),
          "404": problem(`No such ${m} entity.`, ref("NotFoundProblem")),
        }),
      },
    },
    [`/v1/${m}/{id}/history`]: {
      get: {
        operationId: `${m}.history`,
        tags: [m],
        summary: `The journal of a ${m} entity`,
        ...access(Scope.Read, "Every accepted event of the entity with the state it led to, oldest first."),
        parameters: [idParameter],
        responses: guarded({
          "200": response("The journal.", json(schema(MachinePart.History))),
          "400": invalid("id"),
          "404": problem(`No such ${m} entity.`, ref("NotFoundProblem")),
        }),
      },
    },
    [`/v1/${m}/{id}/outbox`]: {
      get: {
        operationId: `${m}.outbox`,
        tags: [m, "outbox"],
        summary: `The outbox rows of a ${m} entity`,
        ...access(Scope.Admin, "The outbox rows of the intents in the entity's journal, in commit order."),
        parameters: [idParameter],
        responses: guarded({
          "200": response("Its outbox rows.", json(ref("OutboxPage"))),
          "400": invalid("id"),
          "404": problem(`No such ${m} entity.`, ref("NotFoundProblem")),
        }),
      },
    },
    [`/v1/${m}`]: {
      get: {
        operationId: `${m}.list`,
        tags: [m],
        summary: `List ${m} entities`,
        ...access(Scope.Read, "A page of entities in id order."),
        parameters: [parameter("Limit"), parameter("Cursor"), parameter("Prefix"), parameter("Status")],
        responses: guarded({
          "200": response("A page of entities.", json(schema(MachinePart.EntityPage))),
          "400": invalid("limit, cursor, prefix or status"),
        }),
      },
    },
  };
}

function operationsPaths(): OpenApiDocument["paths"] {
  const json = (name: string) => ({ media: JSON_MEDIA, schema: ref(name) });
  return {
    "/v1/outbox": {
      get: {
        operationId: "outbox.list",
        tags: ["outbox"],
        summary: "List outbox rows",
        ...access(Scope.Admin, "Intents waiting to be executed (`pending`) or given up on (`dead`)."),
        parameters: [parameter("OutboxStatus"), parameter("OutboxLimit")],
        responses: guarded({
          "200": response("Outbox rows, in commit order.", json("OutboxPage")),
          "400": problem("Invalid `status` or `limit`.", ref("InvalidProblem")),
        }),
      },
    },
    "/v1/outbox/{intentId}/retry": {
      post: {
        operationId: "outbox.retry",
        tags: ["outbox"],
        summary: "Retry a dead intent",
        ...access(Scope.Admin, "Make a dead intent pending again, with a fresh count of attempts."),
        parameters: [parameter("IntentId")],
        responses: guarded({
          "200": response("The row, pending again.", json("OutboxRecord")),
          "404": problem("No such intent.", ref("Problem")),
          "409": problem("The intent is not dead (it is pending or done).", ref("Problem")),
        }),
      },
    },
    "/v1/token": {
      get: {
        operationId: "token.info",
        tags: ["operations"],
        summary: "The caller's token",
        ...access(Scope.Read, "The name and scopes of the token this request carries."),
        responses: guarded({ "200": response("The token.", json("TokenInfo")) }),
      },
    },
    "/v1/machines": {
      get: {
        operationId: "machines.list",
        tags: ["operations"],
        summary: "Machines and their entities by state",
        ...access(Scope.Read, "Every machine of this server, with its entities counted by the state's `status`."),
        responses: guarded({ "200": response("The machines.", json("MachineSummaries")) }),
      },
    },
    "/v1/machines/{machine}/diagram": {
      get: {
        operationId: "machines.diagram",
        tags: ["operations"],
        summary: "A machine's state diagram",
        ...access(
          Scope.Read,
          "The machine's states and transitions, found by running it on events generated from its schemas " +
            "(`exploreMachine`), with the same graph as a Mermaid `stateDiagram-v2`. State names follow drover's " +
            "convention: the state's `status` field.",
        ),
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
          "200": response("The diagram.", json("Diagram")),
          "404": problem("No such machine.", ref("Problem")),
        }),
      },
    },
    "/v1/stats": {
      get: {
        operationId: "stats",
        tags: ["operations"],
        summary: "Counters for the dashboard",
        ...access(Scope.Read, "Results by machine and kind, dispatcher attempts and the outbox, as JSON."),
        responses: guarded({ "200": response("The counters.", json("Stats")) }),
      },
    },
    "/v1/stream": {
      get: {
        operationId: "stream",
        tags: ["operations"],
        summary: "Live events (Server-Sent Events)",
        ...access(
          Scope.Read,
          "A never-ending `text/event-stream`: `event: step` for every event this server runs (machine, id, " +
            "result kind, type, version, status, intents), `event: attempt` for every dispatcher attempt " +
            "(intent id, outcome), and `event: stats` (as `GET /v1/stats`) every 2 seconds. Send the token in " +
            "the `Authorization` header (read it with `fetch`: `EventSource` cannot send headers).",
        ),
        responses: guarded({
          "200": response("The stream.", { media: "text/event-stream", schema: { type: "string" } }),
        }),
      },
    },
    "/healthz": {
      get: {
        operationId: "healthz",
        tags: ["operations"],
        summary: "Health",
        ...access(null, "200 while the server and its store answer."),
        responses: {
          "200": response("Healthy.", json("Health")),
          "503": sharedResponse("Unavailable"),
        },
      },
    },
    "/metrics": {
      get: {
        operationId: "metrics",
        tags: ["operations"],
        summary: "Prometheus metrics",
        ...access(Scope.Read, "Metrics in the Prometheus text exposition format."),
        responses: {
          "200": response("The metrics.", { media: "text/plain", schema: { type: "string" } }),
          "401": sharedResponse("Unauthorized"),
          "403": sharedResponse("Forbidden"),
        },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "openapi",
        tags: ["operations"],
        summary: "This document",
        ...access(null, "The OpenAPI 3.1 description of this API."),
        responses: { "200": response("This document.", { media: JSON_MEDIA, schema: { type: "object" } }) },
      },
    },
  };
}
