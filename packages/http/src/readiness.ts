import type { App, LoopProgress } from "@drover/core";
import type { ReadinessBody, ReadinessCheckBody } from "./wire.js";
import { ReadinessCheckKind, ReadyStatus } from "./wire.js";

/** How `GET /readyz` decides (see {@link Readiness}); every member optional. */
export interface ReadinessOptions {
  /**
   * How long a store probe's outcome is reused, in ms (default 1000): a load balancer asking
   * many times a second costs one write a second.
   */
  readonly probeCacheMs?: number;
  /** A store probe that takes longer fails, in ms (default 2000): a server that hangs is not ready. */
  readonly probeTimeoutMs?: number;
  /**
   * A loop (dispatcher, scheduler) that has not completed a round for this long is stalled, in
   * ms (default: 10 of its poll intervals, at least 10 s).
   */
  readonly stalledAfterMs?: number;
}

/** The outcome of one store probe: when it started, and its failure (undefined: it committed). */
interface Probed {
  readonly at: number;
  readonly failure: Promise<string | undefined>;
}

/**
 * Whether an {@link App} can do its job now, for `GET /readyz` and the `drover_ready` gauge:
 * its store commits a write (`App.probeStore`, cached), its dispatcher and scheduler loops run
 * and complete rounds, and its attached components say they are ok. A failing check carries
 * the reason; nothing is cached but the probe, so a recovered store is seen within a second.
 *
 * @example
 * const readiness = new Readiness(app, { probeCacheMs: 1_000 });
 * const body = await readiness.check(); // { status: "ready", checks: [...] }
 */
export class Readiness {
  readonly #app: App;
  readonly #cacheMs: number;
  readonly #timeoutMs: number;
  readonly #stalledAfterMs: number | undefined;
  #probed: Probed | undefined;

  constructor(app: App, options: ReadinessOptions = {}) {
    this.#app = app;
    this.#cacheMs = options.probeCacheMs ?? 1_000;
    this.#timeoutMs = options.probeTimeoutMs ?? 2_000;
    this.#stalledAfterMs = options.stalledAfterMs;
  }

  /** Every check, and `ready` when all pass. */
  async check(): Promise<ReadinessBody> {
    const checks: ReadinessCheckBody[] = [
      verdict("store", ReadinessCheckKind.Store, await this.#storeFailure()),
      verdict("dispatcher", ReadinessCheckKind.Loop, this.#loopFailure(this.#app.dispatcher.progress)),
      verdict("scheduler", ReadinessCheckKind.Loop, this.#loopFailure(this.#app.scheduler.progress)),
      ...this.#app.components.map((component) => {
        const health = component.health();
        const why = health.detail === undefined ? health.status : `${health.status}: ${health.detail}`;
        return verdict(component.name, ReadinessCheckKind.Component, health.ok ? undefined : why);
      }),
    ];
    return { status: checks.every((c) => c.ok) ? ReadyStatus.Ready : ReadyStatus.NotReady, checks };
  }

  /** The store probe's failure, from the last probe when it is recent enough (callers meanwhile share it). */
  #storeFailure(): Promise<string | undefined> {
    const now = performance.now();
    if (this.#probed === undefined || now - this.#probed.at >= this.#cacheMs) {
      this.#probed = { at: now, failure: this.#probe() };
    }
    return this.#probed.failure;
  }

  async #probe(): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<string>((resolve) => {
      timer = setTimeout(
        () => resolve(`the store did not commit a probe within ${this.#timeoutMs} ms`),
        this.#timeoutMs,
      );
      timer.unref();
    });
    const probed = this.#app.probeStore().then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    try {
      return await Promise.race([probed, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  #loopFailure(progress: LoopProgress): string | undefined {
    if (!progress.running) return "not running (the app is not started, or it is stopping)";
    const limit = this.#stalledAfterMs ?? Math.max(10 * progress.pollMs, 10_000);
    if (progress.sinceRoundMs <= limit) return undefined;
    return `stalled: no round completed for ${Math.round(progress.sinceRoundMs)} ms (limit ${limit} ms)`;
  }
}

function verdict(name: string, kind: ReadinessCheckKind, failure: string | undefined): ReadinessCheckBody {
  return failure === undefined ? { name, kind, ok: true } : { name, kind, ok: false, reason: failure };
}
