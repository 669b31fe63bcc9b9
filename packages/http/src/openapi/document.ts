import type { AnyMachine } from "@drover/core";
import type { Scope } from "../wire.js";

// ─── The document's types ──────────────────────────────────────────────────────────────

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) as a plain JSON value. */
export type JsonSchema = boolean | { [keyword: string]: unknown };

/** Any OpenAPI object this module does not model in detail (responses, parameters…). */
export type OpenApiObject = { [key: string]: unknown };

/** One operation of the document. */
export type OpenApiOperation = {
  operationId: string;
  tags: string[];
  summary: string;
  description: string;
  /** `[]` on the routes open to anyone; absent means the document's global bearer rule. */
  security?: Record<string, string[]>[];
  /** The scope the operation needs; absent on open routes. */
  "x-drover-scope"?: Scope;
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
  paths: Record<
    string,
    { get?: OpenApiOperation; post?: OpenApiOperation; put?: OpenApiOperation; delete?: OpenApiOperation }
  >;
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

/** A JSON Schema object, as the builders below handle it. */
export type JsonObject = { [keyword: string]: unknown };

export const SCHEMAS = "#/components/schemas/";
export const PROBLEM_JSON = "application/problem+json";
export const JSON_MEDIA = "application/json";

/** A reference to the schema component `name`. */
export function ref(name: string): JsonObject {
  return { $ref: SCHEMAS + name };
}
