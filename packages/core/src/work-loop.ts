import { hostname } from "node:os";
import { systemClock } from "./clock.js";
import { ConfigurationError } from "./errors.js";
import type { Logger } from "./logger.js";
import { silentLogger } from "./logger.js";
import type { Clock } from "./ports.js";

/** Retry timing of a leasing worker. */
export interface Backoff {
  /** Delay after the first failure (default 500 ms); doubles each time. */
  readonly initialMs?: number;
  /** The longest delay (default 60 s). */
  readonly maxMs?: number;
}

/** What every leasing worker (the dispatcher, the scheduler) is built from, besides its own settings. */
export interface LeaseWorkerOptions {
  readonly owner?: string;
  readonly leaseMs?: number;
  readonly backoff?: Backoff;
  readonly random?: () => number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/**
 * How long a claimed intent or timer is its worker's before another may take it, unless the
 * worker renews it: 10 s. Renewed every third of it while the work runs (the heartbeat), so
 * it bounds how long a crashed process's work waits for another process, not how long work
 * may take: two renewals may fail (a store failover's pause) before a running attempt loses
 * its row. A restarted process frees its previous incarnation's leases at once (see
 * `LeaseIdentity`), so its own restart waits for none.
 */
export const DEFAULT_LEASE_MS = 10_000;

/** The common settings of a leasing worker, with their defaults applied and checked. */
export interface LeaseWorker {
  /** The worker's name in leases: unique per process. */
  readonly owner: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly leaseMs: number;
  readonly backoff: Required<Backoff>;
  readonly random: () => number;
}

/**
 * Resolve a leasing worker's common settings: a lease of {@link DEFAULT_LEASE_MS}, backoff from
 * 500 ms doubling to 60 s, the system clock, no logging; a bad number is a `ConfigurationError`.
 *
 * @example
 * const worker = leaseWorker("scheduler", { leaseMs: 5_000 });
 * worker.owner; // "scheduler@host:1234:k3j9xq"
 */
export function leaseWorker(role: string, options: LeaseWorkerOptions): LeaseWorker {
  return {
    owner: options.owner ?? defaultOwner(role),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    leaseMs: positive("leaseMs", options.leaseMs ?? DEFAULT_LEASE_MS),
    backoff: {
      initialMs: positive("backoff.initialMs", options.backoff?.initialMs ?? 500),
      maxMs: positive("backoff.maxMs", options.backoff?.maxMs ?? 60_000),
    },
    random: options.random ?? Math.random,
  };
}

/** A name for a lease owner: host, process and a random suffix. */
function defaultOwner(role: string): string {
  return `${role}@${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * How a {@link WorkLoop} is doing, for readiness probes: a running loop completes a round (a
 * tick, then a sleep of at most `pollMs` when idle) again and again, so a round that has not
 * completed for many poll intervals means the loop is stuck (a claim that never returns).
 */
export interface LoopProgress {
  readonly running: boolean;
  /** The loop's sleep when idle. */
  readonly pollMs: number;
  /** Milliseconds since the loop last completed a round (or started); 0 when not running. */
  readonly sinceRoundMs: number;
}

/**
 * A background loop that calls `tick` until it reports no work, then sleeps `pollMs` or until
 * woken. Shared by the dispatcher and the scheduler.
 */
export class WorkLoop {
  readonly #tick: () => Promise<number>;
  readonly #pollMs: number;
  readonly #onError: (error: unknown) => void;
  #running = false;
  /** `performance.now()` when the last round completed: monotonic, unlike an injected clock. */
  #roundAt = 0;
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

  /** Whether it runs, and how long ago it last completed a round. */
  progress(): LoopProgress {
    return {
      running: this.#running,
      pollMs: this.#pollMs,
      sinceRoundMs: this.#running ? performance.now() - this.#roundAt : 0,
    };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#roundAt = performance.now();
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
      this.#roundAt = performance.now();
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

/**
 * The attempt number to back off by when a row waits rather than fails (its entity cannot be
 * read by the running code): the longest delay, so a stuck row is looked at about once per
 * `backoff.maxMs` instead of in a tight loop.
 */
export const WAITING = 64;

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
