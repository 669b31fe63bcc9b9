import { ConfigurationError } from "./errors.js";

/**
 * A background loop that calls `tick` until it reports no work, then sleeps `pollMs` or until
 * woken. Shared by the dispatcher and the scheduler.
 */
export class WorkLoop {
  readonly #tick: () => Promise<number>;
  readonly #pollMs: number;
  readonly #onError: (error: unknown) => void;
  #running = false;
  #loop: Promise<void> | undefined;
  #woken = false;
  #wakeup: (() => void) | undefined;

  constructor(tick: () => Promise<number>, pollMs: number, onError: (error: unknown) => void) {
    this.#tick = tick;
    this.#pollMs = pollMs;
    this.#onError = onError;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Cut the current sleep short: there may be new work. */
  wake(): void {
    this.#woken = true;
    this.#wakeup?.();
  }

  /** Stop looping; resolves when the current tick has finished. */
  async stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
    this.#loop = undefined;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let done = 0;
      try {
        done = await this.#tick();
      } catch (error) {
        this.#onError(error);
      }
      if (done === 0 && this.#running) await this.#sleep();
    }
  }

  #sleep(): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(finish, this.#pollMs);
      const self = this;
      function finish() {
        clearTimeout(timer);
        self.#wakeup = undefined;
        self.#woken = false;
        resolve();
      }
      this.#wakeup = finish;
    });
  }
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
export function backoffDelay(
  attempt: number,
  backoff: { readonly initialMs: number; readonly maxMs: number },
  random: () => number,
): number {
  const exponential = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** A one-line description of anything thrown, Error or not, for `last_error` columns and logs. */
export function describeError(error: unknown): string {
  const text =
    error instanceof Error
      ? `${error.name}: ${error.message}`
      : `non-Error thrown: ${(() => {
          try {
            return JSON.stringify(error) ?? String(error);
          } catch {
            return String(error);
          }
        })()}`;
  return text.length > 2000 ? `${text.slice(0, 1997)}...` : text;
}

/** A setting that must be a positive number. */
export function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigurationError(`${name} must be a positive number, got ${value}`);
  return value;
}
