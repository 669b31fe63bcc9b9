import type { TracerProvider } from "@opentelemetry/api";
import type { AttemptReport, DispatcherSettings } from "./dispatcher.js";
import type { Effects } from "./effects.js";
import type { Logger } from "./logger.js";
import type { AnyMachine } from "./machine.js";
import type { Clock, IdGenerator, Store } from "./ports.js";
import type { RecurringSchedule } from "./recurring.js";
import type { RunResult } from "./result.js";
import type { SchedulerSettings, TimerReport } from "./scheduler.js";
import type { PurityMode } from "./step.js";

/** One event's result, as reported to observers (metrics, logs). */
export interface ResultReport {
  readonly machine: string;
  /** The entity id as the caller gave it. */
  readonly id: string;
  /** The event as the caller gave it (not parsed: it may be what `invalid` refused). */
  readonly event: unknown;
  readonly result: RunResult;
  readonly durationMs: number;
}

/** Listens to what an {@link App} does; every method optional, none may throw. */
export interface AppObserver {
  onResult?(report: ResultReport): void;
  /** Every attempt at an intent; `outcome: "dead"` is a dead-lettering as it happens. */
  onAttempt?(report: AttemptReport): void;
  /** Every firing of a timer; `outcome: "dead"` is a timer given up as it happens. */
  onTimer?(report: TimerReport): void;
}

/** What an {@link App} is wired from. */
export interface AppOptions {
  readonly store: Store;
  readonly machines: readonly AnyMachine[];
  /** Effect handlers, one {@link Effects} per machine that has intents to perform. */
  readonly effects?: readonly Effects[];
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  /** Default: JSON lines on stderr from level `info`. pino loggers fit. */
  readonly logger?: Logger;
  readonly purity?: PurityMode;
  /** Loads and decisions per event before `conflict` (default 10). */
  readonly maxAttempts?: number;
  readonly dispatcher?: DispatcherSettings;
  readonly scheduler?: SchedulerSettings;
  /**
   * Where drover's spans go (`drover.run`, `drover.commit`, `drover.intent.attempt`,
   * `drover.timer.fire`). Default: the provider the application registered with the
   * OpenTelemetry API; drover never registers one itself.
   */
  readonly tracerProvider?: TracerProvider;
  /**
   * Events sent on cron schedules (see {@link RecurringEvents}): each occurrence once across
   * any number of processes; after downtime the latest missed occurrence fires once.
   */
  readonly recurring?: readonly RecurringSchedule[];
  /**
   * This process's instance name: stable across its restarts, unique among the processes on
   * the store (e.g. `pay-eu-1`, or host + data dir + port, as `drover serve` defaults it).
   * With it, lease owners are `<instance>#<incarnation>:<role>` and `start()` frees at once the
   * leases an earlier incarnation held (a kill -9), instead of waiting for them to run out.
   * Without it, owners are random per process and nothing is freed. 1–200 printable ASCII
   * characters, no spaces, no `#`.
   */
  readonly instance?: string;
}
