// The OpenAPI document describes what the timer, intent-type, schedule and stats routes answer:
// real answers of a server validate against their components.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import type { OpenApiDocument } from "./openapi/index.js";
import { operatorServer, T0 } from "./test-support/operator-server.js";

const root = mkdtempSync(join(tmpdir(), "drover-http-openapi-operator-"));
after(() => rmSync(root, { recursive: true, force: true }));

const DOC_ID = "urn:drover:openapi";

function componentValidator(doc: OpenApiDocument) {
  const schemas = JSON.parse(
    JSON.stringify(doc.components.schemas).replaceAll('"#/components/schemas/', `"${DOC_ID}#/$defs/`),
  ) as Record<string, unknown>;
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  formats.default(ajv);
  ajv.addKeyword("discriminator");
  ajv.addSchema({ $id: DOC_ID, $defs: schemas });
  return (name: string, value: unknown) => {
    assert.ok(doc.components.schemas[name] !== undefined, `component ${name} exists`);
    const validate = ajv.compile({ $ref: `${DOC_ID}#/$defs/${name}` });
    assert.ok(validate(value), `${name}: ${JSON.stringify(value)}\n${JSON.stringify(validate.errors, null, 2)}`);
  };
}

describe("the OpenAPI document of the operator routes", () => {
  it("describes the timers, intent types, schedules and stats the server answers", async () => {
    const { app, call } = await operatorServer(root, {
      recurring: [{ name: "daily", cron: "0 3 * * *", machine: "alarms", id: "a_cron", event: { type: "Snooze" } }],
    });
    const valid = componentValidator((await call("GET", "/openapi.json")).json() as OpenApiDocument);
    await app.run({ machine: "alarms", id: "a_doc" }, { type: "Set", at: T0 + 1_000 });
    await app.run({ machine: "alarms", id: "a_doc" }, { type: "Set", at: T0 + 2_000 });
    const timers = (await call("GET", "/v1/timers")).json() as { items: { timerId: string }[] };
    assert.equal(timers.items.length, 2);
    valid("TimerPage", timers);
    valid("Timer", (await call("GET", `/v1/timers/${encodeURIComponent(timers.items[0]?.timerId ?? "")}`)).json());
    valid("IntentTypeChange", (await call("PUT", "/v1/intent-types/Beep/pause")).json());
    valid("IntentTypes", (await call("GET", "/v1/intent-types")).json());
    valid("IntentTypes", (await call("GET", "/v1/intent-types/paused")).json());
    valid("IntentTypeChange", (await call("DELETE", "/v1/intent-types/Beep/pause")).json());
    valid("UnknownIntentTypeProblem", (await call("PUT", "/v1/intent-types/Nope/pause")).json());
    valid("Schedules", (await call("GET", "/v1/schedules")).json());
    valid("Stats", (await call("GET", "/v1/stats")).json());
  });
});
