import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AnyMachine, Processed } from "@drover/core";
import { accept, defineMachine, MemoryStore, RunResultKind, Runtime, reject, scheduleSchema } from "@drover/core";
import { TallyId, tallyMachine } from "@drover/core/testing";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import { z } from "zod";
import { entityBody, journalEntryBody, outboxRecordBody } from "./bodies.js";
import type { JsonSchema, OpenApiDocument, OpenApiOperation } from "./openapi/index.js";
import { buildOpenApi } from "./openapi/index.js";

// ─── A richer fixture than the tally: branded ids, nested objects, optional fields,
// defaults, a multi-valued literal, zod $defs (a `.meta({ id })` schema and recursion),
// and internal events.

const OrderId = z
  .string()
  .regex(/^ord_[a-z0-9]{4,20}$/)
  .brand<"OrderId">();
const Sku = z
  .string()
  .regex(/^[A-Z0-9-]{3,16}$/)
  .brand<"Sku">();
const Quantity = z.number().int().min(1).max(99).brand<"Quantity">();
const Money = z
  .strictObject({ amount: z.number().int().min(0), currency: z.enum(["EUR", "USD"]) })
  .meta({ id: "Money", description: "Integer minor units and a currency." });
const Line = z.strictObject({ sku: Sku, quantity: Quantity, note: z.string().max(200).optional() });
/** Recursive: zod gives it a `$defs` entry of its own. */
const Part = z.strictObject({
  sku: Sku,
  get parts() {
    return z.array(Part).max(5).optional();
  },
});
/** Not strict: zod's input side allows unknown keys, its output side does not. */
const Address = z
  .object({ street: z.string().min(1), city: z.string().min(1), zip: z.string().optional() })
  .meta({ id: "Address" });

const PlaceOrder = z.strictObject({
  type: z.literal("PlaceOrder"),
  customer: z.strictObject({ id: z.string().regex(/^cus_[0-9]+$/), email: z.email() }),
  lines: z.array(Line).min(1).max(50),
  shipTo: Address,
  total: Money,
  giftWrap: z.boolean().default(false),
});
const AddLine = z.strictObject({ type: z.literal("AddLine"), line: Line, parts: z.array(Part).optional() });
const Ship = z.strictObject({
  type: z.literal("Ship"),
  carrier: z.enum(["dhl", "ups"]),
  trackingCode: z.string().min(1).optional(),
});
const Tagging = z.strictObject({ type: z.literal(["Tag", "Untag"]), tag: z.string().min(1).max(20) });
const Cancel = z
  .strictObject({ type: z.literal("Cancel"), reason: z.string().max(200).optional() })
  .meta({ id: "OrdersCancel", description: "Call the order off." });
const PaymentSettled = z.strictObject({ type: z.literal("PaymentSettled"), paid: Money });
const AutoCancel = z.strictObject({ type: z.literal("AutoCancel") });

const OrderRejection = { AlreadyPlaced: "already_placed", Shipped: "shipped", Cancelled: "cancelled" } as const;

const orders = defineMachine({
  name: "orders",
  id: OrderId,
  state: z.strictObject({
    status: z.enum(["placed", "paid", "shipped", "cancelled"]),
    lines: z.array(Line),
    total: Money,
    tags: z.array(z.string()).readonly(),
    carrier: z.string().optional(),
    shipTo: Address.optional(),
  }),
  events: z.discriminatedUnion("type", [PlaceOrder, AddLine, Ship, Tagging, Cancel, PaymentSettled, AutoCancel]),
  intents: z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("ReserveStock"), sku: Sku, quantity: Quantity }),
    scheduleSchema(AutoCancel),
  ]),
  rejections: z.enum(OrderRejection),
  creates: ["PlaceOrder"],
  internal: ["PaymentSettled", "AutoCancel"],
  create: (event) =>
    accept({ status: "placed" as const, lines: event.lines, total: event.total, tags: [], shipTo: event.shipTo }),
  handle: (state, event) => {
    if (event.type === "PlaceOrder") return reject(OrderRejection.AlreadyPlaced);
    if (state.status === "cancelled") return reject(OrderRejection.Cancelled);
    if (state.status === "shipped") return reject(OrderRejection.Shipped);
    switch (event.type) {
      case "AddLine":
        return accept(
          { ...state, lines: [...state.lines, event.line] },
          { type: "ReserveStock" as const, sku: event.line.sku, quantity: event.line.quantity },
        );
      case "Ship":
        return accept({ ...state, status: "shipped" as const, carrier: event.carrier });
      case "Tag":
        return accept({ ...state, tags: [...state.tags, event.tag] });
      case "Untag":
        return accept({ ...state, tags: state.tags.filter((tag) => tag !== event.tag) });
      case "PaymentSettled":
        return accept({ ...state, status: "paid" as const });
      case "Cancel":
      case "AutoCancel":
        return accept({ ...state, status: "cancelled" as const });
      default: {
        const exhaustive: never = event;
        return exhaustive;
      }
    }
  },
});

const machines: readonly AnyMachine[] = [tallyMachine, orders];
const ORDERS_EXTERNAL = ["PlaceOrder", "AddLine", "Ship", "Tag", "Untag", "Cancel"];
const ORDERS_INTERNAL = ["PaymentSettled", "AutoCancel"];

// ─── Helpers ───────────────────────────────────────────────────────────────────────────

type Method = "get" | "post" | "put" | "delete";

function operation(doc: OpenApiDocument, path: string, method: Method): OpenApiOperation {
  const found = doc.paths[path]?.[method];
  assert.ok(found, `${method.toUpperCase()} ${path} is in the document`);
  return found;
}

function requestBodySchema(doc: OpenApiDocument, machine: string): JsonSchema {
  const body = operation(doc, `/v1/${machine}/{id}/events`, "post").requestBody;
  const schema = body?.content["application/json"]?.schema;
  assert.ok(schema !== undefined, `POST /v1/${machine}/{id}/events has a JSON body`);
  return schema;
}

function asObject(value: unknown): Record<string, unknown> {
  assert.ok(typeof value === "object" && value !== null && !Array.isArray(value), "an object");
  return value as Record<string, unknown>;
}

const DOC_ID = "urn:drover:openapi";

/** JSON Schema validators for parts of the document: components become `$defs` of one schema. */
function schemaValidator(doc: OpenApiDocument) {
  const retarget = (schema: unknown) =>
    JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${DOC_ID}#/$defs/`)) as Record<
      string,
      unknown
    >;
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  formats.default(ajv);
  // An OpenAPI keyword: an annotation for JSON Schema validators.
  ajv.addKeyword("discriminator");
  ajv.addSchema({ $id: DOC_ID, $defs: retarget(doc.components.schemas) });
  return {
    component: (name: string) => {
      assert.ok(doc.components.schemas[name] !== undefined, `component ${name} exists`);
      return ajv.compile({ $ref: `${DOC_ID}#/$defs/${name}` });
    },
    schema: (schema: JsonSchema) => ajv.compile(typeof schema === "boolean" ? schema : retarget(schema)),
  };
}

function assertValid(validate: ReturnType<ReturnType<typeof schemaValidator>["component"]>, value: unknown): void {
  assert.ok(validate(value), `valid: ${JSON.stringify(value)}\n${JSON.stringify(validate.errors, null, 2)}`);
}

const doc = buildOpenApi({ machines });

// ─── Tests ─────────────────────────────────────────────────────────────────────────────

describe("buildOpenApi", () => {
  it("makes a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, `invalid OpenAPI:\n${JSON.stringify(result.errors, null, 2)}`);
    assert.equal(doc.openapi, "3.1.0");
  });

  it("describes every route of the contract for each machine, and the shared ones", () => {
    const expected: [string, Method][] = [
      ...machines.flatMap((machine): [string, Method][] => [
        [`/v1/${machine.name}/{id}/events`, "post"],
        [`/v1/${machine.name}/{id}`, "get"],
        [`/v1/${machine.name}/{id}/history`, "get"],
        [`/v1/${machine.name}/{id}/outbox`, "get"],
        [`/v1/${machine.name}`, "get"],
      ]),
      ["/v1/outbox", "get"],
      ["/v1/outbox/{intentId}/retry", "post"],
      ["/v1/token", "get"],
      ["/v1/machines", "get"],
      ["/v1/machines/{machine}/diagram", "get"],
      ["/v1/stats", "get"],
      ["/v1/stream", "get"],
      ["/v1/timers", "get"],
      ["/v1/timers/{timerId}", "get"],
      ["/v1/timers/{timerId}/retry", "post"],
      ["/v1/intent-types", "get"],
      ["/v1/intent-types/paused", "get"],
      ["/v1/intent-types/{type}/pause", "put"],
      ["/v1/intent-types/{type}/pause", "delete"],
      ["/v1/schedules", "get"],
      ["/healthz", "get"],
      ["/readyz", "get"],
      ["/metrics", "get"],
      ["/openapi.json", "get"],
    ];
    const actual = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method): [string, string] => [path, method]),
    );
    assert.deepEqual(new Set(actual), new Set(expected));
  });

  it("offers every external event type in the request body and no internal one", () => {
    const body = asObject(requestBodySchema(doc, "orders"));
    const refs = (body.oneOf as { $ref: string }[]).map((member) => member.$ref);
    assert.deepEqual(
      refs,
      ORDERS_EXTERNAL.map((type) => `#/components/schemas/orders.${type}`),
    );
    assert.deepEqual(asObject(body.discriminator).propertyName, "type");
    assert.deepEqual(Object.keys(asObject(asObject(body.discriminator).mapping)), ORDERS_EXTERNAL);
    for (const type of ORDERS_EXTERNAL) {
      const schema = asObject(doc.components.schemas[`orders.${type}`]);
      assert.deepEqual(asObject(schema.properties).type, { type: "string", const: type });
    }
    for (const type of ORDERS_INTERNAL) {
      assert.equal(doc.components.schemas[`orders.${type}`], undefined, `no component for internal ${type}`);
      assert.ok(!JSON.stringify(body).includes(type), `${type} is not in the request body`);
    }
    // The journal records internal events too, so its event schema has them.
    assert.ok(JSON.stringify(doc.components.schemas["orders.Event"]).includes('"PaymentSettled"'));
    const tallyBody = asObject(requestBodySchema(doc, "tally"));
    assert.deepEqual(
      (tallyBody.oneOf as { $ref: string }[]).map((member) => member.$ref),
      ["Open", "Add", "Close"].map((type) => `#/components/schemas/tally.${type}`),
    );
  });

  it("accepts in the request body exactly what the machine takes from callers", () => {
    const validate = schemaValidator(doc).schema(requestBodySchema(doc, "orders"));
    const line = { sku: "AB-12", quantity: 2 };
    const samples: [string, unknown][] = [
      [
        "a full PlaceOrder",
        {
          type: "PlaceOrder",
          customer: { id: "cus_42", email: "ann@example.com" },
          lines: [{ ...line, note: "blue" }],
          shipTo: { street: "1 Main St", city: "Springfield", zip: "12345" },
          total: { amount: 1250, currency: "EUR" },
          giftWrap: true,
        },
      ],
      [
        "PlaceOrder without its optional and defaulted fields, an unknown key in a loose object",
        {
          type: "PlaceOrder",
          customer: { id: "cus_1", email: "b@example.org" },
          lines: [line],
          shipTo: { street: "x", city: "y", floor: 3 },
          total: { amount: 0, currency: "USD" },
        },
      ],
      [
        "PlaceOrder with no lines",
        {
          type: "PlaceOrder",
          customer: { id: "cus_1", email: "b@example.org" },
          lines: [],
          shipTo: { street: "x", city: "y" },
          total: { amount: 0, currency: "USD" },
        },
      ],
      [
        "PlaceOrder with a bad email",
        {
          type: "PlaceOrder",
          customer: { id: "cus_1", email: "nope" },
          lines: [line],
          shipTo: { street: "x", city: "y" },
          total: { amount: 0, currency: "USD" },
        },
      ],
      ["AddLine with nested parts", { type: "AddLine", line, parts: [{ sku: "P-001", parts: [{ sku: "P-002" }] }] }],
      ["AddLine with a bad nested sku", { type: "AddLine", line, parts: [{ sku: "P-001", parts: [{ sku: "x" }] }] }],
      ["AddLine with a fractional quantity", { type: "AddLine", line: { sku: "AB-12", quantity: 1.5 } }],
      ["AddLine with an unknown key", { type: "AddLine", line, colour: "red" }],
      ["Ship", { type: "Ship", carrier: "dhl" }],
      ["Ship with a tracking code", { type: "Ship", carrier: "ups", trackingCode: "1Z" }],
      ["Ship with an unknown carrier", { type: "Ship", carrier: "owl" }],
      ["Tag", { type: "Tag", tag: "vip" }],
      ["Untag", { type: "Untag", tag: "vip" }],
      ["Tag with an empty tag", { type: "Tag", tag: "" }],
      ["Cancel", { type: "Cancel" }],
      ["Cancel with a reason", { type: "Cancel", reason: "changed my mind" }],
      ["an internal event", { type: "PaymentSettled", paid: { amount: 1, currency: "EUR" } }],
      ["another internal event", { type: "AutoCancel" }],
      ["an unknown type", { type: "Refund" }],
      ["no type", { carrier: "dhl" }],
      ["not an object", ["Cancel"]],
    ];
    for (const [label, sample] of samples) {
      const parsed = orders.schemas.event.safeParse(sample);
      const takes = parsed.success && !orders.internal.includes(parsed.data.type);
      assert.equal(validate(sample), takes, `${label}: the document says ${!takes}, the machine ${takes}`);
    }
    assert.equal(samples.filter(([, sample]) => validate(sample)).length, 9);
  });

  it("describes the id path parameter with the machine's id schema", () => {
    for (const path of ["/v1/orders/{id}/events", "/v1/orders/{id}", "/v1/orders/{id}/history"]) {
      const method: Method = path.endsWith("events") ? "post" : "get";
      const id = operation(doc, path, method).parameters?.find((parameter) => parameter.name === "id");
      assert.deepEqual(id, {
        name: "id",
        in: "path",
        required: true,
        description: "The entity's id, as `orders`'s id schema describes it.",
        schema: { $ref: "#/components/schemas/orders.Id" },
      });
    }
    assert.deepEqual(doc.components.schemas["orders.Id"], { type: "string", pattern: "^ord_[a-z0-9]{4,20}$" });
    assert.deepEqual(doc.components.schemas["tally.Id"], { type: "string", pattern: "^t_[a-z0-9]{1,24}$" });
  });

  it("answers events with 200 Processed and problem details for every failure", () => {
    const post = operation(doc, "/v1/orders/{id}/events", "post");
    assert.deepEqual(Object.keys(post.responses).sort(), [
      "200",
      "400",
      "401",
      "403",
      "404",
      "409",
      "412",
      "413",
      "422",
      "503",
    ]);
    const ok = asObject(post.responses["200"]);
    assert.deepEqual(asObject(ok.content)["application/json"], {
      schema: { $ref: "#/components/schemas/orders.Processed" },
    });
    assert.ok(asObject(ok.headers)["Idempotent-Replayed"]);
    for (const status of ["400", "404", "409", "412", "422", "503"]) {
      assert.ok(asObject(asObject(post.responses[status]).content)["application/problem+json"], status);
    }
    // An outage, or a stored state this code cannot read (written by newer code, a failed migration).
    assert.deepEqual(asObject(asObject(post.responses["503"]).content)["application/problem+json"], {
      schema: {
        oneOf: [
          { $ref: "#/components/schemas/UnavailableProblem" },
          { $ref: "#/components/schemas/UnreadableProblem" },
        ],
      },
    });
    assert.deepEqual(
      operation(doc, "/v1/orders/{id}", "get").responses["503"],
      { $ref: "#/components/responses/Unavailable" },
      "only an event reads the state through the migrations",
    );
    for (const [status, name] of [
      ["401", "Unauthorized"],
      ["403", "Forbidden"],
      ["413", "PayloadTooLarge"],
    ] as const) {
      assert.deepEqual(post.responses[status], { $ref: `#/components/responses/${name}` });
      const shared = asObject(doc.components.responses[name]);
      assert.ok(asObject(shared.content)["application/problem+json"], name);
    }
  });

  it("gives 422 the machine's rejection reasons, or idempotency_key_reused", () => {
    const { component } = schemaValidator(doc);
    const rejected = component("orders.Rejected");
    const problem = { type: "about:blank", title: "Unprocessable Content", status: 422, detail: "no" };
    assertValid(rejected, { ...problem, kind: "rejected", reason: "shipped" });
    assert.equal(rejected({ ...problem, kind: "rejected", reason: "limit_exceeded" }), false);
    assert.equal(rejected({ ...problem, kind: "rejected" }), false);
    assertValid(component("tally.Rejected"), { ...problem, kind: "rejected", reason: "limit_exceeded" });
    assert.deepEqual(doc.components.schemas["orders.RejectionReason"], {
      type: "string",
      enum: ["already_placed", "shipped", "cancelled"],
    });

    const unprocessable = asObject(operation(doc, "/v1/orders/{id}/events", "post").responses["422"]);
    const schema = asObject(asObject(unprocessable.content)["application/problem+json"]).schema as JsonSchema;
    const validate = schemaValidator(doc).schema(schema);
    assertValid(validate, { ...problem, kind: "rejected", reason: "already_placed" });
    assertValid(validate, { ...problem, kind: "invalid", reason: "idempotency_key_reused" });
    assert.equal(validate({ ...problem, kind: "invalid", reason: "invalid_event" }), false);
  });

  it("declares the Idempotency-Key, If-Match and ETag headers", () => {
    const post = operation(doc, "/v1/tally/{id}/events", "post");
    assert.deepEqual(
      post.parameters?.map((parameter) => parameter.$ref ?? parameter.name),
      ["id", "#/components/parameters/IdempotencyKey", "#/components/parameters/IfMatch"],
    );
    const key = asObject(doc.components.parameters.IdempotencyKey);
    assert.equal(key.name, "Idempotency-Key");
    assert.equal(key.required, false);
    const keyPattern = new RegExp(asObject(key.schema).pattern as string, "u");
    assert.ok(keyPattern.test("order-42/attempt:1"));
    assert.ok(!keyPattern.test("has space") && !keyPattern.test("") && !keyPattern.test("x".repeat(256)));
    const ifMatch = asObject(doc.components.parameters.IfMatch);
    const tagPattern = new RegExp(asObject(ifMatch.schema).pattern as string, "u");
    for (const tag of ['"0"', '"17"', "*", '"1", "2"', 'W/"1"', ' "1" ,W/"2" ']) assert.ok(tagPattern.test(tag), tag);
    for (const tag of ["17", '"01"', '*, "1"', '"1" "2"', '"1",']) assert.ok(!tagPattern.test(tag), tag);

    const read = asObject(operation(doc, "/v1/tally/{id}", "get").responses["200"]);
    assert.deepEqual(asObject(read.headers).ETag, { $ref: "#/components/headers/ETag" });
    // Every answer carries X-Request-Id.
    const responses = [
      ...Object.values(doc.paths).flatMap((item) => Object.values(item).flatMap((op) => Object.values(op.responses))),
      ...Object.values(doc.components.responses),
    ].filter((answer) => answer.$ref === undefined);
    assert.ok(responses.length > 30);
    for (const answer of responses) {
      assert.deepEqual(asObject(answer.headers)["X-Request-Id"], { $ref: "#/components/headers/RequestId" });
    }
  });

  it("pages lists with limit 1–100 (default 20) and an opaque cursor, filtered by id prefix and status", () => {
    const list = operation(doc, "/v1/tally", "get");
    assert.deepEqual(list.parameters, [
      { $ref: "#/components/parameters/Limit" },
      { $ref: "#/components/parameters/Cursor" },
      { $ref: "#/components/parameters/Prefix" },
      { $ref: "#/components/parameters/Status" },
    ]);
    assert.deepEqual(asObject(doc.components.parameters.Limit).schema, {
      type: "integer",
      minimum: 1,
      maximum: 100,
      default: 20,
    });
    const outbox = operation(doc, "/v1/outbox", "get");
    assert.deepEqual(outbox.parameters, [
      { $ref: "#/components/parameters/OutboxStatus" },
      { $ref: "#/components/parameters/OutboxLimit" },
    ]);
    assert.deepEqual(asObject(asObject(doc.components.parameters.OutboxStatus).schema).enum, ["pending", "dead"]);
    const metrics = asObject(operation(doc, "/metrics", "get").responses["200"]);
    assert.deepEqual(asObject(metrics.content)["text/plain"], { schema: { type: "string" } });
  });

  it("needs a bearer token with a named scope everywhere but /healthz and /openapi.json", () => {
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    assert.deepEqual(doc.components.securitySchemes.bearer, {
      type: "http",
      scheme: "bearer",
      description: asObject(doc.components.securitySchemes.bearer).description,
    });
    const scopes: Record<string, string | null> = {
      "POST /v1/orders/{id}/events": "write",
      "GET /v1/orders/{id}": "read",
      "GET /v1/orders/{id}/history": "read",
      "GET /v1/orders": "read",
      "GET /v1/outbox": "admin",
      "POST /v1/outbox/{intentId}/retry": "admin",
      "GET /v1/timers": "admin",
      "POST /v1/timers/{timerId}/retry": "admin",
      "PUT /v1/intent-types/{type}/pause": "admin",
      "DELETE /v1/intent-types/{type}/pause": "admin",
      "GET /v1/schedules": "read",
      "GET /metrics": "read",
      "GET /healthz": null,
      "GET /openapi.json": null,
    };
    for (const [route, scope] of Object.entries(scopes)) {
      const [method, path] = route.split(" ") as [string, string];
      const op = operation(doc, path, method.toLowerCase() as Method);
      if (scope === null) {
        assert.deepEqual(op.security, [], `${route} is open`);
        assert.equal(op["x-drover-scope"], undefined, route);
        assert.equal(op.responses["401"], undefined, route);
      } else {
        assert.equal(op.security, undefined, `${route} uses the global bearer rule`);
        assert.equal(op["x-drover-scope"], scope, route);
        assert.ok(op.description.includes(`\`${scope}\` scope`), route);
        assert.ok(op.responses["401"] && op.responses["403"], route);
      }
    }
  });

  it("turns zod $defs (.meta ids, recursion) into shared components with working references", () => {
    const { component } = schemaValidator(doc);
    // Money (strict) is the same on zod's input and output side, so one component serves both;
    // the loose Address is not (its output has no unknown keys), so each side has its own; the
    // input side of the Cancel event is copied into orders.Cancel, so its def is dropped.
    assert.deepEqual(
      Object.keys(doc.components.schemas).filter((name) => name.startsWith("orders.defs.")),
      [
        "orders.defs.Money",
        "orders.defs.Address",
        "orders.defs.__schema0",
        "orders.defs.OrdersCancel",
        "orders.defs.Address.input",
      ],
    );
    const schemaOf = (name: string) => asObject(doc.components.schemas[name]);
    assert.equal(schemaOf("orders.defs.Address").additionalProperties, false);
    assert.equal(schemaOf("orders.defs.Address.input").additionalProperties, undefined);
    assert.deepEqual(asObject(schemaOf("orders.PlaceOrder").properties).shipTo, {
      $ref: "#/components/schemas/orders.defs.Address.input",
    });
    assert.deepEqual(asObject(schemaOf("orders.Cancel").properties).type, { type: "string", const: "Cancel" });
    assert.equal(schemaOf("orders.Cancel").description, "Call the order off.");
    const text = JSON.stringify(doc);
    assert.ok(!text.includes("#/$defs/"), "no reference is left pointing into a $defs");
    assert.ok(!text.includes('"$defs"'));
    assert.ok(!text.includes('"$schema"'));
    assert.ok(!text.includes('"readOnly"'), "zod's .readonly() does not become OpenAPI's readOnly");
    assertValid(component("orders.AddLine"), {
      type: "AddLine",
      line: { sku: "AB-12", quantity: 1 },
      parts: [{ sku: "P-001", parts: [{ sku: "P-002", parts: [] }] }],
    });
    assert.equal(
      component("orders.AddLine")({ type: "AddLine", line: { sku: "AB-12", quantity: 1 }, parts: [{}] }),
      false,
    );
    // zod's input side: a defaulted field is optional and says its default.
    const place = asObject(schemaOf("orders.PlaceOrder").properties);
    assert.deepEqual(asObject(place.giftWrap), { default: false, type: "boolean" });
    assert.deepEqual(asObject(doc.components.schemas["orders.PlaceOrder"]).required, [
      "type",
      "customer",
      "lines",
      "shipTo",
      "total",
    ]);
  });

  it("describes the bodies the server sends", async () => {
    const { component } = schemaValidator(doc);
    const store = new MemoryStore();
    let now = Date.UTC(2026, 0, 1, 12);
    const runtime = new Runtime({ store, machines, clock: { now: () => now++ } });
    const ref = { machine: "tally", id: TallyId.parse("t_doc") };
    const opened = await runtime.run(ref, { type: "Open" }, { eventId: "k1" });
    const added = await runtime.run(ref, { type: "Add", n: 5 }, { eventId: "k2" });
    assert.equal(opened.kind, RunResultKind.Processed);
    assert.equal(added.kind, RunResultKind.Processed);
    assertValid(component("tally.Processed"), added as Processed);
    assertValid(component("Processed"), added as Processed);

    const entity = await store.getEntity(ref);
    assert.ok(entity);
    const body = entityBody(entity);
    assert.equal(body.createdAt, "2026-01-01T12:00:00.000Z");
    assertValid(component("tally.Entity"), body);
    assertValid(component("Entity"), body);
    assertValid(component("tally.EntityPage"), { items: [body], nextCursor: null });
    assertValid(component("tally.EntityPage"), { items: [], nextCursor: "t_doc" });
    assert.equal(component("tally.Entity")({ ...body, createdAt: entity.createdAt }), false, "epoch ms is not a time");

    const history = { entries: (await store.history(ref)).map((entry) => journalEntryBody(entry, tallyMachine)) };
    assert.equal(history.entries.length, 2);
    assertValid(component("tally.History"), history);
    assertValid(component("History"), history);

    const pending = (await store.listOutbox()).map(outboxRecordBody);
    const leased = (await store.claimOutbox({ owner: "test", now, leaseMs: 1000, limit: 10 })).map(outboxRecordBody);
    assert.ok(pending.length > 0 && leased.length > 0);
    assert.equal(leased[0]?.leaseOwner, "test");
    assertValid(component("OutboxPage"), { items: [...pending, ...leased] });

    const orderRef = { machine: "orders", id: OrderId.parse("ord_0001") };
    const placed = await runtime.run(orderRef, {
      type: "PlaceOrder",
      customer: { id: "cus_1", email: "a@example.com" },
      lines: [{ sku: "AB-12", quantity: 1 }],
      shipTo: { street: "x", city: "y" },
      total: { amount: 100, currency: "EUR" },
    });
    assert.equal(placed.kind, RunResultKind.Processed);
    await runtime.run(orderRef, { type: "PaymentSettled", paid: { amount: 100, currency: "EUR" } });
    await runtime.run(orderRef, { type: "AddLine", line: { sku: "CD-34", quantity: 3 } });
    assertValid(component("orders.History"), {
      entries: (await store.history(orderRef)).map((entry) => journalEntryBody(entry, orders)),
    });
    const order = await store.getEntity(orderRef);
    assert.ok(order);
    assertValid(component("orders.Entity"), entityBody(order));
    assert.equal(component("orders.Entity")({ ...entityBody(order), state: { status: "lost" } }), false);

    assertValid(component("NotFoundProblem"), {
      type: "about:blank",
      title: "Not Found",
      status: 404,
      kind: "not_found",
    });
    assertValid(component("InvalidProblem"), {
      type: "about:blank",
      title: "Bad Request",
      status: 400,
      kind: "invalid",
      reason: "invalid_event",
      issues: [{ path: ["lines", 0, "sku"], message: "Invalid string", code: "invalid_format" }],
    });
    assertValid(component("Health"), { status: "ok" });
  });

  it("describes schema versions: entities, journal entries, machines and the state_unreadable problem", async () => {
    const { component } = schemaValidator(doc);
    const store = new MemoryStore();
    const runtime = new Runtime({ store, machines });
    const ref = { machine: "tally", id: TallyId.parse("t_ver") };
    await runtime.run(ref, { type: "Open" });
    const entity = await store.getEntity(ref);
    assert.ok(entity);
    const body = entityBody(entity);
    assert.equal(body.stateVersion, 1);
    assertValid(component("tally.Entity"), body);
    const { stateVersion: _, ...unversioned } = body;
    assert.equal(component("tally.Entity")(unversioned), false, "stateVersion is required");
    assert.equal(component("Entity")({ ...body, stateVersion: 0 }), false);
    const [entry] = (await store.history(ref)).map((row) => journalEntryBody(row, tallyMachine));
    assert.ok(entry);
    assert.deepEqual([entry.stateVersion, entry.eventVersion], [1, 1]);
    assertValid(component("tally.JournalEntry"), entry);
    const { eventVersion: __, ...noEventVersion } = entry;
    assert.equal(component("JournalEntry")(noEventVersion), false, "eventVersion is required");

    const summary = {
      name: "tally",
      version: 2,
      eventVersion: 1,
      total: 3,
      states: [{ status: null, count: 3 }],
      stateVersions: [
        { stateVersion: 1, count: 1 },
        { stateVersion: 2, count: 2 },
      ],
      internal: [],
    };
    assertValid(component("MachineSummaries"), { machines: [summary] });
    const { stateVersions: ___, ...uncounted } = summary;
    assert.equal(component("MachineSummaries")({ machines: [uncounted] }), false, "stateVersions is required");

    const unreadable = {
      type: "https://drover.dev/problems/newer-version",
      title: "State Unreadable",
      status: 503,
      detail: "tally/t_ver: the state is stored at version 3, newer than this code's version 2",
      kind: "state_unreadable",
      reason: "newer_version",
      machine: "tally",
      id: "t_ver",
      eventId: "e1",
      storedVersion: 3,
      expectedVersion: 2,
      issues: [],
    };
    assertValid(component("UnreadableProblem"), unreadable);
    assertValid(component("UnreadableProblem"), { ...unreadable, kind: "event_unreadable" });
    assert.equal(component("UnreadableProblem")({ ...unreadable, kind: "unreadable" }), false);
    assert.equal(component("UnreadableProblem")({ ...unreadable, reason: "rollback" }), false);
    const { storedVersion: ____, ...unnamed } = unreadable;
    assert.equal(component("UnreadableProblem")(unnamed), false, "storedVersion is required");
    assertValid(component("UnavailableProblem"), {
      type: "https://drover.dev/problems/unavailable",
      title: "Service Unavailable",
      status: 503,
      detail: "the database is unavailable; try again shortly",
      kind: "unavailable",
    });
  });

  it("writes timestamps as ISO 8601 date-times", () => {
    for (const [name, fields] of [
      ["Entity", ["createdAt", "updatedAt"]],
      ["JournalEntry", ["at"]],
      ["OutboxRecord", ["nextAttemptAt", "leaseUntil", "createdAt"]],
    ] as const) {
      const properties = asObject(asObject(doc.components.schemas[name]).properties);
      for (const field of fields) assert.equal(asObject(properties[field]).format, "date-time", `${name}.${field}`);
    }
  });

  it("is deterministic", () => {
    const again = buildOpenApi({ machines });
    assert.deepEqual(again, doc);
    assert.equal(JSON.stringify(again), JSON.stringify(doc));
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc, "plain JSON: no undefined, no class instances");
  });

  it("takes a title, a version and a server URL", () => {
    assert.deepEqual(doc.info.title, "drover");
    assert.equal(doc.servers, undefined);
    const custom = buildOpenApi({ machines, title: "Shop", version: "2.3.0", serverUrl: "http://127.0.0.1:3000" });
    assert.equal(custom.info.title, "Shop");
    assert.equal(custom.info.version, "2.3.0");
    assert.deepEqual(custom.servers, [{ url: "http://127.0.0.1:3000" }]);
  });

  it("refuses, naming the machine, events that are not a union of objects with a literal type", () => {
    const base = {
      id: z.string(),
      state: z.object({}),
      intents: z.object({ type: z.literal("Noop") }),
      rejections: z.enum(["no"]),
      create: () => accept({}),
      handle: () => reject("no" as const),
    };
    const open = defineMachine({ ...base, name: "open", events: z.object({ type: z.string() }), creates: ["x"] });
    assert.throws(() => buildOpenApi({ machines: [tallyMachine, open] }), {
      name: "TypeError",
      message: /machine "open": its event schema cannot be described in OpenAPI.*literal "type"/,
    });
    const custom = defineMachine({
      ...base,
      name: "custom",
      events: z.union([z.object({ type: z.literal("A") }), z.custom<{ type: "B" }>()]),
      creates: ["A"],
    });
    assert.throws(() => buildOpenApi({ machines: [custom] }), {
      message: /machine "custom".*anyOf\[1\] is \{\}/,
    });
  });

  it("refuses a machine named like another route, or listed twice", () => {
    const outbox = { ...tallyMachine, name: "outbox" };
    assert.throws(() => buildOpenApi({ machines: [outbox] }), /machine "outbox" clashes with the route \/v1\/outbox/);
    assert.throws(() => buildOpenApi({ machines: [tallyMachine, tallyMachine] }), /machine "tally" is listed twice/);
  });
});
