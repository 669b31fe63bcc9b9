// Events in: the drover processes share one durable consumer of DROVER_EVENTS and run each
// message as an event of the entity its subject names. A message is acknowledged only once its
// step's outcome is durable (or there is nothing to write: invalid, rejected, not found, a
// duplicate), so a crash between commit and ack redelivers it and the inbox answers duplicate.
//
// Per-entity order across processes: see order-guard.ts. Inside one process the messages of
// an entity run one after another; different entities run concurrently.
import type { EntityRef, Logger, MetricFamily, RunResult } from "@drover/core";
import { contextOfTraceParent, KeyedQueue, RunResultKind, silentLogger } from "@drover/core";
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg, StoredMsg } from "@nats-io/jetstream";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Context } from "@opentelemetry/api";
import { context } from "@opentelemetry/api";
import { decode, isFinal } from "./message.js";
import { OrderGuard } from "./order-guard.js";
import type { ConsumerSettings, StreamLimits } from "./streams.js";
import { ensureEventsStream, ensureIngressConsumer } from "./streams.js";
import { EVENTS_STREAM, Header, INGRESS_CONSUMER, isSubjectToken } from "./subjects.js";

/** What runs an event: an `App` (or a `Runtime`) fits. */
export interface EventRunner {
  run(
    ref: EntityRef,
    event: unknown,
    options?: { readonly eventId?: string; readonly trace?: Context },
  ): Promise<RunResult>;
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
  /**
   * Not a message: an earlier message that blocked its entity for longer than the ack wait,
   * which the order guard ran itself and removed (see order-guard.ts).
   */
  Adopted: "adopted",
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
 * import { connect } from "@nats-io/transport-node";
 *
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
  #guard: OrderGuard | undefined;

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
    this.#guard = new OrderGuard({
      jsm: this.#jsm,
      adoptAfterMs: this.#options.consumer?.ackWaitMs ?? 30_000,
      adopt: (message) => this.#adopt(message),
      onRemoved: (seq, why) => {
        this.#count(why === "orphan" ? IngressOutcome.Orphan : IngressOutcome.Adopted);
        this.#logger.warn(
          { seq },
          why === "orphan"
            ? "NATS ingress: removed an event the consumer had acknowledged that the stream still held"
            : "NATS ingress: ran an event that blocked its entity past the ack wait, and removed it",
        );
      },
    });
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

  /** Counters of this process, and with `askServer` the shared consumer's backlog. */
  async metrics(askServer = true): Promise<MetricFamily[]> {
    const families: MetricFamily[] = [
      {
        name: "drover_nats_messages_total",
        help: "Ingress messages handled by this process, by outcome (a result kind, deferred, error, orphan or adopted)",
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
    const info = askServer
      ? await this.#jsm?.consumers.info(EVENTS_STREAM, INGRESS_CONSUMER).catch(() => undefined)
      : undefined;
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
    const decoded = decode(msg, msg.headers, this.#streamEpoch);
    if (!decoded.ok) return this.#finish(msg, decoded.result);
    const { target, event, eventId } = decoded;
    await this.#queue.run(`${target.machine}\u0000${target.id}`, () => this.#step(msg, target, event, eventId));
  }

  /** Run a message the order guard found blocking its entity for too long; `true` when final. */
  async #adopt(message: StoredMsg): Promise<boolean> {
    const decoded = decode(message, message.header, this.#streamEpoch);
    if (!decoded.ok) return true;
    const result = await this.#runner.run(decoded.target, decoded.event, { eventId: decoded.eventId });
    return isFinal(result);
  }

  async #step(msg: JsMsg, target: EntityRef, event: unknown, eventId: string): Promise<void> {
    if (await this.#guarded().blocked(msg.subject, msg.seq)) {
      this.#count(IngressOutcome.Deferred);
      msg.nak(this.#retryDelay(msg));
      return;
    }
    let result: RunResult;
    try {
      // A publisher's `traceparent` header makes the step part of the publisher's trace.
      const trace = contextOfTraceParent(msg.headers?.get("traceparent"), context.active());
      result = await this.#runner.run(target, event, { eventId, trace });
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
    this.#guard?.acknowledged(msg.seq);
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

  #guarded(): OrderGuard {
    if (this.#guard === undefined) throw new Error("NatsIngress: start() first");
    return this.#guard;
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

/** A subject a reply may go to: tokens of printable characters, no wildcards. */
function isReplySubject(subject: string): boolean {
  return subject.length <= 255 && subject.split(".").every(isSubjectToken);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
