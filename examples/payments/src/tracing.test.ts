// Issue 18: one trace from the HTTP request through the outbox to the provider and back. A
// payment is created over HTTP with the caller's traceparent; the app that took the request is
// stopped before its dispatcher ran (a restart between commit and dispatch); a new app on the
// same SQLite file runs the authorization, whose follow-up step joins the same trace — the
// trace context crossed the durable hop in the outbox row. Spans go to the SDK's in-memory
// exporter through a provider handed in, never a global one.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { App, SpanName, silentLogger } from "@drover/core";
import { buildServer, TokenStore } from "@drover/http";
import { SqliteStore } from "@drover/sqlite";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { MemoryMailer, MemoryVerificationQueue } from "./back-office.js";
import { paymentEffects } from "./effects.js";
import { payments } from "./payments.js";
import { SimulatedProvider } from "./provider.js";

const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";

describe("one trace from the request to the provider's answer, across a restart", () => {
  const dir = mkdtempSync(join(tmpdir(), "drover-tracing-"));
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();

  before(() => {
    // The test is the application here: it may set a context manager (drover never does).
    context.setGlobalContextManager(contextManager.enable());
  });
  after(async () => {
    context.disable();
    await provider.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const openApp = () => {
    const store = SqliteStore.open({ path: join(dir, "payments.db") });
    const app = new App({
      store,
      machines: [payments],
      effects: [
        paymentEffects({
          provider: new SimulatedProvider({ latencyMs: 0, failureRate: 0, env: {} }),
          verifications: new MemoryVerificationQueue(),
          mailer: new MemoryMailer(),
        }),
      ],
      logger: silentLogger,
      tracerProvider: provider,
    });
    return { app, store };
  };

  it("links request, step, commit, provider attempt and follow-up step by parent", async () => {
    // First process: takes the request; its dispatcher never runs.
    const { app: first, store: firstStore } = openApp();
    const tokens = TokenStore.open(join(dir, "tokens"));
    const token = tokens.create({ scopes: ["write"] }).token;
    const server = await buildServer({ app: first, tokens, tracerProvider: provider });
    const created = await server.inject({
      method: "POST",
      url: "/v1/payments/pay_0123456789abcdef/events",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
      },
      payload: JSON.stringify({ type: "RequestPayment", amount: 12_500, currency: "EUR", customerId: "cus_42" }),
    });
    assert.equal(created.statusCode, 200, created.body);
    await server.close();
    await first.stop();
    await firstStore.close();

    // Second process: same database, dispatcher on.
    const { app: second, store: secondStore } = openApp();
    await second.start();
    await second.settled({ timeoutMs: 10_000 });
    await second.stop();
    await secondStore.close();

    const spans = exporter.getFinishedSpans();
    const request = one(spans, (s) => s.name === "POST /v1/:machine/:id/events");
    const step = one(spans, (s) => s.name === SpanName.Run && s.attributes["drover.event.type"] === "RequestPayment");
    const commit = one(spans, (s) => s.name === SpanName.Commit && parentOf(s) === step.spanContext().spanId);
    const attempt = one(
      spans,
      (s) => s.name === SpanName.IntentAttempt && s.attributes["drover.intent.type"] === "AuthorizeWithProvider",
    );
    const followUp = one(
      spans,
      (s) => s.name === SpanName.Run && s.attributes["drover.event.type"] === "ProviderAuthorized",
    );

    for (const span of [request, step, commit, attempt, followUp]) {
      assert.equal(span.spanContext().traceId, CALLER_TRACE, `${span.name} is in the caller's trace`);
    }
    assert.equal(parentOf(request), CALLER_SPAN, "the request span is a child of the caller's");
    assert.equal(parentOf(step), request.spanContext().spanId, "the step is a child of the request");
    assert.equal(parentOf(attempt), step.spanContext().spanId, "the attempt continues the step that decided it");
    assert.equal(parentOf(followUp), attempt.spanContext().spanId, "the follow-up is a child of the attempt");

    assert.equal(request.attributes["http.response.status_code"], 200);
    assert.equal(step.attributes["drover.result.kind"], "processed");
    assert.equal(step.attributes["drover.version"], 1);
    assert.equal(step.attributes["drover.machine"], "payments");
    assert.equal(step.attributes["drover.entity.id"], "pay_0123456789abcdef");
    assert.equal(attempt.attributes["drover.intent.outcome"], "done");
    assert.equal(attempt.attributes["drover.intent.attempt"], 1);
    assert.equal(followUp.attributes["drover.version"], 2);
    assert.ok(Number(commit.attributes["drover.commit.batch_size"]) >= 1);
  });
});

function one(spans: readonly ReadableSpan[], match: (span: ReadableSpan) => boolean): ReadableSpan {
  const found = spans.filter(match);
  assert.equal(
    found.length,
    1,
    `one span expected, found ${found.length} among ${spans.map((s) => s.name).join(", ")}`,
  );
  return found[0] as ReadableSpan;
}

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
