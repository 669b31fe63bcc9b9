import pg from "pg";
import { quoteIdent } from "./identifiers.js";

/** Reconnection delays of the listening connection: from the first to the longest. */
const FIRST_RETRY_MS = 100;
const LONGEST_RETRY_MS = 5000;

/**
 * One dedicated connection that LISTENs on a channel and calls its listeners on every
 * notification but our own (`ownPayload`). It opens with the first listener and closes with
 * the last. A lost connection is reopened by itself, with backoff; since notifications sent
 * meanwhile are lost, the listeners are called once when it is back, to look for work.
 */
export class NotificationListener {
  readonly #config: pg.ClientConfig;
  readonly #channel: string;
  readonly #ownPayload: string;
  readonly #listeners = new Set<() => void>();
  #client: pg.Client | undefined;
  #retryMs = FIRST_RETRY_MS;
  #timer: NodeJS.Timeout | undefined;
  /** Bumped on every (re)start and stop: a late callback of an older connection does nothing. */
  #generation = 0;
  /** Every connection opened and not yet ended, so that closing can wait for them all. */
  readonly #open = new Set<pg.Client>();

  constructor(config: pg.ClientConfig, channel: string, ownPayload: string) {
    this.#config = config;
    this.#channel = channel;
    this.#ownPayload = ownPayload;
  }

  /** Whether the listening connection is up right now (for tests and health checks). */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  add(listener: () => void): () => void {
    // A wrapper per call: the same function watched twice is two subscriptions.
    const entry = () => listener();
    this.#listeners.add(entry);
    if (this.#listeners.size === 1) this.#start(false);
    return () => {
      if (!this.#listeners.delete(entry)) return;
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** Stop listening; resolves once every connection this listener opened has ended. */
  async close(): Promise<void> {
    this.#listeners.clear();
    this.#stop();
    await Promise.all([...this.#open].map((client) => client.end().catch(() => undefined)));
  }

  #start(reconnecting: boolean): void {
    const generation = ++this.#generation;
    const client = new pg.Client(this.#config);
    this.#open.add(client);
    client.on("end", () => this.#open.delete(client));
    const lost = () => {
      if (generation !== this.#generation) return;
      this.#client = undefined;
      client.end().catch(() => undefined);
      this.#retry();
    };
    client.on("error", lost);
    client.on("end", lost);
    client.on("notification", (message) => {
      if (generation !== this.#generation) return;
      if (message.channel !== this.#channel || message.payload === this.#ownPayload) return;
      this.#notify();
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${quoteIdent(this.#channel)}`))
      .then(
        () => {
          if (generation !== this.#generation) {
            client.end().catch(() => undefined);
            return;
          }
          this.#client = client;
          this.#retryMs = FIRST_RETRY_MS;
          if (reconnecting) this.#notify();
        },
        () => lost(),
      );
  }

  #retry(): void {
    if (this.#listeners.size === 0 || this.#timer !== undefined) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, LONGEST_RETRY_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#listeners.size > 0) this.#start(true);
    }, delay);
    this.#timer.unref();
  }

  #stop(): void {
    this.#generation++;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#retryMs = FIRST_RETRY_MS;
    const client = this.#client;
    this.#client = undefined;
    client?.end().catch(() => undefined);
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch {
        // A listener only wakes a loop; one that throws must not stop the others.
      }
    }
  }
}
