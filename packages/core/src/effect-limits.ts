import { ConfigurationError } from "./errors.js";
import type { Typed } from "./machine.js";
import type { IntentControls } from "./ports.js";

/**
 * A limit on the attempts of an intent type, shared by every process on the store: at most
 * `concurrency` at once and/or at most `perSecond` per second, per key. Intents over a limit
 * wait (their attempts are not counted) and go once there is room, so one key's burst —
 * one merchant, one tenant — cannot take every slot of the dispatcher from the others.
 *
 * @example
 * // At most 4 provider calls per merchant at once, at most 50 per second to the provider.
 * const limits = {
 *   AuthorizeWithProvider: [
 *     { key: (intent: { merchantId: string }) => `merchant:${intent.merchantId}`, concurrency: 4 },
 *     { key: () => "provider", perSecond: 50 },
 *   ],
 * };
 */
export interface EffectLimit<Intent = Typed> {
  /**
   * Which attempts share the limit (default: all of the intent type's, `<machine>.<type>`).
   * Keys are global: two intent types whose keys are equal share one limit.
   */
  readonly key?: (intent: Intent) => string;
  /** At most this many attempts of a key at once (a whole number ≥ 1). */
  readonly concurrency?: number;
  /** At most this many attempts of a key per second (> 0). */
  readonly perSecond?: number;
  /** How many may start at once after a quiet spell (default: `perSecond`, at least 1). */
  readonly burst?: number;
}

/** Whether an attempt may start now: if so, what to give back after it; if not, how long to wait. */
export type Admission =
  | { readonly admitted: true; readonly release: () => Promise<void> }
  | { readonly admitted: false; readonly waitMs: number; readonly reason: string };

const NOTHING_TO_RELEASE = async () => {};

/** Checks a limit's numbers once, when the dispatcher is built. */
export function checkLimit(where: string, limit: EffectLimit<Typed>): void {
  const { concurrency, perSecond, burst } = limit;
  if (concurrency === undefined && perSecond === undefined)
    throw new ConfigurationError(`${where}: a limit needs concurrency or perSecond`);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1))
    throw new ConfigurationError(`${where}: concurrency must be a whole number ≥ 1, not ${concurrency}`);
  if (perSecond !== undefined && !(Number.isFinite(perSecond) && perSecond > 0))
    throw new ConfigurationError(`${where}: perSecond must be a number > 0, not ${perSecond}`);
  if (burst !== undefined && !(Number.isFinite(burst) && burst >= 1))
    throw new ConfigurationError(`${where}: burst must be a number ≥ 1, not ${burst}`);
}

/**
 * Admits attempts under their intent type's limits: takes the concurrency slots first (all or
 * none), then the rate tokens; an attempt that cannot have all waits, holding nothing.
 */
export class EffectGate {
  readonly #store: IntentControls;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #random: () => number;

  constructor(store: IntentControls, owner: string, leaseMs: number, random: () => number) {
    this.#store = store;
    this.#owner = owner;
    this.#leaseMs = leaseMs;
    this.#random = random;
  }

  async admit(
    limits: readonly EffectLimit<Typed>[],
    machine: string,
    intent: Typed,
    holder: string,
    now: number,
  ): Promise<Admission> {
    if (limits.length === 0) return { admitted: true, release: NOTHING_TO_RELEASE };
    const keyed = limits.map((limit) => ({ limit, key: limit.key?.(intent) ?? `${machine}.${intent.type}` }));
    const held: string[] = [];
    const release = async () => {
      await Promise.all(held.map((key) => this.#store.releaseSlot(key, holder)));
    };
    for (const { limit, key } of keyed) {
      if (limit.concurrency === undefined) continue;
      const request = { key, limit: limit.concurrency, holder, owner: this.#owner, now, leaseMs: this.#leaseMs };
      if (!(await this.#store.acquireSlot(request))) {
        await release();
        // Nobody says when a slot frees: look again soon, spread out so waiters do not stampede.
        const waitMs = 100 + Math.floor(this.#random() * 200);
        return {
          admitted: false,
          waitMs,
          reason: `waiting for a slot of ${key} (at most ${limit.concurrency} at once)`,
        };
      }
      held.push(key);
    }
    for (const { limit, key } of keyed) {
      if (limit.perSecond === undefined) continue;
      const token = {
        key,
        perSecond: limit.perSecond,
        now,
        ...(limit.burst === undefined ? {} : { burst: limit.burst }),
      };
      const waitMs = await this.#store.takeToken(token);
      if (waitMs > 0) {
        await release();
        return { admitted: false, waitMs, reason: `waiting for the rate of ${key} (at most ${limit.perSecond}/s)` };
      }
    }
    return { admitted: true, release };
  }
}
