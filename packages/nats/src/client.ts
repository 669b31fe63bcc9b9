// Sending an event over NATS and waiting for its result: what `drover send --via nats` and a
// service written in TypeScript do. Any NATS client can do the same by hand: publish to the
// entity's subject with `Nats-Msg-Id` and `Drover-Reply-To`, and listen on that subject.
import type { RunResult } from "@drover/core";
import type { JetStreamClient } from "@nats-io/jetstream";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { createInbox, headers as natsHeaders } from "@nats-io/nats-core";
import { eventsSubject, Header } from "./subjects.js";

/** One event to send. */
export interface NatsEvent {
  readonly machine: string;
  readonly id: string;
  readonly event: unknown;
  /** The event id (`Nats-Msg-Id`); without one the stream sequence makes one (no retry is then recognised). */
  readonly eventId?: string;
}

/** What {@link sendEvent} saw. */
export type SendOutcome =
  /** drover ran the event and answered with its result. */
  | { readonly kind: "answered"; readonly seq: number; readonly result: RunResult }
  /**
   * JetStream already holds a message with this event id (within its de-duplication window):
   * the first one's result went to its sender. Ask the HTTP API (`GET /v1/…`) for the entity.
   */
  | { readonly kind: "duplicate_message"; readonly seq: number }
  /** Stored, but no answer came in time (no drover process consuming, or a long backlog). */
  | { readonly kind: "no_answer"; readonly seq: number };

/**
 * Publish an event into `DROVER_EVENTS` and wait (at most `timeoutMs`, default 10 s) for the
 * `RunResult` drover answers once the outcome is durable.
 *
 * @example
 * const outcome = await sendEvent(connection, { machine: "payments", id: "pay_0123456789abcdef", event: { type: "CancelPayment" }, eventId: "evt_1" });
 * if (outcome.kind === "answered") console.log(outcome.result.kind);
 */
export async function sendEvent(
  connection: NatsConnection,
  message: NatsEvent,
  options: { readonly timeoutMs?: number; readonly js?: JetStreamClient } = {},
): Promise<SendOutcome> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const inbox = createInbox();
  const subscription = connection.subscribe(inbox, { max: 1, timeout: timeoutMs });
  try {
    const headers = natsHeaders();
    headers.set(Header.ReplyTo, inbox);
    const js = options.js ?? jetstream(connection);
    const ack = await js.publish(eventsSubject(message.machine, message.id), JSON.stringify(message.event), {
      headers,
      ...(message.eventId === undefined ? {} : { msgID: message.eventId }),
    });
    if (ack.duplicate) return { kind: "duplicate_message", seq: ack.seq };
    try {
      for await (const reply of subscription) {
        return { kind: "answered", seq: ack.seq, result: reply.json<RunResult>() };
      }
    } catch (error) {
      if (/timeout/i.test(String(error))) return { kind: "no_answer", seq: ack.seq };
      throw error;
    }
    return { kind: "no_answer", seq: ack.seq };
  } finally {
    subscription.unsubscribe();
  }
}
