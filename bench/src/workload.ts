import { uuidv7 } from "@drover/core";
import type { PaymentEvent } from "./payment-machine.js";

/** One event of the workload, addressed to one payment, with the caller's id and time. */
export interface BenchEvent {
  /** 0-based position in the workload. */
  readonly seq: number;
  readonly entity: string;
  readonly eventId: string;
  readonly at: number;
  readonly event: PaymentEvent;
}

/** What a {@link Workload} is made of. */
export interface WorkloadOptions {
  /** How many payments the events are spread over (round robin). */
  readonly entities: number;
  /** How many events in all. */
  readonly events: number;
  /** The first entity's index (a workload over entities that exist already starts past creation). */
  readonly entityOffset?: number;
  /**
   * How many events each entity has had before this workload: 0 starts every entity with
   * `RequestPayment`, 1 starts it with `Capture`.
   */
  readonly startAt?: number;
  /**
   * Event ids; time-ordered UUID v7s by default, the shape drover itself makes (`evt_` + UUID
   * v7). The caller makes them, so they should cost the contestants nothing: the random bits
   * come from a pool refilled 64 KiB at a time, not from a `randomBytes` call per id (~10 µs
   * here, as much as a quarter of a batched step).
   */
  readonly ids?: (seq: number) => string;
  /** Event times; the wall clock by default. */
  readonly clock?: (seq: number) => number;
}

/** Amounts chosen so that no event is ever refused: a capture every other event never reaches it. */
export const REQUESTED_AMOUNT = 100_000_000;
export const CAPTURED_AMOUNT = 100;
export const REFUNDED_AMOUNT = 50;

/** The width of entity ids: `pay_000001`, so that ids sort like their numbers. */
const ID_DIGITS = 7;

/** The id of the entity at `index`. */
export function entityId(index: number): string {
  return `pay_${String(index).padStart(ID_DIGITS, "0")}`;
}

/**
 * The benchmark's events: round robin over the entities; each entity's first event is
 * `RequestPayment`, then `Capture` and `Refund` alternate (so every step is accepted, writes
 * one intent, and an entity's events are ordered: callers take them in sequence, and drover
 * serialises the steps of one entity). Pull-based, so 64 concurrent callers share one.
 */
export class Workload {
  readonly #options: Required<WorkloadOptions>;
  readonly #ids: readonly string[];
  readonly #counts: Uint32Array;
  #next = 0;

  constructor(options: WorkloadOptions) {
    this.#options = {
      entityOffset: 0,
      startAt: 0,
      ids: () => `evt_${uuidv7()}`,
      clock: () => Date.now(),
      ...options,
    };
    if (!(options.entities >= 1)) throw new Error(`a workload needs at least 1 entity, got ${options.entities}`);
    const ids: string[] = [];
    for (let i = 0; i < options.entities; i++) ids.push(entityId(this.#options.entityOffset + i));
    this.#ids = ids;
    this.#counts = new Uint32Array(options.entities);
  }

  get size(): number {
    return this.#options.events;
  }

  get entities(): number {
    return this.#options.entities;
  }

  /** How many events were handed out. */
  get taken(): number {
    return this.#next;
  }

  next(): BenchEvent | undefined {
    const seq = this.#next;
    if (seq >= this.#options.events) return undefined;
    this.#next = seq + 1;
    const index = seq % this.#options.entities;
    const nth = this.#options.startAt + (this.#counts[index] ?? 0);
    this.#counts[index] = (this.#counts[index] ?? 0) + 1;
    return {
      seq,
      entity: this.#ids[index] ?? entityId(index),
      eventId: this.#options.ids(seq),
      at: this.#options.clock(seq),
      event: eventFor(nth),
    };
  }
}

/** An entity's nth event (0-based). */
export function eventFor(nth: number): PaymentEvent {
  if (nth === 0) return { type: "RequestPayment", amount: REQUESTED_AMOUNT };
  return nth % 2 === 1 ? { type: "Capture", amount: CAPTURED_AMOUNT } : { type: "Refund", amount: REFUNDED_AMOUNT };
}
