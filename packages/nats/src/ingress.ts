// Events in: the drover processes share one durable consumer of DROVER_EVENTS and run each
// message as an event of the entity its subject names. A message is acknowledged only once its
// step's outcome is durable (or there is nothing to write: invalid, rejected, not found, a
// duplicate), so a crash between commit and ack redelivers it and the inbox answers duplicate.
//
// Per-entity order across processes: DROVER_EVENTS is a work queue, so a message leaves the
// stream only when it is acknowledged. Before running a message, a process asks the stream for
// the first message still stored on the same subject (a direct get, `next_by_subj`); if that
// is an earlier one, some process holds it (or will get it redelivered) and this message is
// handed back with a short delay instead. A later event of an entity therefore never runs
// before an earlier one has a durable outcome, whichever process holds which. Inside one
// process the messages of an entity run one after another; different entities run concurrently.
import type { EntityRef, Logger, MetricFamily, RunResult } from "@drover/core";
import { InvalidReason, KeyedQueue, RunResultKind, silentLogger } from "@drover/core";
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg, MsgRequest } from "@nats-io/jetstream";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { ConsumerSettings, StreamLimits } from "./streams.js";
import { ensureEventsStream, ensureIngressConsumer } from "./streams.js";
import { EVENTS_STREAM, Header, INGRESS_CONSUMER, isSubjectToken, parseEntitySubject } from "./subjects.js";

/** What runs an event: an `App` (or a `Runtime`) fits. */
export interface EventRunner {
  run(ref: EntityRef, event: unknown, options?: { readonly eventId?: string }): Promise<RunResult>;
}

/** How each message ended in this process, as counted in `drover_nats_messages_total`. */
export const IngressOutcome = {
  ...RunResultKind,
  /** An earlier event of the entity was still in flight: handed back to wait its turn. */
  Deferred: "deferred",
  /** The store (or NATS) failed: handed back to be retried. */
  Error: "error",
  /**
   * Not a message: one the consumer had acknowledged that a killed NATS server left in the
   * stream, removed when found. Counted to show it happened.
   */
  Orphan: "orphan",
} as const;
export type IngressOutcome = (typeof IngressOutcome)[keyof typeof IngressOutcome];

/** Settings of {@link NatsIngress}. */
export interface IngressOptions {
  readonly connection: NatsConnection;
  readonly runner: EventRunner;
  readonly logger?: Logger;
  /** Messages this process runs at once (default 256); the consumer buffers no more than this. */
  readonly concurrency?: number;
  readonly consumer?: ConsumerSettings;
  readonly limits?: StreamLimits;
  /** First delay before a deferred or conflicting message is redelivered (default 50 ms, doubling to 2 s). */
  readonly retryDelayMs?: number;
  /** Delay before redelivering a message whose step failed on infrastructure (default 1 s). */
  readonly errorDelayMs?: number;
  /** Delay before redelivering an event whose entity the running code cannot read (default 5 s). */
  readonly unreadableDelayMs?: number;
}

/**
 * Runs the events published to `drover.<machine>.<entityId>.events` (stream `DROVER_EVENTS`),
 * in order per entity across every process that runs one, and answers each on its
 * `Drover-Reply-To` subject with the `RunResult` once the outcome is durable.
 *
 * @example
 * const connection = await connect({ servers: "nats://127.0.0.1:4222" });
 * const ingress = new NatsIngress({ connection, runner: app, logger });
 * await ingress.start();
 * // … later
 * await ingress.stop();
 */
export class NatsIngress {
  readonly #nc: NatsConnection;
  readonly #runner: EventRunner;
  readonly #logger: Logger;
  readonly #concurrency: number;
  readonly #options: IngressOptions;
  readonly #queue = new KeyedQueue();
  readonly #counts = new Map<IngressOutcome, number>();
  readonly #ackedRecently = new RecentSet(65_536);
  #redelivered = 0;
  #inFlight = 0;
  #slotWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #streamEpoch = 0;
  #ackFloor = 0;
  #ackFloorReadAt = 0;
  #ackFloorRead: Promise<void> | undefined;

  constructor(options: IngressOptions) {
    this.#options = options;
    this.#nc = options.connection;
    this.#runner = options.runner;
    this.#logger = options.logger ?? silentLogger;
    this.#concurrency = options.concurrency ?? 256;
  }

  /** Create the stream and consumer if missing, then consume until {@link NatsIngress.stop}. */
  async start(): Promise<void> {
    if (this.#loop !== undefined) return;
    // Short API timeouts: a request lost while the connection was down would otherwise hold
    // its entity's queue for the default 5 s.
    this.#jsm = await jetstreamManager(this.#nc, { timeout: 2_000 });
    this.#js = jetstream(this.#nc, { timeout: 2_000 });
    const info = await ensureEventsStream(this.#jsm, this.#options.limits);
    // Generated event ids name the stream's creation too: a stream deleted and made again
    // restarts its sequence, and its messages must not be taken for the old ones.
    this.#streamEpoch = Date.parse(info.created);
    await ensureIngressConsumer(this.#jsm, this.#options.consumer);
    this.#stopping = false;
    this.#loop = this.#consumeForever();
  }

  /**
   * Stop taking messages, hand back the ones buffered and not started (redelivered at once to
   * another process), and wait for the steps in flight to finish and be acknowledged.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#messages?.stop();
    await this.#loop;
    this.#loop = undefined;
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Messages in flight in this process. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** How many messages ended how, in this process since it started. */
  counts(): Readonly<Partial<Record<IngressOutcome, number>>> {
    return Object.fromEntries(this.#counts);
  }

  /** Counters of this process and the shared consumer's backlog (asks the server). */
  async metrics(): Promise<MetricFamily[]> {
    const families: MetricFamily[] = [
      {
        name: "drover_nats_messages_total",
        help: "Ingress messages handled by this process, by outcome (a result kind, deferred or error)",
        type: "counter",
        samples: [...this.#counts].map(([outcome, value]) => ({ labels: { outcome }, value })),
      },
      {
        name: "drover_nats_redeliveries_total",
        help: "Ingress messages this process received that JetStream had delivered before",
        type: "counter",
        samples: [{ value: this.#redelivered }],
      },
      {
        name: "drover_nats_in_flight",
        help: "Ingress messages this process is running now",
        type: "gauge",
        samples: [{ value: this.#inFlight }],
      },
    ];
    const info = await this.#jsm?.consumers.info(EVENTS_STREAM, INGRESS_CONSUMER).catch(() => undefined);
    if (info !== undefined) {
      families.push(
        {
          name: "drover_nats_consumer_pending",
          help: "Events stored in DROVER_EVENTS and not yet delivered to any drover process (consumer lag)",
          type: "gauge",
          samples: [{ value: info.num_pending }],
        },
        {
          name: "drover_nats_consumer_ack_pending",
          help: "Events delivered to drover processes and not yet acknowledged",
          type: "gauge",
          samples: [{ value: info.num_ack_pending }],
        },
        {
          name: "drover_nats_consumer_redelivered",
          help: "Events JetStream is redelivering now (delivered before, not acknowledged)",
          type: "gauge",
          samples: [{ value: info.num_redelivered }],
        },
      );
    }
    return families;
  }

  async #consumeForever(): Promise<void> {
    let backoffMs = 100;
    while (!this.#stopping) {
      try {
        const consumer = await this.#jetstream().consumers.get(EVENTS_STREAM, INGRESS_CONSUMER);
        const messages = await consumer.consume({ max_messages: this.#concurrency });
        this.#messages = messages;
        if (this.#stopping) messages.stop();
        for await (const msg of messages) {
          if (this.#stopping) {
            msg.nak();
            continue;
          }
          await this.#slot();
          this.#handle(msg);
          backoffMs = 100;
        }
      } catch (error) {
        if (this.#stopping) break;
        this.#logger.warn({ err: error, retryInMs: backoffMs }, "NATS ingress: consuming failed; retrying");
      }
      if (this.#stopping) break;
      // The iterator ended without stop(): the consumer or stream went away, or the connection
      // closed. Try again (the stream and consumer are made again if someone deleted them).
      await sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 5_000);
      await this.#recreate().catch((error: unknown) => {
        this.#logger.warn({ err: error }, "NATS ingress: cannot set up the stream and consumer yet");
      });
    }
  }

  async #recreate(): Promise<void> {
    if (this.#nc.isClosed() || this.#jsm === undefined) return;
    const info = await ensureEventsStream(this.#jsm, this.#options.limits);
    this.#streamEpoch = Date.parse(info.created);
    await ensureIngressConsumer(this.#jsm, this.#options.consumer);
  }

  #jetstream(): JetStreamClient {
    if (this.#js === undefined) throw new Error("NatsIngress: start() first");
    return this.#js;
  }

  async #slot(): Promise<void> {
    while (this.#inFlight >= this.#concurrency) {
      await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    }
  }

  #handle(msg: JsMsg): void {
    this.#inFlight++;
    if (msg.redelivered) this.#redelivered++;
    void this.#route(msg)
      .catch((error: unknown) => {
        this.#logger.error({ err: error, subject: msg.subject, seq: msg.seq }, "NATS ingress: handling failed");
        this.#count(IngressOutcome.Error);
        msg.nak(this.#options.errorDelayMs ?? 1_000);
      })
      .finally(() => {
        this.#inFlight--;
        this.#slotWaiters.shift()?.();
        if (this.#inFlight === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
      });
  }

  async #route(msg: JsMsg): Promise<void> {
    const eventId = msg.headers?.get(Header.MsgId) || `nats-${this.#streamEpoch}-${msg.seq}`;
    const target = parseEntitySubject(msg.subject);
    if (target === undefined) {
      return this.#finish(msg, invalid(InvalidReason.InvalidId, `subject ${msg.subject} names no entity`));
    }
    let event: unknown;
    try {
      event = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(msg.data));
    } catch {
      return this.#finish(msg, invalid(InvalidReason.InvalidEvent, "the message body is not JSON (UTF-8)"));
    }
    await this.#queue.run(`${target.machine}\u0000${target.id}`, () => this.#step(msg, target, event, eventId));
  }

  async #step(msg: JsMsg, target: EntityRef, event: unknown, eventId: string): Promise<void> {
    if (await this.#earlierInFlight(msg)) {
      this.#count(IngressOutcome.Deferred);
      msg.nak(this.#retryDelay(msg));
      return;
    }
    let result: RunResult;
    try {
      result = await this.#runner.run(target, event, { eventId });
    } catch (error) {
      this.#count(IngressOutcome.Error);
      this.#logger.warn(
        { err: error, machine: target.machine, id: target.id, eventId },
        "NATS ingress: the step failed; the message will be redelivered",
      );
      msg.nak(this.#options.errorDelayMs ?? 1_000);
      return;
    }
    switch (result.kind) {
      case RunResultKind.Conflict:
        // Nothing written: the entity was changing under us. Run it again shortly.
        this.#count(result.kind);
        msg.nak(this.#retryDelay(msg));
        return;
      case RunResultKind.Unreadable:
        // Nothing written, and acknowledging would lose the event: it waits (with the entity's
        // later events behind it) until code that can read the entity runs.
        this.#count(result.kind);
        if (msg.info.deliveryCount === 1) {
          this.#logger.warn({ machine: target.machine, id: target.id, eventId }, result.message);
          this.#reply(msg, result);
        }
        msg.nak(this.#options.unreadableDelayMs ?? 5_000);
        return;
      default:
        this.#finish(msg, result);
    }
  }

  /** Acknowledge (the outcome is durable, or there is nothing to write) and answer. */
  #finish(msg: JsMsg, result: RunResult): void {
    msg.ack();
    this.#ackedRecently.add(msg.seq);
    this.#count(result.kind);
    this.#reply(msg, result);
  }

  #reply(msg: JsMsg, result: RunResult): void {
    const replyTo = msg.headers?.get(Header.ReplyTo);
    if (replyTo === undefined || replyTo === "" || !isReplySubject(replyTo)) return;
    try {
      this.#nc.publish(replyTo, JSON.stringify(result));
    } catch (error) {
      this.#logger.debug({ err: error, replyTo }, "NATS ingress: could not answer");
    }
  }

  /**
   * Whether an earlier message on the same subject is still waiting for its outcome: stored,
   * and neither acknowledged by this process (the server may not have removed it yet) nor at
   * or below the consumer's ack floor. The last are left behind when the NATS server is killed
   * (its work queue can lose removals the consumer's state kept): they are removed here, and
   * counted, or they would hold their entity back for ever.
   */
  async #earlierInFlight(msg: JsMsg): Promise<boolean> {
    const jsm = this.#manager();
    let from = 1;
    for (;;) {
      // The API get, not a direct get: it is answered on the stream's leader, where acks land.
      const query = { next_by_subj: msg.subject, seq: from } as unknown as MsgRequest;
      const first = await jsm.streams.getMessage(EVENTS_STREAM, query);
      if (first === null || first.seq >= msg.seq) return false;
      if (!(await this.#acknowledged(first.seq))) return true;
      from = first.seq + 1;
    }
  }

  async #acknowledged(seq: number): Promise<boolean> {
    if (this.#ackedRecently.has(seq)) return true;
    if (seq > this.#ackFloor && Date.now() - this.#ackFloorReadAt > 250) {
      this.#ackFloorRead ??= this.#manager()
        .consumers.info(EVENTS_STREAM, INGRESS_CONSUMER)
        .then((info) => {
          this.#ackFloor = Math.max(this.#ackFloor, info.ack_floor.stream_seq);
          this.#ackFloorReadAt = Date.now();
        })
        .finally(() => {
          this.#ackFloorRead = undefined;
        });
      await this.#ackFloorRead;
    }
    if (seq > this.#ackFloor) return false;
    this.#count(IngressOutcome.Orphan);
    this.#logger.warn({ seq }, "NATS ingress: removing an event the consumer acknowledged that the stream still held");
    await this.#manager()
      .streams.deleteMessage(EVENTS_STREAM, seq, false)
      .catch(() => false);
    return true;
  }

  #manager(): JetStreamManager {
    if (this.#jsm === undefined) throw new Error("NatsIngress: start() first");
    return this.#jsm;
  }

  #retryDelay(msg: JsMsg): number {
    const base = this.#options.retryDelayMs ?? 50;
    const exponent = Math.min(msg.info.deliveryCount - 1, 6);
    return Math.min(base * 2 ** exponent, 2_000) * (0.75 + Math.random() / 2);
  }

  #count(outcome: IngressOutcome): void {
    this.#counts.set(outcome, (this.#counts.get(outcome) ?? 0) + 1);
  }
}

function invalid(reason: InvalidReason, message: string): RunResult {
  return { kind: RunResultKind.Invalid, reason, message, issues: [] };
}

/** A subject a reply may go to: tokens of printable characters, no wildcards. */
function isReplySubject(subject: string): boolean {
  return subject.length <= 255 && subject.split(".").every(isSubjectToken);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
