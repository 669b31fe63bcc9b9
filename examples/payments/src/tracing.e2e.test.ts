// Issue 18, black box: `drover serve` (the payments server, as `npm start` runs it) set up by
// the standard OpenTelemetry environment exports its spans over OTLP/HTTP with JSON to a small
// receiver in this test. A payment created with the caller's traceparent yields the request,
// the step, the provider attempt and the follow-up step in the caller's trace; log lines
// written inside the request carry its trace id. Without the environment, nothing is exported.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { call, closeRawAgent, startServer } from "./test-support/http-harness.js";

const CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN = "b7ad6b7169203331";

interface ReceivedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly service: unknown;
}

/** An OTLP/HTTP JSON trace receiver: it keeps every span posted to /v1/traces. */
async function otlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    request.on("end", () => {
      if (request.url === "/v1/traces" && /json/.test(request.headers["content-type"] ?? "")) {
        for (const resourceSpans of JSON.parse(body).resourceSpans ?? []) {
          const service = attributesOf(resourceSpans.resource?.attributes)["service.name"];
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                name: span.name,
                traceId: span.traceId,
                spanId: span.spanId,
                ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
                attributes: attributesOf(span.attributes),
                service,
              });
            }
          }
        }
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** OTLP/JSON's `[{ key, value: { stringValue | intValue | … } }]` as a plain object. */
function attributesOf(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const entry of (list as { key: string; value: Record<string, unknown> }[] | undefined) ?? []) {
    out[entry.key] = Object.values(entry.value)[0];
  }
  return out;
}

describe("drover serve exports its spans over OTLP (http/json) when the environment asks", () => {
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;

  before(async () => {
    receiver = await otlpReceiver();
  });
  after(async () => {
    closeRawAgent();
    await receiver?.close();
  });

  it("puts request, step, provider attempt and follow-up in the caller's trace, and trace ids in the logs", async () => {
    const server = await startServer({
      latencyMs: 0,
      logLevel: "info",
      env: {
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: "payments-e2e",
        OTEL_BSP_SCHEDULE_DELAY: "100",
      },
    });
    try {
      assert.match(server.output(), /tracing: spans exported by OTLP http\/json to http:\/\/127\.0\.0\.1:\d+/);
      const created = await call(server.url, "POST", "/v1/payments/pay_0123456789trace0/events", {
        token: server.tokens.write,
        json: { type: "RequestPayment", amount: 12_500, currency: "EUR", customerId: "cus_42" },
        headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
      });
      assert.equal(created.status, 200, created.text);

      const deadline = Date.now() + 15_000;
      const find = (match: (span: ReceivedSpan) => boolean) => receiver.spans.find(match);
      const followUp = () =>
        find((s) => s.name === "drover.run" && s.attributes["drover.event.type"] === "ProviderAuthorized");
      while (followUp() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

      const request = find((s) => s.name === "POST /v1/:machine/:id/events");
      const step = find((s) => s.name === "drover.run" && s.attributes["drover.event.type"] === "RequestPayment");
      const attempt = find(
        (s) => s.name === "drover.intent.attempt" && s.attributes["drover.intent.type"] === "AuthorizeWithProvider",
      );
      const names = receiver.spans.map((s) => s.name).join(", ");
      assert.ok(request && step && attempt && followUp(), `spans received: ${names}`);
      for (const span of [request, step, attempt, followUp()]) {
        assert.equal(span?.traceId, CALLER_TRACE, `${span?.name} in the caller's trace`);
        assert.equal(span?.service, "payments-e2e");
      }
      assert.equal(request?.parentSpanId, CALLER_SPAN);
      assert.equal(step?.parentSpanId, request?.spanId);
      assert.equal(attempt?.parentSpanId, step?.spanId);
      assert.equal(followUp()?.parentSpanId, attempt?.spanId);

      const logged = server
        .output()
        .split("\n")
        .filter((line) => line.includes('"msg":"event RequestPayment: processed"'));
      assert.equal(logged.length, 1, server.output());
      assert.match(logged[0] ?? "", new RegExp(`"trace_id":"${CALLER_TRACE}"`));
    } finally {
      await server.stop();
    }
  });

  it("exports nothing and says nothing of tracing without the environment", async () => {
    const before = receiver.spans.length;
    const server = await startServer({ latencyMs: 0 });
    try {
      assert.doesNotMatch(server.output(), /tracing:/);
      const created = await call(server.url, "POST", "/v1/payments/pay_0123456789trace1/events", {
        token: server.tokens.write,
        json: { type: "RequestPayment", amount: 12_500, currency: "EUR", customerId: "cus_42" },
        headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
      });
      assert.equal(created.status, 200);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(receiver.spans.length, before);
    } finally {
      await server.stop();
    }
  });
});
