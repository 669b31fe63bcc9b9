import type { AppOptions } from "../app.js";
import { App } from "../app.js";
import { silentLogger } from "../logger.js";
import type { AnyMachine, MachineState } from "../machine.js";
import { MemoryStore } from "../memory-store.js";
import type { EntityRef, IdGenerator, OutboxRecord, Store, TimerRecord } from "../ports.js";
import { OutboxStatus, TimerStatus } from "../ports.js";
import { seededRandom } from "../random.js";
import { readState } from "../versions.js";
import { TestClock } from "./test-clock.js";
import type { Answer, HandledIntent } from "./test-effects.js";
import { TestEffects } from "./test-effects.js";

/** What {@link testApp} builds a test app from: an App's options, less the store and clock it brings. */
export interface TestAppOptions extends Omit<AppOptions, "store" | "clock"> {
  /**
   * Intent types to answer with a handler that succeeds and sends nothing back (it replaces a
   * supplied handler of the same type). Every attempt is kept: see {@link TestApp.handled}.
   */
  readonly record?: readonly string[];
  /** The instant the clock starts at, epoch ms (default `SCENARIO_EPOCH`, 2026-01-01T00:00:00Z). */
  readonly now?: number;
  /**
   * Seeds the jitter of the dispatcher's and the scheduler's backoff (default 1), so retries
   * land at the same instants on every run. A `random` in `dispatcher` or `scheduler` wins.
   */
  readonly seed?: number;
  /** Default: a fresh `MemoryStore`. */
  readonly store?: Store;
  /**
   * The most instants one `advance` (or `settled`) may stop at (default 100,000): a machine
   * that schedules work without end fails the test instead of hanging it.
   */
  readonly maxSteps?: number;
}

/** A test app's outbox, by status, each list in commit order. */
export interface OutboxView {
  /** Intents waiting for their first attempt or for a retry. */
  pending(): Promise<OutboxRecord[]>;
  /** Intents whose handler succeeded. */
  done(): Promise<OutboxRecord[]>;
  /** Dead letters: intents that failed for good, with their `lastError`. */
  dead(): Promise<OutboxRecord[]>;
}

/**
 * An {@link App} on virtual time: its clock is a {@link TestClock}, its dispatcher and
 * scheduler never run on their own (`start` does nothing), and {@link TestApp.advance} moves
 * the clock forward while it runs, in time order and at their own instants, the timers that
 * fall due and the intents the dispatcher would run — retries, backoff and dead letters
 * included. Nothing waits for real time. Build one with {@link testApp}.
 */
export class TestApp extends App {
  /** The app's clock: read it, but move it with {@link TestApp.advance}. */
  readonly clock: TestClock;
  /** The outbox by status. */
  readonly outbox: OutboxView = {
    pending: () => this.listOutbox({ status: OutboxStatus.Pending }),
    done: () => this.listOutbox({ status: OutboxStatus.Done }),
    dead: () => this.listOutbox({ status: OutboxStatus.Dead }),
  };
  readonly #store: Store;
  readonly #testEffects: TestEffects;
  readonly #maxSteps: number;

  /** Use {@link testApp}, which builds the clock, store and effects this takes. */
  constructor(
    options: AppOptions & { readonly clock: TestClock },
    kit: { readonly testEffects: TestEffects; readonly maxSteps: number },
  ) {
    super(options);
    this.clock = options.clock;
    this.#store = options.store;
    this.#testEffects = kit.testEffects;
    this.#maxSteps = kit.maxSteps;
    this.observe(this.#testEffects.observer);
  }

  /**
   * Move the clock `ms` forward, running what falls due on the way: see {@link TestApp.advanceTo}.
   * `advance(0)` runs what is due now (the intents of the events just sent).
   *
   * @example
   * const app = testApp({ machines: [tallyMachine], record: ["Noted"] });
   * await app.run({ machine: "tally", id: "t_1" }, { type: "Open" });
   * await app.run({ machine: "tally", id: "t_1" }, { type: "Add", n: 1 });
   * await app.advance(60_000); // a minute later; every timer and retry due in that minute ran at its instant
   */
  async advance(ms: number): Promise<void> {
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw new RangeError(`advance takes whole milliseconds, 0 or more, got ${ms}`);
    }
    await this.advanceTo(this.clock.now() + ms);
  }

  /**
   * Move the clock forward to `instant`, stopping at every instant on the way where work falls
   * due — a timer, an intent's first attempt or its retry once its backoff has elapsed — to run
   * it there (`App.idle` at that instant), so that each step's `at`, each attempt's time and
   * each backoff are what they would be in production. Work due at `instant` itself runs;
   * work due after it waits.
   *
   * @example
   * const app = testApp({ machines: [tallyMachine], record: ["Noted"] });
   * const ref = { machine: "tally", id: "t_1" };
   * await app.run(ref, { type: "Open" });
   * for (let i = 0; i < 10; i++) await app.run(ref, { type: "Add", n: 1 }); // the 10th schedules a Close a minute on
   * await app.advanceTo(Date.UTC(2026, 0, 8)); // a week on (the clock starts at SCENARIO_EPOCH): the Close fired at its minute
   * (await app.state(tallyMachine, "t_1"))?.open; // false
   */
  async advanceTo(instant: number): Promise<void> {
    const start = this.clock.now();
    if (!Number.isSafeInteger(instant) || instant < start) {
      throw new RangeError(
        `advanceTo takes an instant (whole epoch ms) not before the clock's ${iso(start)}, got ${instant}`,
      );
    }
    await this.#runUntil(instant, false);
    this.clock.set(instant);
  }

  /**
   * Advance through retries until no intent is pending (dead letters aside): unlike
   * `App.settled`, it moves the clock rather than wait, stopping at each instant where work
   * falls due; timers due on the way fire, later ones wait. `options` is ignored.
   *
   * @example
   * const app = testApp({ machines: [tallyMachine], record: ["Noted"] });
   * const ref = { machine: "tally", id: "t_1" };
   * await app.run(ref, { type: "Open" });
   * await app.run(ref, { type: "Add", n: 1 });
   * await app.settled(); // the Noted intent is done, or dead after maxAttempts
   */
  override async settled(_options: { readonly timeoutMs?: number } = {}): Promise<void> {
    await this.#runUntil(Number.POSITIVE_INFINITY, true);
  }

  /**
   * Does nothing: a test app's dispatcher and scheduler run only inside
   * {@link TestApp.advance}, so that nothing happens unless the test moves time.
   */
  override async start(): Promise<void> {}

  /**
   * The instant the next work falls due — a pending intent's next attempt (only the oldest of
   * each entity, as the dispatcher runs them in order) or a pending timer — or `undefined`
   * when nothing is pending. At or before the clock's time: work that `advance(0)` would run.
   *
   * @example
   * const app = testApp({ machines: [tallyMachine], record: ["Noted"] });
   * const ref = { machine: "tally", id: "t_1" };
   * await app.run(ref, { type: "Open" });
   * await app.run(ref, { type: "Add", n: 1 });
   * (await app.nextDueAt()) === app.clock.now(); // true: the Noted intent waits for advance
   */
  async nextDueAt(): Promise<number | undefined> {
    return this.#nextDue(true);
  }

  /**
   * Answer the next attempts at intents of `type` (one answer per attempt, any entity), then go
   * back to the handler the test supplied (or, for a recorded type, to succeeding).
   *
   * @example
   * const app = testApp({ machines: [tallyMachine], record: ["Noted"] });
   * const ref = { machine: "tally", id: "t_1" };
   * await app.run(ref, { type: "Open" });
   * await app.run(ref, { type: "Add", n: 1 });
   * app.answer("Noted", answers.fail("provider down"), answers.fail("provider down"));
   * await app.advance(10_000); // attempt 1 and 2 fail, 3 succeeds at its backoff instant
   */
  answer(type: string, ...script: Answer[]): void {
    this.#testEffects.answer(type, script);
  }

  /**
   * Answer every attempt at `type` with `answer` (once answers queued with
   * {@link TestApp.answer} are used up).
   *
   * @example
   * const app = testApp({ machines: [tallyMachine], record: ["Noted"] });
   * const ref = { machine: "tally", id: "t_1" };
   * await app.run(ref, { type: "Open" });
   * await app.run(ref, { type: "Add", n: 1 });
   * app.answerAlways("Noted", answers.fail("provider down"));
   * await app.advance(3_600_000); // dead-lettered after maxAttempts
   */
  answerAlways(type: string, answer: Answer): void {
    this.#testEffects.answerAlways(type, answer);
  }

  /**
   * Every attempt at an intent so far, in the order the handlers were called — supplied and
   * recorded handlers alike — with its attempt number, its instant and its outcome; only those
   * of `type` if given.
   *
   * @example
   * const app = testApp({ machines: [tallyMachine], record: ["Noted"] });
   * const ref = { machine: "tally", id: "t_1" };
   * await app.run(ref, { type: "Open" });
   * await app.run(ref, { type: "Add", n: 1 });
   * app.answer("Noted", answers.fail("provider down"));
   * await app.advance(1_000);
   * app.handled("Noted").map((h) => [h.attempt, h.at - SCENARIO_EPOCH, h.outcome]); // [[1, 0, "retry"], [2, 407, "done"]]
   */
  handled(type?: string): HandledIntent[] {
    return this.#testEffects.handled(type);
  }

  /**
   * An entity's state as its machine reads it (parsed, so branded and typed), or `undefined`
   * when it does not exist.
   *
   * @example
   * const app = testApp({ machines: [tallyMachine], record: ["Noted"] });
   * const ref = { machine: "tally", id: "t_1" };
   * await app.run(ref, { type: "Open" });
   * await app.run(ref, { type: "Add", n: 5 });
   * (await app.state(tallyMachine, "t_1"))?.total; // 5
   */
  async state<M extends AnyMachine>(machine: M, id: string): Promise<MachineState<M> | undefined> {
    const entity = await this.getEntity({ machine: machine.name, id });
    if (entity === undefined) return undefined;
    const reading = readState(machine, entity.state, entity.stateVersion);
    if (!reading.ok) throw new Error(`${machine.name}/${id} cannot be read: ${reading.message}`);
    return machine.schemas.state.parse(reading.value) as MachineState<M>;
  }

  /**
   * The timers still to fire, soonest first; only one entity's if `ref` is given.
   *
   * @example
   * const app = testApp({ machines: [tallyMachine], record: ["Noted"] });
   * const ref = { machine: "tally", id: "t_1" };
   * await app.run(ref, { type: "Open" });
   * for (let i = 0; i < 10; i++) await app.run(ref, { type: "Add", n: 1 }); // the 10th schedules a Close a minute on
   * (await app.timers(ref)).map((t) => t.dueAt - SCENARIO_EPOCH); // [60_000]
   */
  async timers(ref?: EntityRef): Promise<TimerRecord[]> {
    return this.#store.listTimers(
      ref === undefined ? { status: TimerStatus.Pending } : { status: TimerStatus.Pending, entity: ref },
    );
  }

  /**
   * Run what is due, step the clock to the next instant work falls due, and again, until the
   * next work lies after `until` — or, with `intentsOnly`, until no intent is pending (timers
   * then fire only when they fall due on the way).
   */
  async #runUntil(until: number, intentsOnly: boolean): Promise<void> {
    for (let step = 1; ; step++) {
      await this.idle();
      const next = await this.#nextDue(true);
      const target = intentsOnly ? await this.#nextDue(false) : next;
      if (next === undefined || target === undefined || target > until) return;
      const now = this.clock.now();
      if (next <= now) {
        throw new Error(
          `work was due at ${iso(next)} but the dispatcher and the scheduler claimed nothing at ${iso(now)}: the store's claims and its lists disagree`,
        );
      }
      if (step > this.#maxSteps) {
        throw new Error(
          `the test app stopped after ${this.#maxSteps} steps at ${iso(now)} (next work due at ${iso(next)}): something schedules work without end; raise maxSteps if that is meant`,
        );
      }
      this.clock.set(next);
    }
  }

  /** The earliest instant a pending intent (or, with `timers`, a pending timer too) may be claimed at. */
  async #nextDue(timers: boolean): Promise<number | undefined> {
    const [pending, pendingTimers, paused] = await Promise.all([
      this.#store.listOutbox({ status: OutboxStatus.Pending }),
      timers ? this.#store.listTimers({ status: TimerStatus.Pending }) : Promise.resolve([]),
      this.#store.listPausedIntentTypes(),
    ]);
    const pausedTypes = new Set(paused.map((p) => p.intentType));
    let next = Number.POSITIVE_INFINITY;
    // Only the oldest pending row of an entity is claimable: later ones wait behind it, and
    // behind a row of a paused type, which is not claimable until it is resumed.
    const seen = new Set<string>();
    for (const row of pending) {
      const entity = `${row.machine}\u0000${row.entityId}`;
      if (seen.has(entity)) continue;
      seen.add(entity);
      if (pausedTypes.has((row.intent as { type?: string }).type ?? "")) continue;
      next = Math.min(next, claimableAt(row));
    }
    for (const timer of pendingTimers) next = Math.min(next, claimableAt(timer));
    return next === Number.POSITIVE_INFINITY ? undefined : next;
  }
}

/**
 * An {@link App} for tests, on virtual time: a {@link TestClock} starting at a fixed instant
 * (`now`, default 2026-01-01T00:00:00Z), a fresh `MemoryStore`, seeded backoff jitter, event
 * ids `evt_test_000001`, `evt_test_000002`…, no log output, and effect handlers that keep every
 * attempt. Nothing runs until the test calls `advance`: it moves the clock and runs the timers
 * and intents that fall due, each at its own instant, without waiting real time.
 *
 * @example
 * const app = testApp({ machines: [tallyMachine], record: ["Noted"] });
 * await app.run({ machine: "tally", id: "t_1" }, { type: "Open" });
 * await app.run({ machine: "tally", id: "t_1" }, { type: "Add", n: 5 });
 * app.answer("Noted", answers.fail("mailer down"));
 * await app.advance(1_000); // fails at +0, retried at its backoff instant (250–500 ms) and done
 * app.handled("Noted").map((h) => [h.attempt, h.outcome]); // [[1, "retry"], [2, "done"]]
 * (await app.history({ machine: "tally", id: "t_1" })).length; // 2
 */
export function testApp(options: TestAppOptions): TestApp {
  const { record = [], now, seed = 1, store = new MemoryStore(), maxSteps = 100_000, effects = [], ...rest } = options;
  const clock = new TestClock(now);
  const testEffects = new TestEffects(clock);
  return new TestApp(
    {
      logger: silentLogger,
      ids: sequentialIds(),
      ...rest,
      store,
      clock,
      effects: testEffects.effects(options.machines, effects, record),
      dispatcher: { random: seededRandom(seed), ...rest.dispatcher },
      scheduler: { random: seededRandom(seed + 1), ...rest.scheduler },
    },
    { testEffects, maxSteps },
  );
}

/** Event ids for events sent without one: `evt_test_000001`, `evt_test_000002`… */
function sequentialIds(): IdGenerator {
  let n = 0;
  return { next: () => `evt_test_${String(++n).padStart(6, "0")}` };
}

/** When a row may be claimed: at its next attempt, and not while someone holds its lease. */
function claimableAt(row: { readonly nextAttemptAt: number; readonly leaseUntil: number | null }): number {
  return Math.max(row.nextAttemptAt, row.leaseUntil ?? row.nextAttemptAt);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
