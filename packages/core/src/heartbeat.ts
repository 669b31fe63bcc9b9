import { setMaxListeners } from "node:events";
import { LeaseLostError } from "./errors.js";

/** What a {@link Heartbeat} renews with and tells about. */
export interface HeartbeatOptions {
  /** Which worker (for messages): `dispatcher`, `scheduler`. */
  readonly role: string;
  /** A round every this many ms while something is held. */
  readonly everyMs: number;
  /** Renew the leases of `ids` in one store call; answers the ids still held. */
  readonly renew: (ids: readonly string[]) => Promise<readonly string[]>;
  /** A round failed (the store is down): the leases may run out; nothing is aborted for it. */
  readonly onError: (error: unknown) => void;
}

/**
 * Keeps the leases of running work alive: while anything is held, every `everyMs` one store
 * call renews all their leases; the work whose lease turns out lost (another worker took the
 * row after it expired, or an operator's release) has its signal aborted with a
 * {@link LeaseLostError}, so it stops instead of racing the new holder. With it the lease can
 * be short — a crashed worker's rows are free again within one lease — however long the work.
 *
 * @example
 * const beat = new Heartbeat({ role: "dispatcher", everyMs: 3_000, renew: (ids) => store.renewOutboxLeases(owner, ids, Date.now() + 10_000), onError });
 * const signal = beat.hold(row.intentId);
 * try { await handler(intent, { signal }); } finally { beat.release(row.intentId); }
 */
export class Heartbeat {
  readonly #options: HeartbeatOptions;
  readonly #held = new Map<string, AbortController>();
  #timer: NodeJS.Timeout | undefined;
  #beating = false;

  constructor(options: HeartbeatOptions) {
    this.#options = options;
  }

  /** Keep `id`'s lease alive until {@link release}; its signal aborts if the lease is lost. */
  hold(id: string): AbortSignal {
    const controller = new AbortController();
    // The handler and the dispatcher may both listen: not a leak.
    setMaxListeners(0, controller.signal);
    this.#held.set(id, controller);
    if (this.#timer === undefined) {
      // unref: a heartbeat alone does not keep the process running.
      this.#timer = setInterval(() => void this.beat(), this.#options.everyMs).unref();
    }
    return controller.signal;
  }

  /** Stop renewing `id`'s lease (its work settled it or gave it up). */
  release(id: string): void {
    this.#held.delete(id);
    if (this.#held.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** How many leases are being kept alive. */
  get size(): number {
    return this.#held.size;
  }

  /** One round now (the timer calls it; tests too). Rounds never overlap. */
  async beat(): Promise<void> {
    if (this.#beating || this.#held.size === 0) return;
    this.#beating = true;
    try {
      const round = [...this.#held];
      let kept: ReadonlySet<string>;
      try {
        kept = new Set(await this.#options.renew(round.map(([id]) => id)));
      } catch (error) {
        this.#options.onError(error);
        return;
      }
      for (const [id, controller] of round) {
        // Released meanwhile (settled by its own worker, whose settle freed the lease), maybe
        // claimed again since: only the attempt the round asked about is told.
        if (kept.has(id) || this.#held.get(id) !== controller) continue;
        controller.abort(
          new LeaseLostError(
            `the ${this.#options.role} lost the lease of ${id}: another worker may run it now; this attempt stops`,
          ),
        );
      }
    } finally {
      this.#beating = false;
    }
  }
}
