import type { Context, Tracer, TracerProvider } from "@opentelemetry/api";
import { context, SpanKind, trace } from "@opentelemetry/api";
import { Heartbeat } from "./heartbeat.js";
import type { Logger } from "./logger.js";
import type { Clock, TimerQueue, TimerRecord } from "./ports.js";
import { RunResultKind } from "./result.js";
import type { RunFunction } from "./run-options.js";
import { contextOfTraceParent, droverTracer, recordFailure, SpanName, setAttributes, TraceAttr } from "./tracing.js";
import type { Backoff, LeaseWorker, LoopProgress } from "./work-loop.js";
import { backoffDelay, describeError, leaseWorker, positive, WAITING, WorkLoop } from "./work-loop.js";

/** Settings of a {@link Scheduler}. */
export interface SchedulerSettings {
  /** This scheduler's name in leases (default host:pid:random). */
  readonly owner?: string;
  /** How long a claimed timer is ours (default 10 s), renewed every third of it while it fires. */
  readonly leaseMs?: number;
  /** Timers fired per claim (default 64). */
  readonly batchSize?: number;
  /** Sleep between polls when idle and not woken (default 1 s). */
  readonly pollMs?: number;
  /** Retry timing when firing fails (the store is down…): default 500 ms doubling to 60 s. */
  readonly backoff?: Backoff;
  /** Firings that failed before a timer is dead (kept, shown, retried by an operator): default 10. */
  readonly maxAttempts?: number;
  readonly random?: () => number;
}

/** How a timer's firing ended: a smart enum. */
export const TimerOutcome = { Fired: "fired", Retry: "retry", Dead: "dead" } as const;
export type TimerOutcome = (typeof TimerOutcome)[keyof typeof TimerOutcome];

/** One firing of a timer, as reported to observers (metrics, the live stream). */
export interface TimerReport {
  readonly timerId: string;
  readonly machine: string;
  readonly entityId: string;
  readonly outcome: TimerOutcome;
  /** Which firing it was (1 on the first). */
  readonly attempt: number;
  /** Why it failed (a retry or a dead timer). */
  readonly error?: string;
}

/** What a {@link Scheduler} is built from. */
export interface SchedulerOptions extends SchedulerSettings {
  readonly store: TimerQueue;
  readonly run: RunFunction;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Where `drover.timer.fire` spans go (default: the globally registered provider). */
  readonly tracerProvider?: TracerProvider;
  /** Called after every firing (metrics). Must not throw. */
  readonly onFire?: (report: TimerReport) => void;
}

/**
 * Fires due timers: each `Schedule { at, event }` intent becomes a timer row when its step
 * commits; once the clock passes `at`, the scheduler sends `event` to the entity with the
 * timer id as event id (so a timer fires its event at most once, even if it is claimed
 * again after a crash) and the timer's due time as the event's time. A firing that fails (the
 * store is down, the event keeps conflicting) is retried with backoff; after `maxAttempts` the
 * timer is dead, as is one whose event its machine no longer accepts (`invalid`).
 *
 * Catch-up: a timer due while no scheduler ran fires once, as soon as one runs, with its due
 * time as the event's time; timers missed together fire together, soonest first.
 *
 * @example
 * const scheduler = new Scheduler({ store, run: (ref, e, o) => runtime.run(ref, e, o) });
 * scheduler.start();
 */
export class Scheduler {
  readonly owner: string;
  readonly #store: TimerQueue;
  readonly #run: RunFunction;
  readonly #worker: LeaseWorker;
  readonly #batchSize: number;
  readonly #maxAttempts: number;
  readonly #loop: WorkLoop;
  readonly #tracer: Tracer;
  readonly #onFire: (report: TimerReport) => void;
  readonly #heartbeat: Heartbeat;

  constructor(options: SchedulerOptions) {
    this.#tracer = droverTracer(options.tracerProvider);
    this.#worker = leaseWorker("scheduler", options);
    this.owner = this.#worker.owner;
    this.#store = options.store;
    this.#run = options.run;
    this.#batchSize = positive("batchSize", options.batchSize ?? 64);
    this.#maxAttempts = positive("maxAttempts", options.maxAttempts ?? 10);
    this.#onFire = options.onFire ?? (() => {});
    const store = options.store;
    // A firing is one step, short as a rule; under a slow store a batch of them may not be.
    this.#heartbeat = new Heartbeat({
      role: "scheduler",
      everyMs: Math.max(1, Math.floor(this.#worker.leaseMs / 3)),
      renew: (ids) => store.renewTimerLeases(this.owner, ids, this.#worker.clock.now() + this.#worker.leaseMs),
      onError: (error) =>
        this.#worker.logger.warn({ err: error, owner: this.owner }, "scheduler: renewing the leases of timers failed"),
    });
    this.#loop = new WorkLoop(
      () => this.runOnce(),
      positive("pollMs", options.pollMs ?? 1000),
      (error) => this.#worker.logger.error({ err: error, owner: this.owner }, "scheduler: claiming timers failed"),
    );
  }

  /** Whether the background loop runs and when it last completed a round (readiness probes). */
  get progress(): LoopProgress {
    return this.#loop.progress();
  }

  /** Fire every timer due now (one batch); returns how many were claimed. */
  async runOnce(): Promise<number> {
    const now = this.#worker.clock.now();
    const timers = await this.#store.claimTimers({
      owner: this.owner,
      now,
      leaseMs: this.#worker.leaseMs,
      limit: this.#batchSize,
    });
    await Promise.all(timers.map((timer) => this.#fire(timer)));
    return timers.length;
  }

  start(): void {
    this.#loop.start();
  }

  /** A timer may have been scheduled: look now. */
  wake(): void {
    this.#loop.wake();
  }

  /** Stop polling; resolves once the batch being fired is done. */
  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** Record a failed firing: retried later, or dead (`dead`, or out of attempts). */
  async #retry(timer: TimerRecord, log: object, message: string, counts: boolean, dead = false): Promise<void> {
    const now = this.#worker.clock.now();
    const gaveUp = dead || (counts && timer.attempts >= this.#maxAttempts);
    const retryAt = gaveUp
      ? null
      : now + backoffDelay(counts ? timer.attempts : WAITING, this.#worker.backoff, this.#worker.random);
    if (gaveUp)
      this.#worker.logger.error({ ...log, error: message, attempt: timer.attempts }, "scheduler: timer is dead");
    else
      this.#worker.logger.warn(
        { ...log, error: message, retryAt },
        counts ? "scheduler: firing a timer failed; will retry" : "scheduler: a timer waits for code that can read it",
      );
    this.#report(timer, gaveUp ? TimerOutcome.Dead : TimerOutcome.Retry, message);
    const failure = { error: message, now, retryAt, counts };
    await this.#store.failTimer(timer.timerId, this.owner, failure).catch((error: unknown) => {
      this.#worker.logger.error(
        { ...log, err: error },
        "scheduler: could not record a failed timer; its lease will expire",
      );
    });
  }

  /** Fire one timer in a `drover.timer.fire` span that continues the trace of the step that set it. */
  async #fire(timer: TimerRecord): Promise<void> {
    const span = this.#tracer.startSpan(
      SpanName.TimerFire,
      { kind: SpanKind.INTERNAL },
      contextOfTraceParent(timer.traceParent, context.active()),
    );
    const now = this.#worker.clock.now();
    setAttributes(span, () => ({
      [TraceAttr.Machine]: timer.machine,
      [TraceAttr.EntityId]: timer.entityId,
      [TraceAttr.TimerId]: timer.timerId,
      [TraceAttr.DueAt]: new Date(timer.dueAt).toISOString(),
      [TraceAttr.LatenessMs]: Math.max(0, now - timer.dueAt),
      [TraceAttr.Attempt]: timer.attempts,
    }));
    const traced = trace.setSpan(context.active(), span);
    // A lost lease needs no stop here: the timer's event id makes a second firing a duplicate.
    this.#heartbeat.hold(timer.timerId);
    try {
      await context.with(traced, () => this.#fireIn(timer, traced));
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      this.#heartbeat.release(timer.timerId);
      span.end();
    }
  }

  async #fireIn(timer: TimerRecord, traced: Context): Promise<void> {
    const log = { timerId: timer.timerId, machine: timer.machine, entityId: timer.entityId, dueAt: timer.dueAt };
    try {
      const result = await this.#run({ machine: timer.machine, id: timer.entityId }, timer.event, {
        eventId: timer.timerId,
        at: timer.dueAt,
        eventVersion: timer.eventVersion,
        trace: traced,
      });
      switch (result.kind) {
        case RunResultKind.Processed:
        case RunResultKind.Duplicate:
          this.#worker.logger.debug(log, "scheduler: timer fired");
          break;
        case RunResultKind.Rejected:
          this.#worker.logger.info({ ...log, reason: result.reason }, "scheduler: timer fired; its event was rejected");
          break;
        case RunResultKind.NotFound:
          this.#worker.logger.warn(log, "scheduler: timer fired for an entity that does not exist");
          break;
        case RunResultKind.Invalid:
          // The timer's event no longer fits its machine (a schema changed): retrying cannot
          // help, so it is dead at once, kept for an operator with the reason.
          await this.#retry(timer, { ...log, issues: result.issues }, `invalid event: ${result.message}`, true, true);
          return;
        case RunResultKind.Conflict:
          throw new Error(`the timer's event kept conflicting after ${result.attempts} attempts`);
        case RunResultKind.Unreadable:
          // The entity (or the timer's event) is at a version this code cannot read: the
          // timer waits, uncounted, for code that can, instead of firing into the void.
          await this.#retry(timer, log, result.message, false);
          return;
        default: {
          const exhaustive: never = result;
          throw new Error(`unknown result ${JSON.stringify(exhaustive)}`);
        }
      }
      if (!(await this.#store.completeTimer(timer.timerId, this.owner, this.#worker.clock.now()))) {
        this.#worker.logger.warn(
          log,
          "scheduler: lost the lease of a timer after firing it (its event id makes a re-fire harmless)",
        );
      }
      this.#report(timer, TimerOutcome.Fired);
    } catch (error) {
      await this.#retry(timer, log, describeError(error), true);
    }
  }

  #report(timer: TimerRecord, outcome: TimerOutcome, error?: string): void {
    this.#onFire({
      timerId: timer.timerId,
      machine: timer.machine,
      entityId: timer.entityId,
      outcome,
      attempt: timer.attempts,
      ...(error === undefined ? {} : { error }),
    });
  }
}
