import type { Context, Tracer, TracerProvider } from "@opentelemetry/api";
import { context, SpanKind, trace } from "@opentelemetry/api";
import type { AttemptReport, Settled } from "./attempt-report.js";
import { AttemptOutcome, endAttemptSpan } from "./attempt-report.js";
import { attemptEffect, stoppingController } from "./effect-attempt.js";
import type { Admission, EffectLimit } from "./effect-limits.js";
import { EffectGate } from "./effect-limits.js";
import { effectRegistry, handlerKey } from "./effect-registry.js";
import type { EffectHandler, Effects } from "./effects.js";
import { LeaseLostError, PermanentEffectError } from "./errors.js";
import { applyFollowUps, tellIntentFailed, UnreadableFollowUp } from "./follow-ups.js";
import { Heartbeat } from "./heartbeat.js";
import type { Logger } from "./logger.js";
import type { Typed } from "./machine.js";
import type { Clock, IntentControls, OutboxQueue, OutboxRecord } from "./ports.js";
import type { RunFunction } from "./run-options.js";
import { contextOfTraceParent, droverTracer, SpanName } from "./tracing.js";
import type { Backoff, LeaseWorker, LoopProgress } from "./work-loop.js";
import { backoffDelay, describeError, leaseWorker, positive, WAITING, WorkLoop } from "./work-loop.js";

export type { AttemptReport } from "./attempt-report.js";
export { AttemptOutcome } from "./attempt-report.js";
export type { RunFunction } from "./run-options.js";

/** Settings of a {@link Dispatcher}. */
export interface DispatcherSettings {
  /** This dispatcher's name in leases; unique per process (default host:pid:random). */
  readonly owner?: string;
  /**
   * How long a claimed intent is ours before another dispatcher may take it (default 10 s). It
   * is renewed every third of it while the intent runs (the heartbeat), so it bounds how long
   * a crashed process's intents wait for another process, not how long a handler may run.
   */
  readonly leaseMs?: number;
  /** Attempts before an intent is dead-lettered (default 10). */
  readonly maxAttempts?: number;
  readonly backoff?: Backoff;
  /** A handler attempt that takes longer fails (default 10 s). */
  readonly timeoutMs?: number;
  /** Intents executed at once (default 16). */
  readonly concurrency?: number;
  /** Sleep between polls when idle and not woken (default 1 s). */
  readonly pollMs?: number;
  /** Jitter source (default Math.random). */
  readonly random?: () => number;
}

/** What a {@link Dispatcher} is built from. */
export interface DispatcherOptions extends DispatcherSettings {
  readonly store: OutboxQueue & IntentControls;
  readonly run: RunFunction;
  readonly effects: readonly Effects[];
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Called after every attempt (metrics). Must not throw. */
  readonly onAttempt?: (report: AttemptReport) => void;
  /** Where `drover.intent.attempt` spans go (default: the globally registered provider). */
  readonly tracerProvider?: TracerProvider;
  /**
   * Machines whose entities hear about their dead letters: when an intent of one of them is
   * dead-lettered, its entity gets an `IntentFailed` event first (see {@link IntentFailedEvent}).
   */
  readonly hearFailures?: ReadonlySet<string>;
}

/**
 * Drains the outbox: leases due intents, runs their effect handlers, applies the follow-up
 * events they return, marks them done; retries failures with exponential backoff and
 * jitter and dead-letters an intent after `maxAttempts`. An entity's intents run in commit
 * order; intents of different entities run concurrently. Safe with many dispatchers on one
 * store: a row belongs to whoever holds its lease.
 *
 * @example
 * const dispatcher = new Dispatcher({ store, run: (ref, e, o) => runtime.run(ref, e, o), effects: [doorEffects] });
 * dispatcher.start();
 * // …
 * await dispatcher.stop();
 */
export class Dispatcher {
  readonly owner: string;
  readonly #store: OutboxQueue & IntentControls;
  readonly #run: RunFunction;
  readonly #handlers: ReadonlyMap<string, EffectHandler<Typed>>;
  readonly #limits: ReadonlyMap<string, readonly EffectLimit<Typed>[]>;
  readonly #gate: EffectGate;
  readonly #worker: LeaseWorker;
  readonly #maxAttempts: number;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #loop: WorkLoop;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #onAttempt: (report: AttemptReport) => void;
  readonly #tracer: Tracer;
  readonly #hearFailures: ReadonlySet<string>;
  readonly #heartbeat: Heartbeat;
  #stopping = stoppingController();

  constructor(options: DispatcherOptions) {
    this.#worker = leaseWorker("dispatcher", options);
    this.owner = this.#worker.owner;
    this.#store = options.store;
    this.#run = options.run;
    this.#maxAttempts = positive("maxAttempts", options.maxAttempts ?? 10);
    this.#timeoutMs = positive("timeoutMs", options.timeoutMs ?? 10_000);
    this.#concurrency = positive("concurrency", options.concurrency ?? 16);
    this.#onAttempt = options.onAttempt ?? (() => {});
    this.#tracer = droverTracer(options.tracerProvider);
    this.#hearFailures = options.hearFailures ?? new Set();
    const { handlers, limits } = effectRegistry(options.effects);
    this.#handlers = handlers;
    this.#limits = limits;
    // A slot outlives the longest attempt (the timeout) by a lease: it is given back when the
    // attempt ends, and its lease only frees the slots of a process that died holding them.
    const slotLeaseMs = this.#timeoutMs + this.#worker.leaseMs;
    this.#gate = new EffectGate(options.store, this.owner, slotLeaseMs, this.#worker.random);
    const store = options.store;
    this.#heartbeat = new Heartbeat({
      role: "dispatcher",
      everyMs: Math.max(1, Math.floor(this.#worker.leaseMs / 3)),
      renew: (ids) => store.renewOutboxLeases(this.owner, ids, this.#worker.clock.now() + this.#worker.leaseMs),
      onError: (error) =>
        this.#worker.logger.warn(
          { err: error, owner: this.owner, held: this.#heartbeat.size },
          "dispatcher: renewing the leases of running intents failed; they run out unless a later round succeeds",
        ),
    });
    this.#loop = new WorkLoop(
      () => this.#fill(),
      positive("pollMs", options.pollMs ?? 1000),
      (error) => this.#worker.logger.error({ err: error, owner: this.owner }, "dispatcher: claiming intents failed"),
    );
  }

  /** True when a handler is registered for this machine's intent type. */
  serves(machine: string, intentType: string): boolean {
    return this.#handlers.has(handlerKey(machine, intentType));
  }

  /** Whether the background loop runs and when it last completed a round (readiness probes). */
  get progress(): LoopProgress {
    return this.#loop.progress();
  }

  /** Intents being executed right now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Claim what is due now (up to the concurrency), execute it all and wait for it. Returns
   * how many intents were handled. For tests and `App.idle`; the background loop does the same.
   */
  async runOnce(): Promise<number> {
    const rows = await this.#claim(this.#concurrency);
    await Promise.all(rows.map((row) => this.#execute(row)));
    return rows.length;
  }

  /** Start the background loop. */
  start(): void {
    if (this.#stopping.signal.aborted) this.#stopping = stoppingController();
    this.#loop.start();
  }

  /** There may be new intents (a step just committed): look now instead of at the next poll. */
  wake(): void {
    this.#loop.wake();
  }

  /**
   * Stop claiming, wait for the intents in flight up to `timeoutMs` (default 10 s), then
   * abort the stragglers (their attempt fails and is retried after a restart).
   */
  async stop(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const stopped = this.#loop.stop();
    const drained = Promise.all([stopped, ...this.#inFlight]).then(() => true);
    const timedOut = await Promise.race([drained, delay(options.timeoutMs ?? 10_000).then(() => false)]);
    if (!timedOut) {
      this.#stopping.abort(new Error("the dispatcher is stopping"));
      await Promise.all([stopped, ...this.#inFlight]);
    }
  }

  /** Keep up to `concurrency` intents in flight; returns how many were started. */
  async #fill(): Promise<number> {
    const free = this.#concurrency - this.#inFlight.size;
    if (free <= 0) return 0;
    const rows = await this.#claim(free);
    for (const row of rows) {
      const running = this.#execute(row).finally(() => {
        this.#inFlight.delete(running);
        // A finished intent may unblock the next one of its entity.
        this.#loop.wake();
      });
      this.#inFlight.add(running);
    }
    return rows.length;
  }

  #claim(limit: number): Promise<OutboxRecord[]> {
    return this.#store.claimOutbox({
      owner: this.owner,
      now: this.#worker.clock.now(),
      leaseMs: this.#worker.leaseMs,
      limit,
    });
  }

  /** Never rejects: whatever goes wrong is recorded on the row or logged. */
  async #execute(row: OutboxRecord): Promise<void> {
    const lease = this.#heartbeat.hold(row.intentId);
    try {
      await this.#executeOrThrow(row, lease);
    } catch (error) {
      this.#worker.logger.error(
        { err: error, intentId: row.intentId },
        "dispatcher: could not record the outcome of an intent; its lease will expire and it runs again",
      );
    } finally {
      this.#heartbeat.release(row.intentId);
    }
  }

  async #executeOrThrow(row: OutboxRecord, lease: AbortSignal): Promise<void> {
    const started = performance.now();
    const intentType = (row.intent as unknown as Typed).type;
    // The attempt continues the trace of the step that decided the intent, whenever and
    // wherever that was: its traceparent was stored with the row.
    const span = this.#tracer.startSpan(
      SpanName.IntentAttempt,
      { kind: SpanKind.INTERNAL },
      contextOfTraceParent(row.traceParent, context.active()),
    );
    const traced = trace.setSpan(context.active(), span);
    let settled: Settled | undefined;
    try {
      settled = await context.with(traced, () => this.#settle(row, traced, lease));
    } finally {
      endAttemptSpan(span, row, intentType, settled);
    }
    const { outcome, error } = settled;
    // Waiting for a limit is not an attempt: nothing ran, nothing is counted.
    if (settled.deferred === true) return;
    this.#onAttempt({
      machine: row.machine,
      entityId: row.entityId,
      intentId: row.intentId,
      intentType,
      outcome,
      attempt: row.attempts,
      ...(error === undefined ? {} : { error }),
      durationMs: performance.now() - started,
    });
  }

  /** Run one claimed intent and record how it ended. */
  async #settle(row: OutboxRecord, traced: Context, lease: AbortSignal): Promise<Settled> {
    const intent = row.intent as unknown as Typed;
    const log = { intentId: row.intentId, machine: row.machine, entityId: row.entityId, intent: intent.type };
    const handler = this.#handlers.get(handlerKey(row.machine, intent.type));
    if (handler === undefined) {
      const message = `no effect handler for ${row.machine} intent ${intent.type}: register one with defineEffects(${row.machine}, { ${intent.type}: … })`;
      await this.#deadLetter(row, intent.type, row.attempts, message, traced);
      return { outcome: AttemptOutcome.Dead, error: message };
    }
    if (row.attempts > this.#maxAttempts) {
      // Its lease ran out more often than it may be tried: the process died or the handler hung.
      const message = `gave up after ${row.attempts - 1} attempts; the last ended without an answer (process killed or hung?)${row.lastError ? `; error before: ${row.lastError}` : ""}`;
      await this.#deadLetter(row, intent.type, row.attempts - 1, message, traced);
      return { outcome: AttemptOutcome.Dead, error: message };
    }
    const limits = this.#limits.get(handlerKey(row.machine, intent.type)) ?? [];
    const admission = await this.#gate.admit(limits, row.machine, intent, row.intentId, this.#worker.clock.now());
    if (!admission.admitted) return this.#wait(row, admission);
    try {
      return await this.#attemptAndSettle(row, intent, handler, traced, lease);
    } finally {
      await admission.release().catch((error: unknown) => {
        this.#worker.logger.warn({ ...log, err: error }, "dispatcher: could not give back a limit's slot (it expires)");
      });
    }
  }

  /** An intent over its limits waits, its attempt not counted, until there may be room. */
  async #wait(row: OutboxRecord, admission: Extract<Admission, { admitted: false }>): Promise<Settled> {
    const now = this.#worker.clock.now();
    const retryAt = now + admission.waitMs;
    const failure = { error: admission.reason, now, retryAt, counts: false };
    await this.#store.failOutbox(row.intentId, this.owner, failure);
    this.#worker.logger.debug(
      { intentId: row.intentId, retryAt, reason: admission.reason },
      "dispatcher: intent waits",
    );
    return { outcome: AttemptOutcome.Retry, retryAt, deferred: true };
  }

  async #attemptAndSettle(
    row: OutboxRecord,
    intent: Typed,
    handler: EffectHandler<Typed>,
    traced: Context,
    lease: AbortSignal,
  ): Promise<Settled> {
    const log = { intentId: row.intentId, machine: row.machine, entityId: row.entityId, intent: intent.type };
    try {
      const ctx = { intentId: row.intentId, machine: row.machine, entityId: row.entityId, attempt: row.attempts };
      const followUps = await attemptEffect(handler, intent, ctx, lease, this.#stopping.signal, this.#timeoutMs);
      await applyFollowUps(this.#run, this.#worker.logger, row, followUps ?? [], traced);
      if (!(await this.#store.completeOutbox(row.intentId, this.owner, this.#worker.clock.now()))) {
        this.#worker.logger.warn(
          log,
          "dispatcher: lost the lease of an intent before finishing it; another dispatcher retries it",
        );
        return { outcome: AttemptOutcome.Retry };
      }
      this.#worker.logger.debug({ ...log, attempt: row.attempts }, "dispatcher: intent done");
      return { outcome: AttemptOutcome.Done };
    } catch (error) {
      if (error instanceof LeaseLostError) {
        // Another dispatcher holds the row now: this attempt records nothing (it could not:
        // every settle checks the lease), dead-letters nothing, and leaves the row to it.
        this.#worker.logger.warn({ ...log, attempt: row.attempts }, error.message);
        return { outcome: AttemptOutcome.Retry, error: error.message };
      }
      if (error instanceof UnreadableFollowUp) {
        // Not the intent's fault: it waits, uncounted, for code that can read the entity.
        const retryAt = await this.#fail(row, error.message, false, false);
        return { outcome: AttemptOutcome.Retry, retryAt };
      }
      const dead = error instanceof PermanentEffectError || row.attempts >= this.#maxAttempts;
      const message = describeError(error);
      if (dead) {
        await this.#deadLetter(row, intent.type, row.attempts, message, traced);
        return { outcome: AttemptOutcome.Dead, retryAt: null, error: message };
      }
      const retryAt = await this.#fail(row, message, false);
      return { outcome: AttemptOutcome.Retry, retryAt, error: message };
    }
  }

  /**
   * Give an intent up: tell its entity first (an `IntentFailed` event, when its machine hears
   * failures), then mark the row dead. In that order, so a crash in between leaves the row
   * leased: it is claimed again once the lease runs out, found out of attempts and given up
   * again, and the event, whose id is derived from the intent's, is answered as a duplicate.
   * If the event cannot be applied (the store is down), this throws and the row stays leased
   * for the same reason.
   */
  async #deadLetter(row: OutboxRecord, intentType: string, attempts: number, error: string, traced: Context) {
    if (this.#hearFailures.has(row.machine)) {
      await tellIntentFailed(this.#run, this.#worker.logger, row, { intentType, attempts, error }, traced);
    }
    await this.#fail(row, error, true);
  }

  /** Record a failed attempt; the time it is retried at (`null`: dead-lettered). */
  async #fail(row: OutboxRecord, error: string, dead: boolean, counts = true): Promise<number | null> {
    const now = this.#worker.clock.now();
    const attempt = counts ? row.attempts : WAITING;
    const retryAt = dead ? null : now + backoffDelay(attempt, this.#worker.backoff, this.#worker.random);
    const log = { intentId: row.intentId, machine: row.machine, entityId: row.entityId, attempt: row.attempts, error };
    if (!(await this.#store.failOutbox(row.intentId, this.owner, { error, now, retryAt, counts }))) {
      this.#worker.logger.warn(log, "dispatcher: lost the lease of a failed intent; another dispatcher retries it");
    } else if (retryAt === null) {
      this.#worker.logger.error(log, "dispatcher: intent dead-lettered");
    } else {
      this.#worker.logger.warn({ ...log, retryAt }, "dispatcher: intent failed; will retry");
    }
    return retryAt;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
