import type { AppObserver } from "../app.js";
import type { AttemptOutcome, AttemptReport } from "../dispatcher.js";
import type { EffectContext, EffectHandler, Effects, FollowUp } from "../effects.js";
import { declaredIntentTypes } from "../effects.js";
import { ConfigurationError, PermanentEffectError } from "../errors.js";
import type { AnyMachine, Typed } from "../machine.js";
import type { Clock } from "../ports.js";
import { describeError } from "../work-loop.js";

/** An intent as its handler got it: a `type` and the intent's other fields. */
export interface IntentBody {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** One attempt at an intent, as a test app saw it: what was asked, when, and how it ended. */
export interface HandledIntent {
  readonly machine: string;
  readonly entityId: string;
  /** The intent's stable id, `machine/entityId/version/index`. */
  readonly intentId: string;
  readonly type: string;
  readonly intent: IntentBody;
  /** 1 on the first try. */
  readonly attempt: number;
  /** The test clock's instant when the handler was called. */
  readonly at: number;
  /**
   * How the dispatcher settled the attempt: `done`, `retry` (a later attempt is due) or `dead`;
   * `undefined` while it runs, or when the outcome could not be recorded.
   */
  readonly outcome: AttemptOutcome | undefined;
  /** What the handler threw, spelled as the outbox's `lastError` spells it; absent when it did not throw. */
  readonly error?: string;
}

/**
 * What a handler does for one attempt in a test: return follow-up events (or nothing) to
 * succeed, throw to fail. See {@link answers} for the usual ones.
 */
export type Answer = (
  intent: IntentBody,
  ctx: EffectContext,
  // biome-ignore lint/suspicious/noConfusingVoidType: like EffectHandler, an answer with nothing to say just returns.
) => readonly FollowUp[] | void | Promise<readonly FollowUp[] | void>;

/**
 * The usual answers of a test's effect handler: succeed (with follow-ups), fail (retried with
 * backoff), or refuse for good (dead-lettered at once, a `PermanentEffectError`).
 *
 * @example
 * const app = testApp({ machines: [tallyMachine], record: ["Noted"] });
 * // The next three attempts at a Noted intent, whichever tally's:
 * app.answer(
 *   "Noted",
 *   answers.fail("provider down"), // fails: retried after its backoff
 *   answers.refuse("no such mailbox"), // refused for good: dead-lettered at once
 *   answers.ok(followUp(tallyMachine, "t_1", { type: "Close" })), // succeeds, and closes tally t_1
 * );
 */
export const answers = {
  /** Succeed, sending back these follow-up events (none: just succeed). */
  ok:
    (...followUps: FollowUp[]): Answer =>
    () =>
      followUps,
  /** Fail this attempt: the dispatcher retries it after its backoff, or dead-letters it after `maxAttempts`. */
  fail:
    (message = "the test made this attempt fail"): Answer =>
    () => {
      throw new Error(message);
    },
  /** Refuse for good: a `PermanentEffectError`, so the intent is dead-lettered at once. */
  refuse:
    (message = "the test refused this intent for good"): Answer =>
    () => {
      throw new PermanentEffectError(message);
    },
} as const;

/** A {@link HandledIntent} being written: its outcome arrives after the handler returned. */
interface Attempt {
  readonly machine: string;
  readonly entityId: string;
  readonly intentId: string;
  readonly type: string;
  readonly intent: IntentBody;
  readonly attempt: number;
  readonly at: number;
  outcome: AttemptOutcome | undefined;
  error: string | undefined;
}

/**
 * The test app's effect handlers: every handler the test supplies, and a succeeding one for
 * each recorded intent type, wrapped so that each attempt is logged (with the clock's time)
 * and answered first by what the test scripted for it. Internal to the kit: tests reach it
 * through `TestApp.answer` and `TestApp.handled`.
 */
export class TestEffects {
  readonly #clock: Clock;
  readonly #log: Attempt[] = [];
  readonly #scripts = new Map<string, Answer[]>();
  readonly #always = new Map<string, Answer>();
  readonly #served = new Set<string>();
  /** Hand it to `App.observe`: it learns how each attempt ended. */
  readonly observer: AppObserver = { onAttempt: (report) => this.#settled(report) };

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * The effects to wire the app with: `supplied` as they are, plus a handler that succeeds for
   * each type in `record` (replacing a supplied one of that type), all of them wrapped.
   */
  effects(machines: readonly AnyMachine[], supplied: readonly Effects[], record: readonly string[]): Effects[] {
    const byMachine = new Map<string, Map<string, EffectHandler<Typed> | undefined>>();
    const handlersOf = (machine: string) => {
      const known = byMachine.get(machine);
      if (known !== undefined) return known;
      const fresh = new Map<string, EffectHandler<Typed> | undefined>();
      byMachine.set(machine, fresh);
      return fresh;
    };
    for (const effects of supplied) {
      const handlers = handlersOf(effects.machine);
      for (const [type, handler] of Object.entries(effects.handlers)) {
        if (handlers.has(type))
          throw new ConfigurationError(`two effect handlers for ${effects.machine} intent ${type}`);
        handlers.set(type, handler);
      }
    }
    for (const type of record) {
      const takers = machines.filter((machine) => declaredIntentTypes(machine)?.includes(type) ?? true);
      if (takers.length === 0) {
        const declared = machines.flatMap((machine) => declaredIntentTypes(machine) ?? []);
        throw new ConfigurationError(
          `record names the intent type "${type}", which no machine of this test app declares (declared: ${declared.join(", ") || "none"})`,
        );
      }
      for (const machine of takers) handlersOf(machine.name).set(type, undefined);
    }
    return [...byMachine].map(([machine, handlers]) => ({
      machine,
      handlers: Object.fromEntries([...handlers].map(([type, real]) => [type, this.#wrap(type, real)])),
    }));
  }

  /** Queue answers for the next attempts at intents of `type`, one per attempt, whatever the entity. */
  answer(type: string, script: readonly Answer[]): void {
    this.#mustServe(type);
    this.#scripts.set(type, [...(this.#scripts.get(type) ?? []), ...script]);
  }

  /** Answer every attempt at `type` with `answer` once the queued answers are used up. */
  answerAlways(type: string, answer: Answer): void {
    this.#mustServe(type);
    this.#always.set(type, answer);
  }

  /** Every attempt so far, in the order the handlers were called; only those of `type` if given. */
  handled(type?: string): HandledIntent[] {
    return this.#log
      .filter((attempt) => type === undefined || attempt.type === type)
      .map(({ error, ...attempt }) => ({ ...attempt, ...(error === undefined ? {} : { error }) }));
  }

  #mustServe(type: string): void {
    if (!this.#served.has(type)) {
      throw new ConfigurationError(
        `no effect handler serves "${type}" in this test app, so nothing would ask for an answer: name it in record, or supply its handler in effects`,
      );
    }
  }

  #wrap(type: string, real: EffectHandler<Typed> | undefined): EffectHandler<Typed> {
    this.#served.add(type);
    return async (intent, ctx) => {
      const body = intent as IntentBody;
      const attempt: Attempt = {
        machine: ctx.machine,
        entityId: ctx.entityId,
        intentId: ctx.intentId,
        type,
        intent: body,
        attempt: ctx.attempt,
        at: this.#clock.now(),
        outcome: undefined,
        error: undefined,
      };
      this.#log.push(attempt);
      const act: Answer = this.#scripts.get(type)?.shift() ?? this.#always.get(type) ?? real ?? succeed;
      try {
        return await act(body, ctx);
      } catch (error) {
        attempt.error = describeError(error);
        throw error;
      }
    };
  }

  #settled(report: AttemptReport): void {
    for (let i = this.#log.length - 1; i >= 0; i--) {
      const attempt = this.#log[i];
      if (attempt?.intentId === report.intentId && attempt.outcome === undefined) {
        attempt.outcome = report.outcome;
        return;
      }
    }
  }
}

const succeed: Answer = () => undefined;
