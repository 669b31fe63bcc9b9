import type { AppObserver, AppOptions } from "./app-options.js";
import { AppQueries } from "./app-queries.js";
import { systemClock } from "./clock.js";
import type { Component } from "./component.js";
import { Dispatcher } from "./dispatcher.js";
import { declaredIntentTypes } from "./effects.js";
import { ConfigurationError } from "./errors.js";
import { hearsIntentFailures } from "./intent-failed.js";
import { LeaseIdentity } from "./lease-owner.js";
import type { Logger } from "./logger.js";
import { jsonLogger } from "./logger.js";
import type { AnyMachine, Typed } from "./machine.js";
import type { Clock, OutboxRecord, Store } from "./ports.js";
import { OutboxStatus } from "./ports.js";
import { RecurringEvents } from "./recurring.js";
import type { IntentRecord, RunResult } from "./result.js";
import { RunResultKind } from "./result.js";
import type { RunOptions } from "./run-options.js";
import { Runtime } from "./runtime.js";
import { isCancelSchedule, isSchedule } from "./schedule.js";
import { Scheduler } from "./scheduler.js";
import type { TypedClient } from "./typed-client.js";
import { typedClient } from "./typed-client.js";
import type { UpgradeOptions, UpgradeReport } from "./upgrade.js";
import { upgradeMachine } from "./upgrade.js";

export type { AppObserver, AppOptions, ResultReport } from "./app-options.js";

/**
 * A drover application: machines, a store, effect handlers, the dispatcher that executes
 * intents and the scheduler that fires timers. `run` applies an event and wakes the
 * dispatcher right after the commit; polling is only the fallback.
 *
 * @example
 * // In production, a store of its own package: SqliteStore.open({ path: "./data/drover.db" }) (@drover/sqlite).
 * const app = new App({ store: new MemoryStore(), machines: [doors], effects: [doorEffects] });
 * await app.start();
 * await app.run({ machine: "doors", id: "door_1" }, { type: "Install" });
 * await app.stop();
 */
export class App extends AppQueries {
  readonly #store: Store;
  readonly #runtime: Runtime;
  readonly dispatcher: Dispatcher;
  readonly scheduler: Scheduler;
  readonly recurring: RecurringEvents;
  readonly logger: Logger;
  readonly #clock: Clock;
  readonly #machines: readonly AnyMachine[];
  readonly #observers = new Set<AppObserver>();
  readonly #components = new Map<string, Component>();
  #started = false;
  #unwatch: (() => void) | undefined;
  /** Present when the app was given an instance name. */
  readonly identity: LeaseIdentity | undefined;

  constructor(options: AppOptions) {
    super(options.store);
    this.#store = options.store;
    this.logger = options.logger ?? jsonLogger("info");
    this.#clock = options.clock ?? systemClock;
    this.#machines = options.machines;
    this.#runtime = new Runtime({
      store: options.store,
      machines: options.machines,
      clock: this.#clock,
      ...(options.ids === undefined ? {} : { ids: options.ids }),
      ...(options.purity === undefined ? {} : { purity: options.purity }),
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
      ...(options.tracerProvider === undefined ? {} : { tracerProvider: options.tracerProvider }),
    });
    const effects = options.effects ?? [];
    for (const e of effects) {
      if (!this.#runtime.machines.has(e.machine)) {
        throw new ConfigurationError(`effects are registered for machine "${e.machine}", which is not in this app`);
      }
    }
    const run = this.run.bind(this);
    this.identity = options.instance === undefined ? undefined : LeaseIdentity.of(options.instance);
    if (this.identity !== undefined && (options.dispatcher?.owner ?? options.scheduler?.owner) !== undefined) {
      throw new ConfigurationError("give the app an instance or its dispatcher and scheduler owners, not both");
    }
    this.dispatcher = new Dispatcher({
      ...options.dispatcher,
      ...(this.identity === undefined ? {} : { owner: this.identity.owner("dispatcher") }),
      store: options.store,
      run,
      effects,
      clock: this.#clock,
      logger: this.logger,
      ...(options.tracerProvider === undefined ? {} : { tracerProvider: options.tracerProvider }),
      onAttempt: (report) => {
        for (const observer of this.#observers) observer.onAttempt?.(report);
      },
      hearFailures: new Set(options.machines.filter(hearsIntentFailures).map((machine) => machine.name)),
    });
    this.recurring = new RecurringEvents({
      schedules: options.recurring ?? [],
      run,
      clock: this.#clock,
      logger: this.logger,
    });
    for (const { machine } of options.recurring ?? []) {
      if (!this.#runtime.machines.has(machine)) {
        throw new ConfigurationError(`a schedule sends events to machine "${machine}", which is not in this app`);
      }
    }
    this.scheduler = new Scheduler({
      ...options.scheduler,
      ...(this.identity === undefined ? {} : { owner: this.identity.owner("scheduler") }),
      store: options.store,
      run,
      clock: this.#clock,
      logger: this.logger,
      onFire: (report) => {
        for (const observer of this.#observers) observer.onTimer?.(report);
      },
      ...(options.tracerProvider === undefined ? {} : { tracerProvider: options.tracerProvider }),
    });
  }

  /**
   * Apply one event (see {@link Runtime.run}); when it produced intents, wake the dispatcher at
   * once, and the scheduler when a timer it set is already due (a later one fires at the
   * scheduler's next poll either way: a wake-up for a timer due in a week was a claim per step).
   */
  async run(
    ref: { readonly machine: string; readonly id: string },
    event: unknown,
    options?: RunOptions,
  ): Promise<RunResult> {
    const started = performance.now();
    const result = await this.#runtime.run(ref, event, options);
    if (this.#observers.size > 0) {
      const report = { machine: ref.machine, id: ref.id, event, result, durationMs: performance.now() - started };
      for (const observer of this.#observers) observer.onResult?.(report);
    }
    if (result.kind === RunResultKind.Processed && result.intents.length > 0) this.#wakeFor(result.intents);
    return result;
  }

  /**
   * A client of one of this app's machines whose `run(id, event)` is type-checked against the
   * machine's events and answers with its state type; it runs through {@link App.run}
   * (observers, wake-ups). A {@link ConfigurationError} for a machine not in this app.
   *
   * @example
   * const client = app.for(doors);
   * await client.run("door_1", { type: "Install" }, { eventId: "install-door_1" });
   */
  for<M extends AnyMachine>(machine: M): TypedClient<M> {
    return typedClient(machine, this.#runtime.machines, "app", (ref, event, options) => this.run(ref, event, options));
  }

  #wakeFor(intents: readonly IntentRecord[]): void {
    let outbox = false;
    let dueTimer = false;
    const now = this.#clock.now();
    for (const { intent } of intents) {
      // Stored intents are JSON; the machine's schema made each one a typed object.
      const typed = intent as unknown as Typed;
      if (isSchedule(typed)) dueTimer ||= typed.at <= now;
      else if (!isCancelSchedule(typed)) outbox = true;
    }
    if (outbox) this.dispatcher.wake();
    if (dueTimer) this.scheduler.wake();
  }

  /** Start reporting to `observer`; returns a function that stops it. */
  observe(observer: AppObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /**
   * Attach a component (a broker transport, say) whose health and metrics the operator
   * surfaces report; returns a function that detaches it. Names are unique.
   */
  attach(component: Component): () => void {
    if (this.#components.has(component.name)) {
      throw new ConfigurationError(`a component named "${component.name}" is already attached`);
    }
    this.#components.set(component.name, component);
    return () => this.#components.delete(component.name);
  }

  /** The attached components, in the order they were attached. */
  get components(): readonly Component[] {
    return [...this.#components.values()];
  }

  /**
   * Prove the store can commit now (see `Store.probe`): resolves, or throws why it cannot.
   * A store without a probe resolves.
   */
  async probeStore(): Promise<void> {
    await this.#store.probe?.();
  }

  /** The machines of this app. */
  get machines(): readonly AnyMachine[] {
    return this.#machines;
  }

  /** The machine named `name`, or `undefined` when this app has none by that name. */
  machine(name: string): AnyMachine | undefined {
    return this.#runtime.machines.get(name);
  }

  /**
   * Check (and with `apply`, rewrite) the stored states of a machine against the running code:
   * see {@link upgradeMachine}. Throws a `ConfigurationError` for an unknown machine.
   */
  upgrade(machineName: string, options: UpgradeOptions = {}): Promise<UpgradeReport> {
    const machine = this.machine(machineName);
    if (machine === undefined) {
      const known = this.machines.map((m) => m.name).join(", ");
      return Promise.reject(new ConfigurationError(`unknown machine "${machineName}" (known: ${known})`));
    }
    return upgradeMachine(this.#store, machine, options);
  }

  /** Intent types the machines declare that no effect handler serves (they would be dead-lettered). */
  unservedIntents(): { machine: string; intents: string[] }[] {
    return this.#machines.flatMap((machine) => {
      const unserved = (declaredIntentTypes(machine) ?? []).filter(
        (type) => !this.dispatcher.serves(machine.name, type),
      );
      return unserved.length === 0 ? [] : [{ machine: machine.name, intents: unserved }];
    });
  }

  /** Start the dispatcher and scheduler loops (warns about intents nobody serves). */
  async start(): Promise<void> {
    if (this.#started) return;
    for (const { machine, intents } of this.unservedIntents()) {
      this.logger.warn(
        { machine, intents },
        `machine "${machine}" declares intents that no effect handler serves; they will be dead-lettered: ${intents.join(", ")}`,
      );
    }
    this.#started = true;
    await this.#releaseEarlierLeases();
    this.#unwatch = this.#store.watch?.(() => {
      this.dispatcher.wake();
      this.scheduler.wake();
    });
    this.dispatcher.start();
    this.scheduler.start();
    this.recurring.start();
  }

  /**
   * Free what this instance's earlier incarnations held (after a kill -9 their intents and
   * timers run now, not when their leases run out). A failure only delays them: logged.
   */
  async #releaseEarlierLeases(): Promise<void> {
    if (this.identity === undefined) return;
    const { instance, incarnation } = this.identity;
    try {
      const freed = await this.#store.releaseLeases(this.identity.release);
      if (freed.outbox + freed.timers > 0) {
        this.logger.info(
          { instance, incarnation, intents: freed.outbox, timers: freed.timers },
          "freed the leases of this instance's previous run: its intents and timers run again now",
        );
      }
    } catch (error) {
      this.logger.warn(
        { err: error, instance, incarnation },
        "could not free the leases of this instance's previous run; they are retried when the leases run out",
      );
    }
  }

  /**
   * Stop the loops and wait for the intents in flight, at most `timeoutMs` (default 10 s);
   * stragglers are aborted and retried after the next start. Does not close the store.
   */
  async stop(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    this.#started = false;
    this.#unwatch?.();
    this.#unwatch = undefined;
    await Promise.all([this.dispatcher.stop(options), this.scheduler.stop(), this.recurring.stop()]);
  }

  /**
   * Resolve once nothing is due: no outbox row or timer whose time has come, and no intent in
   * flight. Rows waiting for a later retry and future timers do not count. Drives the work
   * itself, so it also works before `start()`. Rejects after `timeoutMs` (default 30 s).
   */
  async idle(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const [intents, timers] = await Promise.all([this.dispatcher.runOnce(), this.scheduler.runOnce()]);
      if (intents === 0 && timers === 0 && this.dispatcher.inFlight === 0) return;
      if (Date.now() > deadline)
        throw new Error(`the app did not become idle within ${options.timeoutMs ?? 30_000} ms`);
      if (intents === 0 && timers === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * Resolve once no intent is pending at all (dead letters aside) and nothing is due: unlike
   * {@link App.idle}, it also waits out intents whose retry time lies ahead, on the app's
   * clock — so with a hand-driven test clock, advance it or use `idle`. Rejects after
   * `timeoutMs` (default 30 s).
   */
  async settled(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.idle({ timeoutMs: Math.max(1, deadline - Date.now()) });
      const pending = await this.#store.listOutbox({ status: OutboxStatus.Pending, limit: 1 });
      if (pending.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`intents were still pending after ${timeoutMs} ms (first: ${pending[0]?.intentId})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Intents that failed for good, with their last error. */
  deadLetters(limit = 100): Promise<OutboxRecord[]> {
    return this.#store.listOutbox({ status: OutboxStatus.Dead, limit });
  }

  /** Give a dead-lettered intent a fresh set of attempts. `false` if it is not dead. */
  async retryDeadLetter(intentId: string): Promise<boolean> {
    const revived = await this.#store.retryDead(intentId, this.#clock.now());
    if (revived) this.dispatcher.wake();
    return revived;
  }

  /** Give a dead timer a fresh set of attempts, due now. `false` if it is not dead. */
  async retryDeadTimer(timerId: string): Promise<boolean> {
    const revived = await this.#store.retryDeadTimer(timerId, this.#clock.now());
    if (revived) this.scheduler.wake();
    return revived;
  }

  /**
   * Pause an intent type for every process on the store: its intents stay pending, keeping
   * their attempts, until {@link App.resumeIntentType}. `false` if it was already paused.
   */
  pauseIntentType(intentType: string): Promise<boolean> {
    return this.#store.pauseIntentType(intentType, this.#clock.now());
  }

  /** Resume a paused intent type (its due intents run at once). `false` if it was not paused. */
  async resumeIntentType(intentType: string): Promise<boolean> {
    const resumed = await this.#store.resumeIntentType(intentType);
    if (resumed) this.dispatcher.wake();
    return resumed;
  }
}
