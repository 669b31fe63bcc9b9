import type {
  App,
  AttemptOutcome,
  AttemptReport,
  ResultReport,
  RunResultKind,
  TimerOutcome,
  TimerReport,
} from "@drover/core";
import { AttemptOutcome as Attempt, TimerOutcome as Firing, RunResultKind as Kind } from "@drover/core";
import { isoTime } from "./bodies.js";
import { type StatsBody, type StepNotice, StreamEvent, type StreamMessage } from "./wire.js";

/** What {@link LiveFeed.subscribe} listeners receive: the stream's messages but `stats`. */
export type LiveMessage = Exclude<StreamMessage, { readonly event: typeof StreamEvent.Stats }>;

/**
 * What this server's app does, as it happens: every event's result, every dispatcher attempt,
 * every dead letter and every dead timer, fanned out to subscribers (the dashboard's stream),
 * plus running counters. Only the work of this process is seen; the outbox and timer figures
 * come from the store.
 *
 * @example
 * const live = new LiveFeed(app);
 * const stop = live.subscribe((message) => console.log(message.event, message.data));
 */
export class LiveFeed {
  readonly #app: App;
  readonly #listeners = new Set<(message: LiveMessage) => void>();
  readonly #results = new Map<string, Partial<Record<RunResultKind, number>>>();
  readonly #attempts: Record<AttemptOutcome, number> = { done: 0, retry: 0, dead: 0 };
  readonly #firings: Record<TimerOutcome, number> = { fired: 0, retry: 0, dead: 0 };
  readonly #known: ReadonlySet<string>;
  readonly #startedAt = Date.now();
  readonly #unsubscribe: () => void;

  constructor(app: App) {
    this.#app = app;
    // Counter keys come from our machine names only, never from what a caller typed.
    this.#known = new Set(app.machines.map((m) => m.name));
    for (const name of this.#known) this.#results.set(name, {});
    this.#unsubscribe = app.observe({
      onResult: (report) => this.#onResult(report),
      onAttempt: (report) => this.#onAttempt(report),
      onTimer: (report) => this.#onTimer(report),
    });
  }

  /** Receive every message from now on; returns a function that stops it. */
  subscribe(listener: (message: LiveMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The counters, and the outbox and the timers by status. */
  async stats(): Promise<StatsBody> {
    const [outbox, timers] = await Promise.all([this.#app.outboxStats(), this.#app.timerStats()]);
    return {
      at: isoTime(Date.now()),
      startedAt: isoTime(this.#startedAt),
      results: Object.fromEntries([...this.#results].map(([name, kinds]) => [name, { ...kinds }])),
      attempts: { ...this.#attempts },
      outbox,
      timers,
      timerFirings: { ...this.#firings },
    };
  }

  close(): void {
    this.#unsubscribe();
    this.#listeners.clear();
  }

  #onResult({ machine, id, event, result }: ResultReport): void {
    const counts = this.#results.get(machine);
    if (counts === undefined) return; // an unknown machine: `invalid`, nothing to show
    counts[result.kind] = (counts[result.kind] ?? 0) + 1;
    if (this.#listeners.size === 0) return;
    const type = typeOf(event);
    const base = { machine, id, kind: result.kind, type, at: isoTime(Date.now()) };
    let notice: StepNotice;
    switch (result.kind) {
      case Kind.Processed:
        notice = {
          ...base,
          eventId: result.eventId,
          version: result.version,
          status: this.#app.machine(machine)?.stateName(result.state) ?? null,
          intents: result.intents.map((record) => typeOf(record.intent) ?? "?"),
        };
        break;
      case Kind.Rejected:
        notice = { ...base, eventId: result.eventId, version: result.version, reason: result.reason };
        break;
      case Kind.Duplicate:
      case Kind.NotFound:
      case Kind.Conflict:
        notice = { ...base, eventId: result.eventId };
        break;
      case Kind.Invalid:
        notice = { ...base, eventId: null, reason: result.reason };
        break;
      case Kind.Unreadable:
        notice = { ...base, eventId: result.eventId, reason: result.reason };
        break;
      default: {
        const _exhaustive: never = result;
        throw new Error(`unknown result ${JSON.stringify(_exhaustive)}`);
      }
    }
    this.#emit({ event: StreamEvent.Step, data: notice });
  }

  #onAttempt({ machine, entityId, intentId, intentType, outcome, attempt, error }: AttemptReport): void {
    if (outcome in this.#attempts) this.#attempts[outcome]++;
    if (this.#listeners.size === 0) return;
    const at = isoTime(Date.now());
    this.#emit({
      event: StreamEvent.Attempt,
      data: {
        machine,
        entityId,
        intentId,
        intentType,
        outcome,
        attempt,
        ...(error === undefined ? {} : { error }),
        at,
      },
    });
    if (outcome === Attempt.Dead) {
      this.#emit({
        event: StreamEvent.DeadLetter,
        data: { intentId, machine, entityId, intentType, attempts: attempt, error: error ?? "unknown error", at },
      });
    }
  }

  #onTimer({ timerId, machine, entityId, outcome, attempt, error }: TimerReport): void {
    if (outcome in this.#firings) this.#firings[outcome]++;
    if (outcome !== Firing.Dead || this.#listeners.size === 0) return;
    this.#emit({
      event: StreamEvent.TimerDead,
      data: { timerId, machine, entityId, attempts: attempt, error: error ?? "unknown error", at: isoTime(Date.now()) },
    });
  }

  #emit(message: LiveMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch {
        // A listener's trouble (a closed socket) is its own; the others still hear.
      }
    }
  }
}

function typeOf(value: unknown): string | null {
  if (value === null || typeof value !== "object") return null;
  const type = (value as { type?: unknown }).type;
  return typeof type === "string" ? type : null;
}
