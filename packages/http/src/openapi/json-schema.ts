import { isDeepStrictEqual } from "node:util";
import type { AnyMachine } from "@drover/core";
import { z } from "zod";
import { type JsonObject, type JsonSchema, SCHEMAS } from "./document.js";

/** A reference to a component in a schema's JSON text (component names need no escaping). */
const REFERENCE = /"\$ref":"#\/components\/schemas\/([A-Za-z0-9._-]+)"/g;

// ─── Component table ───────────────────────────────────────────────────────────────────

/** `components.schemas` under construction: names are unique, equal schemas may share one. */
export class SchemaTable {
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
export function componentName(text: string): string {
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

export function toJsonSchema(machine: AnyMachine, what: string, schema: z.ZodType, io: "input" | "output"): JsonObject {
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
export function importSchema(
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
export function eventBranches(table: SchemaTable, machine: AnyMachine, schema: JsonObject): EventBranch[] {
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
