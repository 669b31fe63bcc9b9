// Issue 18: tracing must cost nothing when off. drover in process, 64 callers on SQLite (the
// "drover-concurrent" row), with no tracer provider and with an SDK provider handed in, in
// alternating runs; then the no-op path alone, timed call by call.
import { SqliteSynchronous } from "@drover/sqlite";
import { trace } from "@opentelemetry/api";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { DroverTiming } from "./contestants/drover.js";
import { runDrover } from "./contestants/drover.js";
import type { Consistency, ScratchDir } from "./database.js";
import { checkApplied } from "./database.js";
import { now } from "./measure.js";
import type { Ratio } from "./ratio.js";
import { Workload } from "./workload.js";

/** How big the tracing measurement is. */
export interface TracingConfig {
  /** Events per drover run, each way. */
  readonly events: number;
  /** Calls of the no-op path per round. */
  readonly noopCalls: number;
}

/** How the shared run settings reach the measurement (the harness's config). */
export interface TracingRun {
  readonly rounds: number;
  readonly entities: number;
  readonly callers: number;
  readonly warmUp: boolean;
}

/** drover with tracing off (no provider: the API's no-op) or on (an SDK provider handed in). */
export const TracingMode = { Off: "off", On: "on" } as const;
export type TracingMode = (typeof TracingMode)[keyof typeof TracingMode];

/** One way of running drover: the median of its runs. */
export interface TracingRow {
  readonly mode: TracingMode;
  readonly label: string;
  readonly events: number;
  readonly eventsPerSecond: number;
  /** Microseconds of wall time per event (1e6 / events/s). */
  readonly usPerEvent: number;
  /**
   * Microseconds of this process's CPU time (user + system) per event, median of the runs:
   * what tracing costs even when the machine's other load or the disk bounds the wall time.
   */
  readonly cpuUsPerEvent: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** events/s of every run, in order. */
  readonly runs: readonly number[];
  readonly notes: readonly string[];
  /** Every run applied every event (counted in the database). */
  readonly consistent: boolean;
}

/** The no-op path alone: `getTracer`, `startSpan`, `isRecording`, `end` with no provider registered. */
export interface NoopPath {
  readonly label: string;
  readonly calls: number;
  /** Nanoseconds per call (one call per event in drover), median of the rounds. */
  readonly nsPerEvent: number;
  /** ns per call of every round, in order. */
  readonly runs: readonly number[];
  /** {@link nsPerEvent} over the "off" row's time per event. */
  readonly shareOfOff: number;
}

/** What the tracing measurement found. */
export interface TracingReport {
  readonly callers: number;
  readonly rows: readonly TracingRow[];
  readonly noop: NoopPath;
  readonly ratios: readonly Ratio[];
}

const LABELS: Record<TracingMode, string> = {
  off: "tracing off: no provider (the API's no-op)",
  on: "tracing on: BasicTracerProvider, BatchSpanProcessor, an exporter that drops the spans",
};

/** A SpanExporter that drops what it is given, counting it by span name. */
class DroppingExporter implements SpanExporter {
  readonly #counts = new Map<string, number>();

  export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]): void {
    for (const span of spans) this.#counts.set(span.name, (this.#counts.get(span.name) ?? 0) + 1);
    // 0 is ExportResultCode.SUCCESS (@opentelemetry/core's, which the bench does not depend on).
    done({ code: 0 });
  }

  count(name: string): number {
    return this.#counts.get(name) ?? 0;
  }

  async shutdown(): Promise<void> {}
}

interface Run {
  readonly timing: DroverTiming;
  /** CPU time of the run (opening and closing the store included), µs. */
  readonly cpuUs: number;
  readonly consistency: Consistency;
  readonly notes: readonly string[];
}

/**
 * Measure what tracing costs drover: per round, one run with tracing off and one with it on
 * (the order alternating from round to round, each on a fresh file), then the no-op path
 * alone. Throws when the "on" runs exported no span (tracing was not on: a second copy of
 * `@opentelemetry/api`, say) or when the no-op path records (a provider is registered).
 */
export async function measureTracing(
  config: TracingConfig,
  run: TracingRun,
  scratch: ScratchDir,
  log: (line: string) => void,
): Promise<TracingReport> {
  const once = async (mode: TracingMode, events: number, label: string): Promise<Run> => {
    const path = scratch.file(label);
    try {
      return await runOnce(mode, path, events, run);
    } finally {
      scratch.drop(path);
    }
  };
  // Warm up even when the run does not (--quick): else the first "off" run alone pays the JIT's
  // warm-up and the on/off ratio says nothing. Two small runs: a fraction of a second.
  noopPath(Math.min(config.noopCalls, 100_000));
  log("tracing: warm-up (off and on, small runs, not counted)");
  for (const mode of Object.values(TracingMode)) {
    await once(mode, Math.min(2_000, config.events), `warmup-${mode}`);
  }
  const runs: Record<TracingMode, Run[]> = { off: [], on: [] };
  const noop: number[] = [];
  for (let round = 1; round <= run.rounds; round++) {
    const order = round % 2 === 1 ? [TracingMode.Off, TracingMode.On] : [TracingMode.On, TracingMode.Off];
    for (const mode of order) {
      const outcome = await once(mode, config.events, `tracing-${mode}-r${round}`);
      runs[mode].push(outcome);
      log(
        `round ${round}/${run.rounds} tracing ${mode}: ${Math.round(outcome.timing.eventsPerSecond)} events/s` +
          (outcome.consistency.ok ? "" : ` INCONSISTENT: ${outcome.consistency.detail}`),
      );
    }
    noop.push(noopPath(config.noopCalls));
    log(`round ${round}/${run.rounds} no-op path: ${noop.at(-1)?.toFixed(1)} ns per call`);
  }
  const off = summarise(TracingMode.Off, config.events, runs.off);
  const on = summarise(TracingMode.On, config.events, runs.on);
  const nsPerEvent = median(noop);
  // Rounds alternate, so each round's pair saw the same machine: their ratios drift less.
  const paired = runs.on.map((r, i) => r.timing.eventsPerSecond / (runs.off[i]?.timing.eventsPerSecond ?? Number.NaN));
  return {
    callers: run.callers,
    rows: [off, on],
    noop: {
      label: 'no-op path alone: trace.getTracer("x").startSpan("drover.run"), isRecording(), end()',
      calls: config.noopCalls,
      nsPerEvent,
      runs: noop.map((ns) => Math.round(ns * 10) / 10),
      shareOfOff: nsPerEvent / (off.usPerEvent * 1000),
    },
    ratios: [
      reference(
        `tracing on / off, drover ${run.callers} callers: events/s (medians)`,
        on.eventsPerSecond / off.eventsPerSecond,
      ),
      reference(
        `tracing on / off: events/s, median of the rounds' ratios (${paired.map((r) => r.toFixed(2)).join(", ")})`,
        median(paired),
      ),
      reference("tracing on / off: CPU µs per event", on.cpuUsPerEvent / off.cpuUsPerEvent),
    ],
  };
}

async function runOnce(mode: TracingMode, path: string, events: number, run: TracingRun): Promise<Run> {
  const workload = new Workload({ entities: run.entities, events });
  const options = { path, synchronous: SqliteSynchronous.Full, callers: run.callers };
  const cpu = process.cpuUsage();
  if (mode === TracingMode.Off) {
    const timing = await runDrover(workload, options);
    const cpuUs = cpuSince(cpu);
    return { timing, cpuUs, consistency: checkApplied(path, events, run.entities), notes: [batches(timing)] };
  }
  const exporter = new DroppingExporter();
  // Handed in, never registered: the "off" runs and the no-op path keep the API's no-op.
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  let timing: DroverTiming;
  let cpuUs: number;
  try {
    timing = await runDrover(workload, { ...options, tracerProvider: provider });
    // Outside the timing, inside the CPU time: what is left in the processor's queue (less
    // than one batch of 512).
    await provider.forceFlush();
    cpuUs = cpuSince(cpu);
  } finally {
    await provider.shutdown();
  }
  const runSpans = exporter.count("drover.run");
  const commitSpans = exporter.count("drover.commit");
  if (runSpans === 0) {
    throw new Error(
      `tracing on: no drover.run span exported for ${events} events; is there a second copy of @opentelemetry/api? (npm ls @opentelemetry/api)`,
    );
  }
  const exported =
    runSpans === events && commitSpans === timing.commits
      ? `every span exported (${runSpans} drover.run, ${commitSpans} drover.commit)`
      : `exported ${runSpans} of ${events} drover.run and ${commitSpans} of ${timing.commits} drover.commit spans`;
  return { timing, cpuUs, consistency: checkApplied(path, events, run.entities), notes: [batches(timing), exported] };
}

/**
 * ns per call of the path drover takes per event when no provider is registered: the API's
 * proxy tracer, its no-op span, the `isRecording()` check that spares building attributes.
 */
function noopPath(calls: number): number {
  let recording = 0;
  const started = now();
  for (let i = 0; i < calls; i++) {
    const span = trace.getTracer("x").startSpan("drover.run");
    if (span.isRecording()) recording += 1;
    span.end();
  }
  const ns = ((now() - started) * 1e6) / calls;
  if (recording > 0) throw new Error("the no-op path recorded spans: a tracer provider is registered globally");
  return ns;
}

function summarise(mode: TracingMode, events: number, runs: readonly Run[]): TracingRow {
  const sorted = [...runs].sort((a, b) => a.timing.eventsPerSecond - b.timing.eventsPerSecond);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  if (middle === undefined) throw new Error(`tracing ${mode}: no run`);
  const inconsistent = runs.filter((r) => !r.consistency.ok);
  return {
    mode,
    label: LABELS[mode],
    events,
    eventsPerSecond: middle.timing.eventsPerSecond,
    usPerEvent: 1e6 / middle.timing.eventsPerSecond,
    cpuUsPerEvent: median(runs.map((r) => r.cpuUs / events)),
    p50Ms: middle.timing.p50Ms,
    p99Ms: middle.timing.p99Ms,
    runs: runs.map((r) => Math.round(r.timing.eventsPerSecond)),
    notes: [
      ...(runs.length > 1 ? [`CPU µs/event: ${runs.map((r) => (r.cpuUs / events).toFixed(1)).join(", ")}`] : []),
      ...middle.notes,
      ...(inconsistent.length === 0 ? [] : [`INCONSISTENT: ${inconsistent[0]?.consistency.detail}`]),
    ],
    consistent: inconsistent.length === 0,
  };
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return user + system;
}

function reference(name: string, value: number): Ratio {
  return { name, value, target: "(reference)", met: null };
}

function batches(timing: DroverTiming): string {
  return `${timing.meanBatch.toFixed(1)} steps per commit on average (max ${timing.maxBatch})`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}
