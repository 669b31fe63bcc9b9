import { RESERVED_SEGMENTS } from "../wire.js";
import { sharedHeaders, sharedParameters, sharedResponses } from "./components.js";
import type { BuildOpenApiOptions, OpenApiDocument } from "./document.js";
import { SchemaTable } from "./json-schema.js";
import { addMachineSchemas } from "./machine-schemas.js";
import { operatorPaths } from "./operator-paths.js";
import { addOperatorSchemas, operatorParameters } from "./operator-schemas.js";
import { machinePaths, operationsPaths } from "./paths.js";
import { addSharedSchemas } from "./schemas.js";

/** First path segments under `/v1` that are not machines. */

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
 * const doc = buildOpenApi({ machines: [doors], serverUrl: "http://127.0.0.1:3000" });
 * doc.paths["/v1/doors/{id}/events"]?.post?.requestBody; // oneOf Install, Open (BellRang is internal)
 */
export function buildOpenApi(options: BuildOpenApiOptions): OpenApiDocument {
  const schemas = new SchemaTable();
  addSharedSchemas(schemas);
  addOperatorSchemas(schemas);

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
  Object.assign(paths, operationsPaths(), operatorPaths());
  tags.push(
    { name: "outbox", description: "Intents waiting to be executed, and dead letters (admin)." },
    { name: "timers", description: "Durable timers: pending, fired, cancelled and dead ones (admin)." },
    { name: "intent types", description: "Pausing and resuming the execution of an intent type (admin)." },
    { name: "operations", description: "Liveness, readiness, metrics and this document." },
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
      parameters: { ...sharedParameters(), ...operatorParameters() },
      responses: sharedResponses(),
    },
  };
  if (options.serverUrl !== undefined) document.servers = [{ url: options.serverUrl }];
  return document;
}
