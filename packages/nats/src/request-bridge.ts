// Plain NATS request/reply: `nats req drover.<machine>.<id>.run '<event JSON>'` gets the
// RunResult. A request on a stream's subject would be answered by JetStream's PubAck, and a
// stored message keeps no reply subject, so requests come in on `.run`: one drover process (a
// queue group) stores the request on the entity's events subject with `Drover-Reply-To` set to
// the requester's inbox, and whichever process runs it answers there. The request keeps its
// `Nats-Msg-Id`, so retrying a request is recognised.
import type { Logger } from "@drover/core";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { eventsSubject, Header, parseEntitySubject, RUN_SUBJECTS } from "./subjects.js";

/** The answer to a request that could not be stored (not a RunResult: nothing ran). */
export interface BridgeError {
  readonly error: string;
  /** The stream sequence of the message already holding this event id, if that is why. */
  readonly duplicateOfSeq?: number;
}

/**
 * Listen on `drover.*.*.run` in the queue group `drover` until the subscription is unsubscribed.
 *
 * @example
 * import { jetstream } from "@nats-io/jetstream";
 *
 * const subscription = bridgeRequests(connection, jetstream(connection), logger);
 */
export function bridgeRequests(connection: NatsConnection, js: JetStreamClient, logger: Logger): Subscription {
  return connection.subscribe(RUN_SUBJECTS, {
    queue: "drover",
    callback: (error, msg) => {
      if (error !== null) {
        logger.warn({ err: error }, "NATS request bridge: subscription failed");
        return;
      }
      void forward(js, msg).catch((failure: unknown) => {
        logger.warn({ err: failure, subject: msg.subject }, "NATS request bridge: could not store a request");
        answer(msg, { error: `could not store the event: ${String(failure)}` });
      });
    },
  });
}

async function forward(js: JetStreamClient, msg: Msg): Promise<void> {
  const target = parseEntitySubject(msg.subject);
  if (target === undefined) return answer(msg, { error: `subject ${msg.subject} names no entity` });
  const headers = natsHeaders();
  const eventId = msg.headers?.get(Header.MsgId);
  if (msg.reply !== undefined && msg.reply !== "") headers.set(Header.ReplyTo, msg.reply);
  const ack = await js.publish(eventsSubject(target.machine, target.id), msg.data, {
    headers,
    ...(eventId === undefined || eventId === "" ? {} : { msgID: eventId }),
  });
  if (ack.duplicate) {
    answer(msg, {
      error: "a message with this Nats-Msg-Id is already stored; its result went to its sender",
      duplicateOfSeq: ack.seq,
    });
  }
}

function answer(msg: Msg, body: BridgeError): void {
  if (msg.reply !== undefined && msg.reply !== "") msg.respond(JSON.stringify(body));
}
