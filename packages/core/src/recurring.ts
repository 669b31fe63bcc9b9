// Recurring events from cron expressions (croner parses them, time zones included). Each
// occurrence is an event whose id names the schedule and the occurrence's instant, so however
// many processes fire it, the inbox applies it once. Catch-up policy: after downtime, the
// latest missed occurrence fires once (at its own instant, as the event's time); earlier
// missed ones are skipped — a daily job that was down for a week runs once, not seven times.
import { Cron } from "croner";
import { ConfigurationError } from "./errors.js";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";
import type { Clock } from "./ports.js";
import { RunResultKind } from "./result.js";
import type { RunFunction } from "./run-options.js";

/** An event sent to one entity on a cron schedule. */
export interface RecurringSchedule {
  /** Names the schedule in event ids and logs (default `<machine>/<id>/<cron>`); no spaces. */
  readonly name?: string;
  /** A cron expression: 5 fields (minute precision) or 6 (seconds first). */
  readonly cron: string;
  /** IANA time zone the expression is read in (default UTC), e.g. `Europe/Paris`. */
  readonly tz?: string;
  readonly machine: string;
  readonly id: string;
  readonly event: unknown;
}

/** What {@link RecurringEvents} is built from. */
export interface RecurringOptions {
  readonly schedules: readonly RecurringSchedule[];
  readonly run: RunFunction;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Delay before trying an occurrence again after a failure (default 1 s). */
  readonly retryMs?: number;
}

interface Parsed {
  readonly schedule: RecurringSchedule;
  readonly name: string;
  readonly cron: Cron;
}

const NAME = /^[\x21-\x7e]{1,120}$/;

/**
 * Sends recurring events: `start()` fires the latest occurrence missed while down, then each
 * occurrence at its time; `runDue(now)` does one round (tests drive it with their clock).
 *
 * @example
 * const recurring = new RecurringEvents({
 *   schedules: [{ cron: "0 3 * * *", tz: "Europe/Paris", machine: "doors", id: "door_1", event: { type: "Open" } }],
 *   run: (ref, event, options) => app.run(ref, event, options),
 *   clock: systemClock,
 * });
 * recurring.start();
 */
export class RecurringEvents {
  readonly #parsed: readonly Parsed[];
  readonly #run: RunFunction;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #retryMs: number;
  /** Per schedule: occurrences at or before this instant are done (undefined: none yet, catch up). */
  readonly #doneUpTo = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #round: Promise<void> | undefined;

  constructor(options: RecurringOptions) {
    this.#run = options.run;
    this.#clock = options.clock;
    this.#logger = options.logger ?? silentLogger;
    this.#retryMs = options.retryMs ?? 1_000;
    const names = new Set<string>();
    this.#parsed = options.schedules.map((schedule) => {
      const name = schedule.name ?? `${schedule.machine}/${schedule.id}/${schedule.cron.trim().replace(/\s+/g, "_")}`;
      if (!NAME.test(name)) {
        throw new ConfigurationError(
          `schedule name ${JSON.stringify(name)} must be 1–120 printable characters, no spaces`,
        );
      }
      if (names.has(name)) throw new ConfigurationError(`two schedules are named ${JSON.stringify(name)}; name them`);
      names.add(name);
      try {
        const cron = new Cron(schedule.cron, {
          paused: true,
          ...(schedule.tz === undefined ? {} : { timezone: schedule.tz }),
        });
        // An unknown time zone only shows when a date is computed.
        cron.nextRun(new Date(0));
        return { schedule, name, cron };
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new ConfigurationError(
          `schedule ${name}: ${JSON.stringify(schedule.cron)}${schedule.tz === undefined ? "" : ` in ${schedule.tz}`} is not a valid cron schedule (${why}); e.g. "0 3 * * *" for 03:00 daily`,
        );
      }
    });
  }

  /** The event id of one occurrence: the schedule's name and the occurrence's instant. */
  static eventIdOf(name: string, occurrence: number): string {
    return `cron/${name}/${new Date(occurrence).toISOString()}`;
  }

  /** Catch up, then fire each occurrence when it comes, until {@link RecurringEvents.stop}. */
  start(): void {
    if (this.#running || this.#parsed.length === 0) return;
    this.#running = true;
    void this.#tick();
  }

  /** Stop firing; waits for a round in progress. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#round;
  }

  /**
   * Fire what is due at `now`: for a schedule seen for the first time, its latest occurrence at
   * or before `now` (the catch-up); otherwise every occurrence since the last round. Returns how
   * many events it sent; a failed one is tried again next round.
   */
  async runDue(now: number = this.#clock.now()): Promise<number> {
    let sent = 0;
    for (const { schedule, name, cron } of this.#parsed) {
      for (const occurrence of this.#due(name, cron, now)) {
        if (!(await this.#fire(schedule, name, occurrence))) break;
        this.#doneUpTo.set(name, occurrence);
        sent++;
      }
    }
    return sent;
  }

  /**
   * The schedules, in the order they were given, each with its name (given or derived) and
   * its next occurrence after `now` (epoch ms; `null`: none). What operators are shown.
   *
   * @example
   * for (const { name, cron, nextAt } of app.recurring.schedules()) console.log(name, cron, nextAt);
   */
  schedules(
    now: number = this.#clock.now(),
  ): ReadonlyArray<RecurringSchedule & { readonly name: string; readonly nextAt: number | null }> {
    return this.#parsed.map(({ schedule, name, cron }) => ({
      ...schedule,
      name,
      nextAt: cron.nextRun(new Date(now))?.getTime() ?? null,
    }));
  }

  /** The next instant anything is due after `now`, or `undefined`. */
  nextAt(now: number = this.#clock.now()): number | undefined {
    const next = this.#parsed.flatMap(({ cron }) => {
      const at = cron.nextRun(new Date(now));
      return at === null ? [] : [at.getTime()];
    });
    return next.length === 0 ? undefined : Math.min(...next);
  }

  #due(name: string, cron: Cron, now: number): number[] {
    const done = this.#doneUpTo.get(name);
    if (done === undefined) {
      // Catch-up: only the latest occurrence at or before now (if it is exactly now, nextRun
      // from a millisecond before finds it).
      const [latest] = cron.previousRuns(1, new Date(now + 1));
      if (latest === undefined) {
        this.#doneUpTo.set(name, now);
        return [];
      }
      return [latest.getTime()];
    }
    const due: number[] = [];
    for (let at = cron.nextRun(new Date(done)); at !== null && at.getTime() <= now; at = cron.nextRun(at)) {
      due.push(at.getTime());
      if (due.length >= 1_000) break; // A clock jump: the rest next round.
    }
    return due;
  }

  async #fire(schedule: RecurringSchedule, name: string, occurrence: number): Promise<boolean> {
    const eventId = RecurringEvents.eventIdOf(name, occurrence);
    const log = { schedule: name, machine: schedule.machine, entityId: schedule.id, eventId };
    try {
      const result = await this.#run({ machine: schedule.machine, id: schedule.id }, schedule.event, {
        eventId,
        at: occurrence,
      });
      switch (result.kind) {
        case RunResultKind.Conflict:
        case RunResultKind.Unreadable:
          this.#logger.warn({ ...log, kind: result.kind }, "recurring: the event could not be applied yet; retrying");
          return false;
        case RunResultKind.Invalid:
          // The schedule's event does not fit its machine: retrying cannot help; say so, move on.
          this.#logger.error({ ...log, error: result.message }, "recurring: the schedule's event is invalid");
          return true;
        default:
          this.#logger.debug({ ...log, kind: result.kind }, "recurring: occurrence sent");
          return true;
      }
    } catch (error) {
      this.#logger.warn({ ...log, err: error }, "recurring: sending failed; retrying");
      return false;
    }
  }

  async #tick(): Promise<void> {
    if (!this.#running) return;
    this.#round = this.runDue().then(
      () => undefined,
      () => undefined,
    );
    await this.#round;
    if (!this.#running) return;
    const now = this.#clock.now();
    const pendingRetry = this.#parsed.some(({ name, cron }) => this.#due(name, cron, now).length > 0);
    const next = pendingRetry ? now + this.#retryMs : this.nextAt(now);
    if (next === undefined) return;
    // setTimeout holds at most ~24.8 days: wake up and look again before that.
    const delay = Math.min(Math.max(0, next - now), 2 ** 31 - 1);
    this.#timer = setTimeout(() => void this.#tick(), delay);
    this.#timer.unref();
  }
}
