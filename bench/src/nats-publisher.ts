// The NATS row's publisher, a process of its own (as the HTTP rows' load generator is): the
// benchmark's workload published into DROVER_EVENTS with `Nats-Msg-Id` = event id, many
// publishes in flight, each awaiting its PubAck. Ends with one line of JSON on stdout.
//
//   node nats-publisher.js '{"url":"nats://127.0.0.1:4222","entities":1000,"events":50000,"window":256}'
import { eventsSubject } from "@drover/nats";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { now } from "./measure.js";
import { BENCH_MACHINE } from "./payment-machine.js";
import { Workload } from "./workload.js";

/** What the parent asks for. */
export interface PublisherRequest {
  readonly url: string;
  readonly entities: number;
  readonly events: number;
  /** Publishes in flight at once (each awaits its PubAck before its lane takes the next event). */
  readonly window: number;
}

/** The publisher's one-line report. */
export type PublisherReport =
  | {
      readonly ok: true;
      /** PubAcks received (stored, or recognised as duplicates). */
      readonly published: number;
      /** PubAcks that said JetStream already held the `Nats-Msg-Id`: must be 0 here. */
      readonly duplicates: number;
      /** From the first publish to the last PubAck. */
      readonly seconds: number;
      readonly eventsPerSecond: number;
      /** The stream sequence of the last message stored. */
      readonly lastSeq: number;
    }
  | { readonly ok: false; readonly error: string };

/**
 * Publish the workload: round robin over the entities, each entity's events in order. `window`
 * lanes pull from the one workload, each awaiting its PubAck before taking the next event. One
 * connection: the server stores the messages in the order they were sent, which is the order
 * they were pulled, so each entity's events are stored in order. A failed publish fails the run
 * (a retry could store an event after its successor).
 */
async function publish(request: PublisherRequest): Promise<PublisherReport> {
  const nc = await connect({ servers: request.url, maxReconnectAttempts: 0 });
  try {
    const js = jetstream(nc, { timeout: 30_000 });
    const workload = new Workload({ entities: request.entities, events: request.events });
    let published = 0;
    let duplicates = 0;
    let lastSeq = 0;
    const lane = async (): Promise<void> => {
      for (let e = workload.next(); e !== undefined; e = workload.next()) {
        const ack = await js.publish(eventsSubject(BENCH_MACHINE, e.entity), JSON.stringify(e.event), {
          msgID: e.eventId,
        });
        published += 1;
        if (ack.duplicate) duplicates += 1;
        if (ack.seq > lastSeq) lastSeq = ack.seq;
      }
    };
    const started = now();
    await Promise.all(Array.from({ length: request.window }, lane));
    const seconds = (now() - started) / 1000;
    return { ok: true, published, duplicates, seconds, eventsPerSecond: published / seconds, lastSeq };
  } finally {
    await nc.close();
  }
}

const request = JSON.parse(process.argv[2] ?? "{}") as PublisherRequest;
const report: PublisherReport = await publish(request).catch((error: unknown) => ({
  ok: false as const,
  error: error instanceof Error ? error.message : String(error),
}));
console.log(JSON.stringify(report));
