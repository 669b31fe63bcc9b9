// Tracing through the OpenTelemetry API only: drover never installs a provider, a context
// manager or a propagator. Spans go to the provider the application registered (none: the
// API's no-op, whose spans cost a method call) or to one handed in (`tracerProvider`).
//
// The trace context crosses the durable hop as a W3C `traceparent` string stored with each
// outbox and timer row, written and read here without a propagator so that a library needs none.
import type { Attributes, Context, Span, SpanContext, Tracer, TracerProvider } from "@opentelemetry/api";
import { context, isSpanContextValid, ROOT_CONTEXT, SpanStatusCode, TraceFlags, trace } from "@opentelemetry/api";

/** The instrumentation scope drover's spans are reported under. */
export const TRACER_NAME = "@drover/core";

/** drover's span names. **contract** (what dashboards and alerts select on) */
export const SpanName = {
  /** One event applied to one entity: load, decide, commit (retries included). */
  Run: "drover.run",
  /** One batch of steps committed by the store in one transaction. */
  Commit: "drover.commit",
  /** One attempt of the dispatcher at one intent. */
  IntentAttempt: "drover.intent.attempt",
  /** One firing of a durable timer. */
  TimerFire: "drover.timer.fire",
} as const;

/** drover's span attributes (the `drover.` namespace). **contract** */
export const TraceAttr = {
  Machine: "drover.machine",
  EntityId: "drover.entity.id",
  EventType: "drover.event.type",
  EventId: "drover.event.id",
  ResultKind: "drover.result.kind",
  Version: "drover.version",
  Attempts: "drover.attempts",
  RejectionReason: "drover.rejection.reason",
  BatchSize: "drover.commit.batch_size",
  IntentType: "drover.intent.type",
  IntentId: "drover.intent.id",
  Attempt: "drover.intent.attempt",
  Outcome: "drover.intent.outcome",
  NextAttemptAt: "drover.intent.next_attempt_at",
  TimerId: "drover.timer.id",
  DueAt: "drover.timer.due_at",
  LatenessMs: "drover.timer.lateness_ms",
} as const;

/** The tracer of `provider`, or of the globally registered one (the API's no-op if none). */
export function droverTracer(provider?: TracerProvider): Tracer {
  return (provider ?? trace.getTracerProvider()).getTracer(TRACER_NAME);
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The W3C `traceparent` of the span active in `ctx`, or `undefined` when there is none (or
 * only the no-op's invalid one).
 *
 * @example
 * traceParentOf(trace.setSpan(context.active(), span)); // "00-4bf9…-00f0…-01"
 */
export function traceParentOf(ctx: Context): string | undefined {
  const spanContext = trace.getSpanContext(ctx);
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, "0");
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/**
 * A context whose remote parent is the span `traceParent` names; `base` (the root context
 * by default) when it is absent or not a valid version-00 `traceparent`.
 *
 * @example
 * const parent = contextOfTraceParent(request.headers.get("traceparent"));
 */
export function contextOfTraceParent(traceParent: string | null | undefined, base: Context = ROOT_CONTEXT): Context {
  if (traceParent === null || traceParent === undefined) return base;
  const match = TRACEPARENT.exec(traceParent.trim().toLowerCase());
  if (match === null) return base;
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
  const spanContext: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(base, spanContext) : base;
}

/** The active context: what a caller's span (an HTTP request's, say) makes the parent. */
export function activeContext(): Context {
  return context.active();
}

/** Mark a span failed by an exception (an infrastructure failure or a bug, never a rejection). */
export function recordFailure(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Set attributes only on a span that records: the no-op's spans need no attribute objects built. */
export function setAttributes(span: Span, attributes: () => Attributes): void {
  if (span.isRecording()) span.setAttributes(attributes());
}
