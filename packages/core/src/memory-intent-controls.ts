import type { PausedIntentType, SlotRequest, TokenRequest } from "./ports.js";

/**
 * The {@link IntentControls} of the {@link MemoryStore}: paused intent types, concurrency
 * slots and token buckets, kept in maps (one process, so "atomic across processes" holds
 * trivially).
 */
export class MemoryIntentControls {
  readonly #paused = new Map<string, number>();
  /** key → holder → lease until. */
  readonly #slots = new Map<string, Map<string, number>>();
  readonly #buckets = new Map<string, { tokens: number; updatedAt: number }>();

  isPaused(intentType: string): boolean {
    return this.#paused.has(intentType);
  }

  pause(intentType: string, now: number): boolean {
    if (this.#paused.has(intentType)) return false;
    this.#paused.set(intentType, now);
    return true;
  }

  resume(intentType: string): boolean {
    return this.#paused.delete(intentType);
  }

  paused(): PausedIntentType[] {
    return [...this.#paused]
      .map(([intentType, pausedAt]) => ({ intentType, pausedAt }))
      .sort((a, b) => (a.intentType < b.intentType ? -1 : a.intentType > b.intentType ? 1 : 0));
  }

  acquire(request: SlotRequest): boolean {
    const holders = this.#slots.get(request.key) ?? new Map<string, number>();
    for (const [holder, until] of holders) if (until <= request.now) holders.delete(holder);
    if (!holders.has(request.holder) && holders.size >= request.limit) return false;
    holders.set(request.holder, request.now + request.leaseMs);
    this.#slots.set(request.key, holders);
    return true;
  }

  release(key: string, holder: string): void {
    const holders = this.#slots.get(key);
    holders?.delete(holder);
    if (holders?.size === 0) this.#slots.delete(key);
  }

  take(request: TokenRequest): number {
    const burst = Math.max(1, request.burst ?? request.perSecond);
    const bucket = this.#buckets.get(request.key) ?? { tokens: burst, updatedAt: request.now };
    const tokens = Math.min(
      burst,
      bucket.tokens + (Math.max(0, request.now - bucket.updatedAt) * request.perSecond) / 1000,
    );
    // Refilled up to the latest time seen: a caller whose clock is behind must not move it
    // back, or the next caller would be refilled for the same time twice.
    const updatedAt = Math.max(bucket.updatedAt, request.now);
    if (tokens >= 1) {
      this.#buckets.set(request.key, { tokens: tokens - 1, updatedAt });
      return 0;
    }
    this.#buckets.set(request.key, { tokens, updatedAt });
    return Math.ceil(((1 - tokens) * 1000) / request.perSecond);
  }
}
