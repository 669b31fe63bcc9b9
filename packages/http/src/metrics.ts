import type { App, AttemptReport, MetricFamily, ResultReport, TimerReport } from "@drover/core";
import { OutboxStatus } from "@drover/core";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Readiness } from "./readiness.js";
import { ReadyStatus } from "./wire.js";

/**
 * The Prometheus metrics of one drover server, in a registry of its own (so two servers in
 * one process never share counters): events by machine and result kind, step latency,
 * outbox depth by status, dispatcher attempts by outcome, timers by status and their firings
 * by outcome, paused intent types, and readiness (`drover_ready`, as `GET /readyz` answers)
 * when a {@link Readiness} is handed in.
 */
export class DroverMetrics {
  readonly registry = new Registry();
  readonly #events: Counter<"machine" | "kind">;
  readonly #latency: Histogram<"machine">;
  readonly #attempts: Counter<"machine" | "intent" | "outcome">;
  readonly #attemptLatency: Histogram<"machine" | "intent">;
  readonly #firings: Counter<"machine" | "outcome">;
  readonly #unsubscribe: () => void;
  readonly #known: ReadonlySet<string>;
  readonly #app: App;

  constructor(app: App, readiness?: Readiness) {
    this.#app = app;
    // Label values come from our machine names only, never from what a caller typed.
    this.#known = new Set(app.machines.map((m) => m.name));
    const registers = [this.registry];
    this.#events = new Counter({
      name: "drover_events_total",
      help: "Events run, by machine and result kind",
      labelNames: ["machine", "kind"],
      registers,
    });
    this.#latency = new Histogram({
      name: "drover_step_duration_seconds",
      help: "Time to load, decide and save one event",
      labelNames: ["machine"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.#attempts = new Counter({
      name: "drover_dispatcher_attempts_total",
      help: "Intent executions attempted by the dispatcher, by outcome (done, retry, dead)",
      labelNames: ["machine", "intent", "outcome"],
      registers,
    });
    this.#attemptLatency = new Histogram({
      name: "drover_dispatcher_attempt_duration_seconds",
      help: "Time of one intent execution attempt, follow-ups included",
      labelNames: ["machine", "intent"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({
      name: "drover_outbox_intents",
      help: "Outbox rows by status (pending, dead, done)",
      labelNames: ["status"],
      registers,
      async collect() {
        const stats = await app.outboxStats();
        for (const [status, count] of Object.entries(stats)) this.set({ status }, count);
      },
    });
    new Gauge({
      name: "drover_outbox_oldest_pending_age_seconds",
      help: "Age of the oldest pending intent (0 when none is pending): how far the outbox lags",
      registers,
      async collect() {
        const [oldest] = await app.listOutbox({ status: OutboxStatus.Pending, limit: 1 });
        this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest.createdAt) / 1000));
      },
    });
    new Gauge({
      name: "drover_timers",
      help: "Timers by status (pending, fired, cancelled, dead)",
      labelNames: ["status"],
      registers,
      async collect() {
        const stats = await app.timerStats();
        for (const [status, count] of Object.entries(stats)) this.set({ status }, count);
      },
    });
    this.#firings = new Counter({
      name: "drover_timer_firings_total",
      help: "Timer firings by this process, by outcome (fired, retry, dead)",
      labelNames: ["machine", "outcome"],
      registers,
    });
    new Gauge({
      name: "drover_intent_types_paused",
      help: "Intent types an operator paused (drover outbox pause): their intents wait, keeping their attempts",
      registers,
      async collect() {
        this.set((await app.pausedIntentTypes()).length);
      },
    });
    new Gauge({
      name: "drover_intent_type_paused",
      help: "1 for each paused intent type, by name (absent: running)",
      labelNames: ["intent"],
      registers,
      async collect() {
        const rows = await app.pausedIntentTypes();
        this.reset();
        for (const { intentType } of rows) this.set({ intent: intentType }, 1);
      },
    });
    if (readiness !== undefined) {
      new Gauge({
        name: "drover_ready",
        help: "1 while GET /readyz answers ready (store commits, loops turn, components up), else 0",
        registers,
        async collect() {
          this.set((await readiness.check()).status === ReadyStatus.Ready ? 1 : 0);
        },
      });
    }
    this.#unsubscribe = app.observe({
      onResult: (report) => this.#onResult(report),
      onAttempt: (report) => this.#onAttempt(report),
      onTimer: (report) => this.#onTimer(report),
    });
  }

  #onResult({ machine: name, result, durationMs }: ResultReport): void {
    const machine = this.#known.has(name) ? name : "unknown";
    this.#events.inc({ machine, kind: result.kind });
    this.#latency.observe({ machine }, durationMs / 1000);
  }

  #onAttempt({ machine, intentType, outcome, durationMs }: AttemptReport): void {
    this.#attempts.inc({ machine, intent: intentType, outcome });
    this.#attemptLatency.observe({ machine, intent: intentType }, durationMs / 1000);
  }

  #onTimer({ machine, outcome }: TimerReport): void {
    this.#firings.inc({ machine: this.#known.has(machine) ? machine : "unknown", outcome });
  }

  /** The exposition text and its content type, the attached components' metrics after drover's. */
  async render(): Promise<{ contentType: string; body: string }> {
    const own = await this.registry.metrics();
    const components = await Promise.all(
      this.#app.components.map((component) => component.metrics?.().catch(() => []) ?? Promise.resolve([])),
    );
    return { contentType: this.registry.contentType, body: own + components.flat().map(exposition).join("") };
  }

  close(): void {
    this.#unsubscribe();
  }
}

/** One component's metric family in the Prometheus text format. */
function exposition(family: MetricFamily): string {
  const lines = [`# HELP ${family.name} ${family.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`];
  lines.push(`# TYPE ${family.name} ${family.type}`);
  for (const sample of family.samples) {
    const labels = Object.entries(sample.labels ?? {}).map(([key, value]) => `${key}="${escapeLabel(value)}"`);
    lines.push(`${family.name}${labels.length === 0 ? "" : `{${labels.join(",")}}`} ${sample.value}`);
  }
  return `${lines.join("\n")}\n`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}
