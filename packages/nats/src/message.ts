// What an ingress message means: the entity its subject names, the event its body holds and
// the event id (its Nats-Msg-Id, else one made from the stream's creation and the sequence).
// Shared by messages delivered by the consumer and those the order guard adopts.
import type { EntityRef, RunResult } from "@drover/core";
import { InvalidReason, RunResultKind } from "@drover/core";
import type { MsgHdrs } from "@nats-io/nats-core";
import { Header, parseEntitySubject } from "./subjects.js";

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A message's meaning, or why it has none (answered `invalid`). */
export type Decoded =
  | { readonly ok: true; readonly target: EntityRef; readonly event: unknown; readonly eventId: string }
  | { readonly ok: false; readonly result: RunResult };

/**
 * Decode one stored message. `streamEpoch` (the stream's creation, epoch ms) goes into
 * generated event ids: a stream deleted and made again restarts its sequence, and its
 * messages must not be taken for the old ones.
 */
export function decode(
  message: { readonly subject: string; readonly seq: number; readonly data: Uint8Array },
  headers: MsgHdrs | undefined,
  streamEpoch: number,
): Decoded {
  const target = parseEntitySubject(message.subject);
  if (target === undefined) {
    return { ok: false, result: invalid(InvalidReason.InvalidId, `subject ${message.subject} names no entity`) };
  }
  const eventId = headers?.get(Header.MsgId) || `nats-${streamEpoch}-${message.seq}`;
  try {
    const event: unknown = JSON.parse(UTF8.decode(message.data));
    return { ok: true, target, event, eventId };
  } catch {
    return { ok: false, result: invalid(InvalidReason.InvalidEvent, "the message body is not JSON (UTF-8)") };
  }
}

function invalid(reason: InvalidReason, message: string): RunResult {
  return { kind: RunResultKind.Invalid, reason, message, issues: [] };
}

/** Whether a result is final: its outcome is durable, or there is nothing to write (acknowledge it). */
export function isFinal(result: RunResult): boolean {
  return result.kind !== RunResultKind.Conflict && result.kind !== RunResultKind.Unreadable;
}
