import type { CustomerId, PaymentId } from "./ids.js";
import type { Currency, MinorUnits } from "./money.js";
import type { NotificationTemplate } from "./payments.js";

/** A payment above the threshold, waiting for an operator. */
export interface VerificationRequest {
  readonly paymentId: PaymentId;
  readonly amount: MinorUnits;
  readonly currency: Currency;
  readonly customerId: CustomerId;
}

/** Where operators find the payments they must verify. Idempotent per key. */
export interface VerificationQueue {
  enqueue(key: string, request: VerificationRequest, signal?: AbortSignal): Promise<void>;
}

/** A message to a customer about one of their payments. */
export interface CustomerMessage {
  readonly paymentId: PaymentId;
  readonly customerId: CustomerId;
  readonly template: NotificationTemplate;
}

/** Sends messages to customers. Idempotent per key: a message is sent once per key. */
export interface Mailer {
  send(key: string, message: CustomerMessage, signal?: AbortSignal): Promise<void>;
}

/** A queued verification request and the key it came with. */
export interface QueuedVerification extends VerificationRequest {
  readonly key: string;
}

/**
 * The operators' verification queue, in memory. A key seen before is not queued again.
 *
 * @example
 * const verifications = new MemoryVerificationQueue();
 * await verifications.enqueue(ctx.intentId, { paymentId, amount, currency, customerId });
 * verifications.pending(); // [{ key, paymentId, … }]
 */
export class MemoryVerificationQueue implements VerificationQueue {
  readonly #queued = new Map<string, QueuedVerification>();
  #requests = 0;

  async enqueue(key: string, request: VerificationRequest, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.#requests++;
    if (!this.#queued.has(key)) this.#queued.set(key, { key, ...request });
  }

  /** Every request queued, oldest first, once per key. */
  pending(): QueuedVerification[] {
    return [...this.#queued.values()];
  }

  /** Calls received, repeats of a key included. */
  get requests(): number {
    return this.#requests;
  }
}

/** A message as the mailer sent it. */
export interface SentMessage extends CustomerMessage {
  readonly key: string;
}

/**
 * A mailer that keeps what it sends instead of sending it. A key seen before is not sent
 * again, so a retried `NotifyCustomer` intent mails the customer once.
 *
 * @example
 * const mailer = new MemoryMailer();
 * await mailer.send(ctx.intentId, { paymentId, customerId, template: "authorized" });
 * mailer.sentTo(customerId); // [{ key, paymentId, customerId, template: "authorized" }]
 */
export class MemoryMailer implements Mailer {
  readonly #sent = new Map<string, SentMessage>();
  #requests = 0;

  async send(key: string, message: CustomerMessage, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.#requests++;
    if (!this.#sent.has(key)) this.#sent.set(key, { key, ...message });
  }

  /** Every message sent, oldest first, once per key. */
  sent(): SentMessage[] {
    return [...this.#sent.values()];
  }

  /** The messages one customer got. */
  sentTo(customerId: CustomerId): SentMessage[] {
    return this.sent().filter((message) => message.customerId === customerId);
  }

  /** The messages about one payment. */
  about(paymentId: PaymentId): SentMessage[] {
    return this.sent().filter((message) => message.paymentId === paymentId);
  }

  /** Calls received, repeats of a key included. */
  get requests(): number {
    return this.#requests;
  }
}
