import type { Span } from "@opentelemetry/api";
import { SpanStatusCode } from "@opentelemetry/api";
import type { OutboxRecord } from "./ports.js";
import { setAttributes, TraceAttr } from "./tracing.js";

/** How an attempt ended: a smart enum. */
export const AttemptOutcome = { Done: "done", Retry: "retry", Dead: "dead" } as const;
export type AttemptOutcome = (typeof AttemptOutcome)[keyof typeof AttemptOutcome];

/** One attempt at an intent, as reported to observers (metrics). */
export interface AttemptReport {
  readonly machine: string;
  readonly entityId: string;
  readonly intentId: string;
  readonly intentType: string;
  readonly outcome: AttemptOutcome;
  /** Which attempt it was (1 on the first try). */
  readonly attempt: number;
  /** Why it failed (a retry or a dead letter). */
  readonly error?: string;
  readonly durationMs: number;
}

/** How an attempt ended, for its report and its span. */
export interface Settled {
  readonly outcome: AttemptOutcome;
  /** When it is tried again (a retry), `null` once dead-lettered. */
  readonly retryAt?: number | null;
  readonly error?: string;
  /** It waited for a limit instead of running: not an attempt. */
  readonly deferred?: boolean;
}

export function endAttemptSpan(span: Span, row: OutboxRecord, intentType: string, settled: Settled | undefined): void {
  setAttributes(span, () => ({
    [TraceAttr.Machine]: row.machine,
    [TraceAttr.EntityId]: row.entityId,
    [TraceAttr.IntentType]: intentType,
    [TraceAttr.IntentId]: row.intentId,
    [TraceAttr.Attempt]: row.attempts,
    [TraceAttr.Outcome]: settled?.outcome ?? "unknown",
    ...(typeof settled?.retryAt === "number"
      ? { [TraceAttr.NextAttemptAt]: new Date(settled.retryAt).toISOString() }
      : {}),
  }));
  // A failed attempt is an infrastructure failure (the provider, the network): an error.
  if (settled === undefined || settled.error !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: settled?.error ?? "the attempt threw" });
  }
  span.end();
}
