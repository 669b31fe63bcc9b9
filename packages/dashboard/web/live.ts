// The live feed: `GET /v1/stream` read with fetch (EventSource cannot send the Authorization
// header, and the token must never go into a URL), parsed as Server-Sent Events, reconnected
// after a pause when it drops. Keeps the recent steps and a short history of the counters for
// the charts.
import {
  type AttemptNotice,
  type DeadLetterNotice,
  type StatsBody,
  type StepNotice,
  StreamEvent,
  type StreamMessage,
  type TimerDeadNotice,
} from "@drover/http/wire";
import { session } from "./api.js";

/** A message of the stream as the page hears it: `stats` without figures is dropped. */
export type LiveMessage =
  | Exclude<StreamMessage, { readonly event: typeof StreamEvent.Stats }>
  | { readonly event: typeof StreamEvent.Stats; readonly data: StatsBody };

export type LiveStatus = "connecting" | "live" | "offline";

/** One point of the charts, derived from two consecutive stats. */
export interface Sample {
  readonly at: number;
  /** Events per second over the interval, all machines and kinds. */
  readonly eventsPerSecond: number;
  /** Events per second by result kind. */
  readonly byKind: Readonly<Record<string, number>>;
  readonly pending: number;
  readonly dead: number;
  readonly deadTimers: number;
}

/** Something an operator must see now: an intent dead-lettered or a timer dead, as it happened. */
export type Alert =
  | { readonly id: number; readonly event: typeof StreamEvent.DeadLetter; readonly data: DeadLetterNotice }
  | { readonly id: number; readonly event: typeof StreamEvent.TimerDead; readonly data: TimerDeadNotice };

const RECONNECT_MS = 2000;
const KEEP_ALERTS = 5;
const KEEP_STEPS = 50;
const KEEP_SAMPLES = 60;

/** The one live connection of the page. */
export class Live {
  status: LiveStatus = "offline";
  /** Newest first. */
  steps: StepNotice[] = [];
  samples: Sample[] = [];
  stats: StatsBody | null = null;
  /** Dead letters and dead timers not dismissed yet, newest first. */
  alerts: Alert[] = [];
  #alertIds = 0;
  readonly #listeners = new Set<(message: LiveMessage | null) => void>();
  #abort: AbortController | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Hear every message (and `null` when the status changes); returns a function that stops it. */
  subscribe(listener: (message: LiveMessage | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    this.stop();
    const abort = new AbortController();
    this.#abort = abort;
    void this.#connect(abort.signal);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#abort?.abort();
    this.#abort = null;
    this.#setStatus("offline");
  }

  async #connect(signal: AbortSignal): Promise<void> {
    this.#setStatus("connecting");
    try {
      const token = session.token();
      const response = await fetch("/v1/stream", {
        headers: { accept: "text/event-stream", ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
        cache: "no-store",
        credentials: "omit",
        signal,
      });
      if (!response.ok || response.body === null) throw new Error(`stream answered ${response.status}`);
      this.#setStatus("live");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          this.#onBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // Dropped or refused: try again shortly, unless we were stopped.
    }
    if (signal.aborted) return;
    this.#setStatus("offline");
    this.#timer = setTimeout(() => {
      if (!signal.aborted) void this.#connect(signal);
    }, RECONNECT_MS);
  }

  #onBlock(block: string): void {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.join("\n"));
    } catch {
      return;
    }
    if (parsed === null || typeof parsed !== "object") return;
    switch (event) {
      case StreamEvent.Step:
        this.steps = [parsed as StepNotice, ...this.steps].slice(0, KEEP_STEPS);
        this.#emit({ event, data: parsed as StepNotice });
        return;
      case StreamEvent.Attempt:
        this.#emit({ event, data: parsed as AttemptNotice });
        return;
      case StreamEvent.DeadLetter:
      case StreamEvent.TimerDead: {
        const alert = { id: ++this.#alertIds, event, data: parsed } as Alert;
        this.alerts = [alert, ...this.alerts].slice(0, KEEP_ALERTS);
        this.#emit({ event, data: parsed } as LiveMessage);
        return;
      }
      case StreamEvent.Stats:
        this.#onStats(parsed as StatsBody);
        this.#emit({ event, data: parsed as StatsBody });
        return;
      default:
        return;
    }
  }

  /** Dismiss an alert (its notice goes away). */
  dismiss(id: number): void {
    this.alerts = this.alerts.filter((alert) => alert.id !== id);
    this.#emit(null);
  }

  #onStats(stats: StatsBody): void {
    const previous = this.stats;
    this.stats = stats;
    if (previous === null) return;
    const seconds = (Date.parse(stats.at) - Date.parse(previous.at)) / 1000;
    if (!(seconds > 0)) return;
    const now = totalsByKind(stats);
    const before = totalsByKind(previous);
    const byKind: Record<string, number> = {};
    let all = 0;
    for (const [kind, count] of Object.entries(now)) {
      const rate = Math.max(0, count - (before[kind] ?? 0)) / seconds;
      byKind[kind] = rate;
      all += rate;
    }
    const sample: Sample = {
      at: Date.parse(stats.at),
      eventsPerSecond: all,
      byKind,
      pending: stats.outbox.pending ?? 0,
      dead: stats.outbox.dead ?? 0,
      // An older server's stats have no timers.
      deadTimers: stats.timers?.dead ?? 0,
    };
    this.samples = [...this.samples, sample].slice(-KEEP_SAMPLES);
  }

  #setStatus(status: LiveStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.#emit(null);
  }

  #emit(message: LiveMessage | null): void {
    for (const listener of this.#listeners) listener(message);
  }
}

/** Results of all machines, by kind. */
export function totalsByKind(stats: StatsBody): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const kinds of Object.values(stats.results)) {
    for (const [kind, count] of Object.entries(kinds)) totals[kind] = (totals[kind] ?? 0) + count;
  }
  return totals;
}

/** The page's live feed. */
export const live = new Live();
