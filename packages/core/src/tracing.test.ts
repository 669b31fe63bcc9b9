// drover's spans, with the SDK's in-memory exporter on a provider handed in (no global): a
// step's run and commit, a rejection as a span event (not an error), a failed intent attempt
// as an error that continues the step's trace, a timer firing a week of clock later in the
// trace of the step that set it — and, with tracing off, no span and no stored trace context.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SpanStatusCode } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { App } from "./app.js";
import { defineEffects } from "./effects.js";
import { silentLogger } from "./logger.js";
import { MemoryStore } from "./memory-store.js";
import { tallyMachine } from "./testing/tally-machine.js";
import { contextOfTraceParent, SpanName, traceParentOf } from "./tracing.js";

const ref = { machine: "tally", id: "t_traced" };

function tracedApp(options: { traced: boolean; failFirst: boolean }) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const clock = {
    at: Date.UTC(2026, 0, 5),
    now() {
      return this.at;
    },
  };
  let fail = options.failFirst;
  const store = new MemoryStore();
  const app = new App({
    store,
    machines: [tallyMachine],
    effects: [
      defineEffects(tallyMachine, {
        Noted: async () => {
          if (fail) {
            fail = false;
            throw new Error("the notice board is down");
          }
        },
      }),
    ],
    clock,
    logger: silentLogger,
    dispatcher: { backoff: { initialMs: 1_000, maxMs: 1_000 }, pollMs: 5 },
    ...(options.traced ? { tracerProvider: provider } : {}),
  });
  return { app, store, clock, spans: () => exporter.getFinishedSpans() };
}

describe("tracing", () => {
  it("records a step's run and commit, and a rejection as an event, not an error", async () => {
    const { app, spans } = tracedApp({ traced: true, failFirst: false });
    await app.run(ref, { type: "Open" }, { eventId: "open-1" });
    await app.run(ref, { type: "Open" }, { eventId: "open-2" });
    const [opened, refused] = spans().filter((s) => s.name === SpanName.Run);
    assert.equal(opened?.attributes["drover.result.kind"], "processed");
    assert.equal(opened?.attributes["drover.event.id"], "open-1");
    assert.equal(opened?.attributes["drover.event.type"], "Open");
    assert.equal(opened?.attributes["drover.attempts"], 1);
    assert.equal(refused?.attributes["drover.result.kind"], "rejected");
    assert.equal(refused?.attributes["drover.rejection.reason"], "already_open");
    assert.deepEqual(
      refused?.events.map((e) => [e.name, e.attributes?.["drover.rejection.reason"]]),
      [["drover.rejected", "already_open"]],
    );
    assert.equal(refused?.status.code, SpanStatusCode.UNSET, "a rejection is an answer, not a failure");
    const commit = spans().find((s) => s.name === SpanName.Commit);
    assert.equal(commit?.parentSpanContext?.spanId, opened?.spanContext().spanId);
    assert.equal(commit?.attributes["drover.commit.batch_size"], 1);
  });

  it("continues a step's trace in its intent's attempts, a failed one as an error with its retry time", async () => {
    const { app, store, clock, spans } = tracedApp({ traced: true, failFirst: true });
    await app.run(ref, { type: "Open" });
    await app.run(ref, { type: "Add", n: 2 }, { eventId: "add-1" });
    const step = spans().find((s) => s.attributes["drover.event.id"] === "add-1") as ReadableSpan;
    const [row] = await store.listOutbox({});
    assert.equal(
      row?.traceParent,
      traceParentOf(contextOfTraceParent(`00-${step.spanContext().traceId}-${step.spanContext().spanId}-01`)),
    );

    await app.idle();
    clock.at += 1_000;
    await app.idle();
    const attempts = spans().filter((s) => s.name === SpanName.IntentAttempt);
    assert.equal(attempts.length, 2);
    const [failed, done] = attempts as [ReadableSpan, ReadableSpan];
    for (const attempt of attempts) {
      assert.equal(attempt.spanContext().traceId, step.spanContext().traceId);
      assert.equal(attempt.parentSpanContext?.spanId, step.spanContext().spanId);
      assert.equal(attempt.attributes["drover.intent.type"], "Noted");
      assert.equal(attempt.attributes["drover.intent.id"], row?.intentId);
    }
    assert.equal(failed.attributes["drover.intent.outcome"], "retry");
    assert.equal(failed.attributes["drover.intent.attempt"], 1);
    // Backoff with equal jitter: between half and all of the 1 s delay.
    const retryAt = Date.parse(String(failed.attributes["drover.intent.next_attempt_at"]));
    assert.ok(retryAt >= Date.UTC(2026, 0, 5) + 500 && retryAt <= Date.UTC(2026, 0, 5) + 1_000, String(retryAt));
    assert.equal(failed.status.code, SpanStatusCode.ERROR);
    assert.match(failed.status.message ?? "", /the notice board is down/);
    assert.equal(done.attributes["drover.intent.outcome"], "done");
    assert.equal(done.attributes["drover.intent.attempt"], 2);
    assert.equal(done.status.code, SpanStatusCode.UNSET);
  });

  it("fires a timer in the trace of the step that set it, a week later", async () => {
    const { app, clock, spans } = tracedApp({ traced: true, failFirst: false });
    await app.run(ref, { type: "Open" });
    for (let i = 1; i <= 10; i++) await app.run(ref, { type: "Add", n: 1 }, { eventId: `add-${i}` });
    const setter = spans().find((s) => s.attributes["drover.event.id"] === "add-10") as ReadableSpan;
    clock.at += 7 * 24 * 3_600_000;
    await app.idle();
    const fire = spans().find((s) => s.name === SpanName.TimerFire) as ReadableSpan;
    assert.ok(
      fire,
      spans()
        .map((s) => s.name)
        .join(", "),
    );
    assert.equal(fire.parentSpanContext?.spanId, setter.spanContext().spanId);
    assert.equal(fire.spanContext().traceId, setter.spanContext().traceId);
    assert.ok(Number(fire.attributes["drover.timer.lateness_ms"]) >= 7 * 24 * 3_600_000 - 60_000);
    const closed = spans().find((s) => s.name === SpanName.Run && s.attributes["drover.event.type"] === "Close");
    assert.equal(closed?.parentSpanContext?.spanId, fire.spanContext().spanId);
    assert.equal(closed?.attributes["drover.result.kind"], "processed");
  });

  it("records nothing and stores no trace context with tracing off", async () => {
    const { app, store, spans } = tracedApp({ traced: false, failFirst: false });
    await app.run(ref, { type: "Open" });
    await app.run(ref, { type: "Add", n: 1 });
    const [row] = await store.listOutbox({});
    assert.equal(row?.traceParent, null);
    assert.equal(spans().length, 0);
  });

  it("reads and writes traceparent strictly (W3C version 00)", () => {
    const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert.equal(traceParentOf(contextOfTraceParent(valid)), valid);
    assert.equal(traceParentOf(contextOfTraceParent(valid.toUpperCase())), valid);
    for (const bad of [
      "",
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      "garbage",
    ]) {
      assert.equal(traceParentOf(contextOfTraceParent(bad)), undefined, bad);
    }
    assert.equal(traceParentOf(contextOfTraceParent(null)), undefined);
  });
});
