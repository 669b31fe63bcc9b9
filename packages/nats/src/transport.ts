// The NATS leg of an application, as `drover serve --nats` runs it: one connection (that
// reconnects for ever), the ingress, the request bridge and the publishing handlers, reported
// to the operator as the component "nats" (`/healthz`, `/metrics`).
import type { AnyMachine, Component, ComponentHealth, Effects, Logger, MetricFamily } from "@drover/core";
import { silentLogger } from "@drover/core";
import type { JetStreamClient } from "@nats-io/jetstream";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { PublishOptions } from "./egress.js";
import { natsEffects, publishedSubjects } from "./egress.js";
import type { EventRunner, IngressOptions } from "./ingress.js";
import { NatsIngress } from "./ingress.js";
import { bridgeRequests } from "./request-bridge.js";
import type { StreamLimits } from "./streams.js";
import { ensureIntentsStream } from "./streams.js";

/** How to reach NATS and what to do there. */
export interface NatsTransportOptions {
  /** `nats://host:port` (several comma-separated). */
  readonly url: string;
  /** A name the server shows for this connection (default `drover`). */
  readonly name?: string;
  readonly logger?: Logger;
  /** How long the first connection may take before {@link NatsTransport.connect} gives up (default 5 s). */
  readonly connectTimeoutMs?: number;
  readonly limits?: StreamLimits;
  readonly ingress?: Omit<IngressOptions, "connection" | "runner" | "logger" | "limits">;
  readonly publish?: PublishOptions;
}

/** The connection's state as `/healthz` reports it. */
export const NatsStatus = {
  Connected: "connected",
  Reconnecting: "reconnecting",
  Closed: "closed",
} as const;
export type NatsStatus = (typeof NatsStatus)[keyof typeof NatsStatus];

/**
 * One NATS connection shared by the ingress (events in), the request bridge and the
 * publishing handlers (intents out). A lost connection is retried for ever: the ingress
 * pauses meanwhile (JetStream keeps the events) and resumes by itself.
 *
 * @example
 * const machines = [doors];
 * const nats = await NatsTransport.connect({ url: "nats://127.0.0.1:4222", logger });
 * const app = new App({ store, machines, effects: [doorEffects, ...nats.effects(machines, ["Ring"])] });
 * app.attach(nats);
 * await app.start();
 * await nats.start(app);
 * // … on shutdown
 * await nats.close();
 */
export class NatsTransport implements Component {
  readonly name = "nats";
  readonly connection: NatsConnection;
  readonly js: JetStreamClient;
  readonly #options: NatsTransportOptions;
  readonly #logger: Logger;
  #status: NatsStatus = NatsStatus.Connected;
  #lastError: string | undefined;
  #ingress: NatsIngress | undefined;
  #bridge: Subscription | undefined;
  #published: string[] = [];

  private constructor(connection: NatsConnection, options: NatsTransportOptions) {
    this.connection = connection;
    this.js = jetstream(connection);
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    void this.#watch();
  }

  /** Connect (failing after `connectTimeoutMs` with a message naming the URL). */
  static async connect(options: NatsTransportOptions): Promise<NatsTransport> {
    let connection: NatsConnection;
    try {
      connection = await connect({
        servers: options.url.split(",").map((server) => server.trim()),
        name: options.name ?? "drover",
        timeout: options.connectTimeoutMs ?? 5_000,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot connect to NATS at ${options.url} (${why}); start it or fix DROVER_NATS / --nats`, {
        cause: error,
      });
    }
    return new NatsTransport(connection, options);
  }

  /** The publishing handlers for the intent `types` the `machines` declare (see {@link natsEffects}). */
  effects(machines: readonly AnyMachine[], types: readonly string[]): Effects[] {
    const effects = natsEffects(this.js, machines, types, this.#options.publish);
    this.#published = publishedSubjects(effects);
    return effects;
  }

  /** Make the streams, then run the ingress and the request bridge for `runner` (an App). */
  async start(runner: EventRunner): Promise<void> {
    const jsm = await jetstreamManager(this.connection);
    await ensureIntentsStream(jsm, this.#published, this.#options.limits);
    this.#ingress = new NatsIngress({
      ...this.#options.ingress,
      connection: this.connection,
      runner,
      logger: this.#logger,
      ...(this.#options.limits === undefined ? {} : { limits: this.#options.limits }),
    });
    await this.#ingress.start();
    this.#bridge = bridgeRequests(this.connection, this.js, this.#logger);
  }

  /** The ingress, once started. */
  get ingress(): NatsIngress | undefined {
    return this.#ingress;
  }

  /** Stop taking events, finish (and acknowledge) those in flight, then close the connection. */
  async stop(): Promise<void> {
    this.#bridge?.unsubscribe();
    await this.#ingress?.stop();
  }

  /** {@link NatsTransport.stop}, then flush and close the connection. */
  async close(): Promise<void> {
    await this.stop();
    if (!this.connection.isClosed()) await this.connection.drain().catch(() => this.connection.close());
  }

  health(): ComponentHealth {
    const ok = this.#status === NatsStatus.Connected;
    return {
      ok,
      status: this.#status,
      ...(ok || this.#lastError === undefined ? {} : { detail: this.#lastError }),
    };
  }

  async metrics(): Promise<readonly MetricFamily[]> {
    const connected: MetricFamily = {
      name: "drover_nats_connected",
      help: "1 while this process is connected to NATS",
      type: "gauge",
      samples: [{ value: this.#status === NatsStatus.Connected ? 1 : 0 }],
    };
    // While disconnected, the consumer's backlog cannot be read: leave it out rather than wait.
    return [connected, ...((await this.#ingress?.metrics(this.#status === NatsStatus.Connected)) ?? [])];
  }

  async #watch(): Promise<void> {
    for await (const status of this.connection.status()) {
      switch (status.type) {
        case "disconnect":
          this.#status = NatsStatus.Reconnecting;
          this.#logger.warn({ server: status.server }, "NATS: connection lost; reconnecting (ingress paused)");
          break;
        case "reconnect":
          this.#status = NatsStatus.Connected;
          this.#lastError = undefined;
          this.#logger.info({ server: status.server }, "NATS: reconnected (ingress resumes)");
          break;
        case "error":
          this.#lastError = status.error.message;
          break;
        case "close":
          this.#status = NatsStatus.Closed;
          break;
        default:
          break;
      }
    }
    this.#status = NatsStatus.Closed;
  }
}
