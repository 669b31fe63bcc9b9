import type { Clock } from "../ports.js";
import { SCENARIO_EPOCH } from "./scenario.js";

/**
 * A clock that stands still until a test moves it, and only ever forwards: what a test app,
 * a runtime or a dispatcher under test read as "now". It starts at {@link SCENARIO_EPOCH}
 * (2026-01-01T00:00:00Z) unless told otherwise.
 *
 * Moving this clock runs nothing by itself; `TestApp.advance` moves it and runs what falls due.
 *
 * @example
 * const clock = new TestClock();
 * const runtime = new Runtime({ store: new MemoryStore(), machines: [doors], clock });
 * clock.set(clock.now() + 60_000); // a minute later, for every step that does not name its time
 */
export class TestClock implements Clock {
  #now: number;

  constructor(start: number = SCENARIO_EPOCH) {
    this.#now = instant("start", start);
  }

  /** The current instant, epoch milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Move to `to` (epoch milliseconds); it may be now, never earlier. */
  set(to: number): void {
    instant("the new time", to);
    if (to < this.#now) {
      throw new RangeError(
        `a TestClock only moves forward: it is at ${iso(this.#now)}, asked to go back to ${iso(to)}`,
      );
    }
    this.#now = to;
  }
}

/** JavaScript's last date, as the timers' `Instant` allows. */
const LAST_DATE = 8_640_000_000_000_000;

function instant(what: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > LAST_DATE) {
    throw new RangeError(`${what} must be whole epoch milliseconds from 0 to ${LAST_DATE}, got ${value}`);
  }
  return value;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
