// Per-entity order across processes. DROVER_EVENTS is a work queue: a message leaves the
// stream only when it is acknowledged, and drover acknowledges only after the durable outcome.
// So a message may run when no earlier message on its subject is still stored; otherwise the
// earlier one's holder has not finished (or will get it redelivered), and this one waits.
//
// Two things a NATS server killed with SIGKILL can leave behind are handled here, or they would
// hold an entity back for ever: messages the consumer acknowledged that the stream still holds
// (at or below the consumer's ack floor: removed), and messages the consumer no longer
// delivers at all. An earlier message that has blocked for longer than `adoptAfterMs` is run
// by the guard itself — safe whoever else holds it, because the inbox answers a second run as a
// duplicate — and then removed from the stream.
import type { JetStreamManager, MsgRequest, StoredMsg } from "@nats-io/jetstream";
import { EVENTS_STREAM, INGRESS_CONSUMER } from "./subjects.js";

/** What the guard needs from the ingress. */
export interface OrderGuardOptions {
  readonly jsm: JetStreamManager;
  /** How long an earlier message may block before the guard runs it itself. */
  readonly adoptAfterMs: number;
  /** Run a stored message here; `true` when its outcome is final (then it is removed). */
  readonly adopt: (message: StoredMsg) => Promise<boolean>;
  /** Told of each message removed as already acknowledged, or run by adoption. */
  readonly onRemoved: (seq: number, why: "orphan" | "adopted") => void;
}

export class OrderGuard {
  readonly #options: OrderGuardOptions;
  readonly #ackedHere = new RecentSet(65_536);
  readonly #blockingSince = new Map<number, number>();
  #ackFloor = 0;
  #ackFloorReadAt = 0;
  #ackFloorRead: Promise<void> | undefined;

  constructor(options: OrderGuardOptions) {
    this.#options = options;
  }

  /** Note a message this process acknowledged: the server may not have removed it yet. */
  acknowledged(seq: number): void {
    this.#ackedHere.add(seq);
  }

  /** Whether an earlier message on `subject` than `seq` still waits for its outcome. */
  async blocked(subject: string, seq: number): Promise<boolean> {
    const { jsm } = this.#options;
    let from = 1;
    for (;;) {
      // The API get, not a direct get: it is answered where acknowledgements are applied.
      const query = { next_by_subj: subject, seq: from } as unknown as MsgRequest;
      const first = await jsm.streams.getMessage(EVENTS_STREAM, query);
      if (first === null || first.seq >= seq) return false;
      if (!(await this.#settled(first))) return true;
      from = first.seq + 1;
    }
  }

  async #settled(message: StoredMsg): Promise<boolean> {
    const { seq } = message;
    if (this.#ackedHere.has(seq)) return true;
    if (await this.#belowAckFloor(seq)) {
      await this.#remove(seq, "orphan");
      return true;
    }
    const now = Date.now();
    const since = this.#blockingSince.get(seq);
    if (since === undefined) {
      this.#note(seq, now);
      return false;
    }
    if (now - since < this.#options.adoptAfterMs) return false;
    if (!(await this.#options.adopt(message))) return false;
    this.#blockingSince.delete(seq);
    this.#ackedHere.add(seq);
    await this.#remove(seq, "adopted");
    return true;
  }

  async #belowAckFloor(seq: number): Promise<boolean> {
    if (seq > this.#ackFloor && Date.now() - this.#ackFloorReadAt > 250) {
      this.#ackFloorRead ??= this.#options.jsm.consumers
        .info(EVENTS_STREAM, INGRESS_CONSUMER)
        .then((info) => {
          this.#ackFloor = Math.max(this.#ackFloor, info.ack_floor.stream_seq);
          this.#ackFloorReadAt = Date.now();
        })
        .finally(() => {
          this.#ackFloorRead = undefined;
        });
      await this.#ackFloorRead;
    }
    return seq <= this.#ackFloor;
  }

  async #remove(seq: number, why: "orphan" | "adopted"): Promise<void> {
    this.#options.onRemoved(seq, why);
    await this.#options.jsm.streams.deleteMessage(EVENTS_STREAM, seq, false).catch(() => false);
  }

  #note(seq: number, now: number): void {
    this.#blockingSince.set(seq, now);
    if (this.#blockingSince.size > 10_000) {
      // Forget blockers not seen for long (they went away): the oldest entries first.
      for (const [key, at] of this.#blockingSince) {
        if (now - at < this.#options.adoptAfterMs * 4 && this.#blockingSince.size <= 5_000) break;
        this.#blockingSince.delete(key);
      }
    }
  }
}

/** A set that remembers only its last `capacity` entries. */
class RecentSet {
  readonly #set = new Set<number>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  add(value: number): void {
    this.#set.add(value);
    if (this.#set.size > this.#capacity) {
      const oldest = this.#set.values().next();
      if (!oldest.done) this.#set.delete(oldest.value);
    }
  }

  has(value: number): boolean {
    return this.#set.has(value);
  }
}
