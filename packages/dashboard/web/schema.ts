// Event forms from the server's OpenAPI document (GET /openapi.json, generated from the same
// zod schemas the server validates with): one form per event type a caller may send, one
// field per member of its JSON Schema.
import { api } from "./api.js";

type Schema = { readonly [keyword: string]: unknown };

/** How a field is edited. */
export type FieldKind = "text" | "integer" | "number" | "boolean" | "select" | "json";

export interface Field {
  readonly name: string;
  readonly kind: FieldKind;
  readonly required: boolean;
  readonly options?: readonly string[];
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly description?: string;
}

export interface EventForm {
  readonly type: string;
  readonly fields: readonly Field[];
}

export interface MachineSchemas {
  readonly events: readonly EventForm[];
  /** The id's pattern, if its schema has one. */
  readonly idPattern?: string;
}

let document: Promise<Schema> | undefined;

/** The OpenAPI document, fetched once per page. */
export function openApi(): Promise<Schema> {
  document ??= api<Schema>("/openapi.json").catch((error: unknown) => {
    document = undefined;
    throw error;
  });
  return document;
}

/** The event forms and id pattern of `machine`, from the OpenAPI document. */
export async function machineSchemas(machine: string): Promise<MachineSchemas> {
  const doc = await openApi();
  const components = (object(object(doc.components)?.schemas) ?? {}) as Record<string, Schema>;
  const resolve = (schema: unknown, depth = 0): Schema => {
    const node = object(schema) ?? {};
    const target = node.$ref;
    if (typeof target === "string" && target.startsWith("#/components/schemas/") && depth < 16) {
      const { $ref: _ref, ...rest } = node;
      return { ...resolve(components[target.slice("#/components/schemas/".length)], depth + 1), ...rest };
    }
    return node;
  };
  const paths = object(doc.paths) ?? {};
  const post = object(object(paths[`/v1/${machine}/{id}/events`])?.post);
  const body = object(object(object(object(post?.requestBody)?.content)?.["application/json"])?.schema);
  const members = [...array(body?.oneOf), ...array(body?.anyOf)];
  const events: EventForm[] = [];
  for (const member of members.length > 0 ? members : body === undefined ? [] : [body]) {
    const schema = resolve(member);
    const variants = array(schema.anyOf).length > 0 ? array(schema.anyOf).map((v) => resolve(v)) : [schema];
    for (const variant of variants) {
      const form = eventForm(variant, resolve);
      if (form !== undefined && !events.some((known) => known.type === form.type)) events.push(form);
    }
  }
  const id = resolve(components[`${machine}.Id`]);
  return { events, ...(typeof id.pattern === "string" ? { idPattern: id.pattern } : {}) };
}

function eventForm(schema: Schema, resolve: (schema: unknown) => Schema): EventForm | undefined {
  const properties = object(schema.properties);
  if (properties === undefined) return undefined;
  const type = resolve(properties.type);
  const name = typeof type.const === "string" ? type.const : undefined;
  if (name === undefined) return undefined;
  const required = new Set(array(schema.required).filter((item): item is string => typeof item === "string"));
  const fields = Object.entries(properties)
    .filter(([key]) => key !== "type")
    .map(([key, value]) => field(key, resolve(value), required.has(key)));
  return { type: name, fields };
}

function field(name: string, schema: Schema, required: boolean): Field {
  const base = {
    name,
    required,
    ...(typeof schema.description === "string" ? { description: schema.description } : {}),
  };
  const enumValues = array(schema.enum);
  if (enumValues.length > 0 && enumValues.every((value) => typeof value === "string")) {
    return { ...base, kind: "select", options: enumValues as string[] };
  }
  const numbers = {
    ...(typeof schema.minimum === "number" ? { minimum: schema.minimum } : {}),
    ...(typeof schema.maximum === "number" && schema.maximum < Number.MAX_SAFE_INTEGER
      ? { maximum: schema.maximum }
      : {}),
  };
  switch (schema.type) {
    case "string":
      return {
        ...base,
        kind: "text",
        ...(typeof schema.pattern === "string" ? { pattern: schema.pattern } : {}),
        ...(typeof schema.minLength === "number" ? { minLength: schema.minLength } : {}),
        ...(typeof schema.maxLength === "number" ? { maxLength: schema.maxLength } : {}),
      };
    case "integer":
      return { ...base, kind: "integer", ...numbers };
    case "number":
      return { ...base, kind: "number", ...numbers };
    case "boolean":
      return { ...base, kind: "boolean" };
    default:
      return { ...base, kind: "json" };
  }
}

/**
 * The event to send from the form's raw values: numbers parsed, empty optional fields left
 * out. Values that do not parse are sent as typed, so the server's issues name them.
 */
export function eventFromForm(form: EventForm, values: Readonly<Record<string, string | boolean>>): unknown {
  const event: Record<string, unknown> = { type: form.type };
  for (const f of form.fields) {
    const raw = values[f.name];
    if (f.kind === "boolean") {
      if (raw === true || f.required) event[f.name] = raw === true;
      continue;
    }
    const text = typeof raw === "string" ? raw : "";
    if (text.trim() === "" && !f.required) continue;
    switch (f.kind) {
      case "integer":
      case "number": {
        const value = Number(text);
        event[f.name] = text.trim() !== "" && Number.isFinite(value) ? value : text;
        break;
      }
      case "json":
        try {
          event[f.name] = JSON.parse(text);
        } catch {
          event[f.name] = text;
        }
        break;
      default:
        event[f.name] = text;
    }
  }
  return event;
}

function object(value: unknown): Schema | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Schema) : undefined;
}

function array(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
