// Creating (or checking) the streams and the consumer drover uses, with stated limits: a work
// queue of events that never silently drops one, and the intents' subjects captured so a
// publish gets a PubAck.
import type { JetStreamManager, StreamConfig, StreamInfo } from "@nats-io/jetstream";
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { EVENTS_STREAM, EVENTS_SUBJECTS, INGRESS_CONSUMER, INTENTS_STREAM } from "./subjects.js";

/** Limits of the streams drover creates. Existing streams keep their own. */
export interface StreamLimits {
  /** Bytes the events stream may hold (default 1 GiB); beyond it a publish is refused, nothing dropped. */
  readonly eventsMaxBytes?: number;
  /** Largest event message in bytes (default 64 KiB, as over HTTP). */
  readonly maxMessageBytes?: number;
  /** JetStream's de-duplication window on `Nats-Msg-Id` (default 2 min); drover's inbox de-duplicates for ever. */
  readonly duplicateWindowMs?: number;
  /** How long intents stay in the intents stream (default 7 days). */
  readonly intentsMaxAgeMs?: number;
  /** Bytes the intents stream may hold (default 1 GiB; the oldest go first). */
  readonly intentsMaxBytes?: number;
}

/** The consumer's settings, applied on every start (the last process started wins). */
export interface ConsumerSettings {
  /** How long a delivered message may stay unacknowledged before it is redelivered (default 30 s). */
  readonly ackWaitMs?: number;
  /** Messages delivered and not yet acknowledged, across all processes (default 1,024). */
  readonly maxAckPending?: number;
}

const MS = 1_000_000; // JetStream durations are nanoseconds.

/**
 * Make sure `DROVER_EVENTS` exists: a work queue (a message leaves the stream when drover
 * acknowledges it, which the ordering check relies on), file storage, `discard: new` (a full
 * stream refuses publishes rather than dropping events nobody has run), direct gets allowed.
 * An existing stream must be a work queue on the events subjects; it is left as it is
 * otherwise, except that direct gets are switched on.
 */
export async function ensureEventsStream(jsm: JetStreamManager, limits: StreamLimits = {}): Promise<StreamInfo> {
  const existing = await streamInfo(jsm, EVENTS_STREAM);
  if (existing !== undefined) {
    const { config } = existing;
    if (config.retention !== RetentionPolicy.Workqueue || !config.subjects?.includes(EVENTS_SUBJECTS)) {
      throw new Error(
        `stream ${EVENTS_STREAM} exists but is not a work queue on ${EVENTS_SUBJECTS} (retention ${config.retention}, subjects ${JSON.stringify(config.subjects)}); delete it or fix it`,
      );
    }
    if (config.allow_direct) return existing;
    return jsm.streams.update(EVENTS_STREAM, { ...config, allow_direct: true });
  }
  const config: Partial<StreamConfig> & { name: string } = {
    name: EVENTS_STREAM,
    subjects: [EVENTS_SUBJECTS],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_bytes: limits.eventsMaxBytes ?? 1024 ** 3,
    max_msg_size: limits.maxMessageBytes ?? 64 * 1024,
    duplicate_window: (limits.duplicateWindowMs ?? 120_000) * MS,
    allow_direct: true,
  };
  return addRacing(jsm, config);
}

/** Make sure the shared durable consumer exists with `settings` (updated when it differs). */
export async function ensureIngressConsumer(jsm: JetStreamManager, settings: ConsumerSettings = {}): Promise<void> {
  const wanted = {
    ack_wait: (settings.ackWaitMs ?? 30_000) * MS,
    max_ack_pending: settings.maxAckPending ?? 1024,
  };
  const existing = await jsm.consumers.info(EVENTS_STREAM, INGRESS_CONSUMER).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  if (existing === undefined) {
    try {
      await jsm.consumers.add(EVENTS_STREAM, {
        durable_name: INGRESS_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        // Never give up on an event: one that keeps failing is held, not dropped (counted and logged).
        max_deliver: -1,
        ...wanted,
      });
      return;
    } catch (error) {
      // Another process created it first.
      if (!/already (exists|in use)/i.test(String(error))) throw error;
      return;
    }
  }
  const { config } = existing;
  if (config.ack_wait !== wanted.ack_wait || config.max_ack_pending !== wanted.max_ack_pending) {
    await jsm.consumers.update(EVENTS_STREAM, INGRESS_CONSUMER, wanted);
  }
}

/**
 * Make sure every subject in `subjects` is stored by some stream, so a publish gets a PubAck:
 * subjects no stream holds are added to `DROVER_INTENTS` (limits retention, file storage,
 * bounded by age and bytes). Subjects another stream already holds are left to it.
 */
export async function ensureIntentsStream(
  jsm: JetStreamManager,
  subjects: readonly string[],
  limits: StreamLimits = {},
): Promise<void> {
  const missing: string[] = [];
  for (const subject of subjects) {
    const holder = await jsm.streams.find(subject).catch(() => undefined);
    if (holder === undefined || holder === "") missing.push(subject);
  }
  if (missing.length === 0) return;
  const existing = await streamInfo(jsm, INTENTS_STREAM);
  if (existing !== undefined) {
    const all = [...new Set([...(existing.config.subjects ?? []), ...missing])];
    await jsm.streams.update(INTENTS_STREAM, { ...existing.config, subjects: all });
    return;
  }
  await addRacing(jsm, {
    name: INTENTS_STREAM,
    subjects: missing,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: (limits.intentsMaxAgeMs ?? 7 * 24 * 3600_000) * MS,
    max_bytes: limits.intentsMaxBytes ?? 1024 ** 3,
    duplicate_window: (limits.duplicateWindowMs ?? 120_000) * MS,
  });
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function addRacing(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  try {
    return await jsm.streams.add(config);
  } catch (error) {
    // Two processes starting at once: the other one made it.
    if (/already in use|already exists/i.test(String(error))) return jsm.streams.info(config.name);
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return /not found/i.test(error instanceof Error ? error.message : String(error));
}
