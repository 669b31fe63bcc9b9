import { z } from "zod";
import type { EffectLimit } from "./effect-limits.js";
import type { AnyMachine, Machine, MachineEvent, MachineIntent, Typed } from "./machine.js";
import type { CANCEL_SCHEDULE, SCHEDULE } from "./schedule.js";
import { isTimerIntent } from "./schedule.js";

/** An event an effect handler sends back to an entity, e.g. the provider's answer. */
export interface FollowUp {
  readonly machine: string;
  readonly id: string;
  readonly event: unknown;
}

/** What an effect handler knows about the intent it performs. */
export interface EffectContext {
  /**
   * The intent's stable id, `machine/entityId/version/index`: pass it to the outside world
   * as the idempotency key, so a retried intent is recognised there.
   */
  readonly intentId: string;
  readonly machine: string;
  readonly entityId: string;
  /** 1 on the first try. */
  readonly attempt: number;
  /** Aborted when the attempt times out or the app stops: pass it to fetch and friends. */
  readonly signal: AbortSignal;
}

/**
 * Performs one intent type. Resolve when done (optionally with follow-up events); throw (or
 * reject) to have the attempt retried later with backoff. Each follow-up's event id is
 * derived from the intent id, so running an intent again never applies its follow-up twice.
 */
export type EffectHandler<Intent> = (
  intent: Intent,
  ctx: EffectContext,
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler with nothing to say just returns.
) => Promise<readonly FollowUp[] | void>;

type HandledIntent<M> = Exclude<MachineIntent<M>, { readonly type: typeof SCHEDULE | typeof CANCEL_SCHEDULE }>;

/** One handler per intent type of machine `M` (timers and their cancels are drover's, not listed). */
export type EffectHandlers<M> = {
  readonly [K in HandledIntent<M>["type"]]?: EffectHandler<Extract<HandledIntent<M>, { readonly type: K }>>;
};

/** Limits per intent type of machine `M`: one {@link EffectLimit} or several (all must have room). */
export type EffectLimits<M> = {
  readonly [K in HandledIntent<M>["type"]]?:
    | EffectLimit<Extract<HandledIntent<M>, { readonly type: K }>>
    | readonly EffectLimit<Extract<HandledIntent<M>, { readonly type: K }>>[];
};

/** The effect handlers of one machine, ready for the App. */
export interface Effects {
  readonly machine: string;
  readonly handlers: Readonly<Record<string, EffectHandler<Typed>>>;
  /** Limits on the attempts of its intent types, shared by every process on the store. */
  readonly limits?: Readonly<Record<string, readonly EffectLimit<Typed>[]>>;
}

/**
 * Bind effect handlers to a machine's intent types, optionally with {@link EffectLimit}s:
 * `limits: { AuthorizeWithProvider: { key: (i) => i.merchantId, concurrency: 4 } }`.
 *
 * @example
 * const doorEffects = defineEffects(doors, {
 *   Ring: async (_intent, ctx) => {
 *     await bell.ring({ idempotencyKey: ctx.intentId });
 *     return [followUp(doors, ctx.entityId, { type: "BellRang" })];
 *   },
 * });
 */
export function defineEffects<M extends AnyMachine>(
  machine: M,
  handlers: EffectHandlers<M>,
  options: { readonly limits?: EffectLimits<M> } = {},
): Effects {
  const effects = {
    machine: machine.name,
    handlers: handlers as unknown as Readonly<Record<string, EffectHandler<Typed>>>,
  };
  if (options.limits === undefined) return effects;
  const limits: Record<string, readonly EffectLimit<Typed>[]> = {};
  for (const [type, limit] of Object.entries(options.limits as Record<string, unknown>)) {
    if (limit === undefined) continue;
    limits[type] = (Array.isArray(limit) ? limit : [limit]) as readonly EffectLimit<Typed>[];
  }
  return { ...effects, limits };
}

/**
 * A follow-up event for an entity of `machine`, type-checked against its events.
 *
 * @example
 * return [followUp(doors, ctx.entityId, { type: "BellRang" })];
 */
export function followUp<M extends Machine<string, string, unknown, Typed, Typed, string, unknown>>(
  machine: M,
  id: string,
  event: M extends Machine<string, string, unknown, Typed, Typed, string, infer In> ? In : MachineEvent<M>,
): FollowUp {
  return { machine: machine.name, id, event };
}

/**
 * The intent types a machine's intent schema declares, read from the schema (a literal
 * `type` in an object, or a union of such objects); `undefined` when it cannot tell.
 */
export function declaredIntentTypes(machine: AnyMachine): string[] | undefined {
  const types = literalTypes(machine.schemas.intent);
  return types?.filter((type) => !isTimerIntent(type));
}

/**
 * The event types a machine's event schema declares (internal ones included: see
 * `Machine.internal`); `undefined` when it cannot tell.
 *
 * @example
 * declaredEventTypes(doors); // ["Install", "Open"]
 */
export function declaredEventTypes(machine: AnyMachine): string[] | undefined {
  return literalTypes(machine.schemas.event);
}

function literalTypes(schema: unknown): string[] | undefined {
  if (schema instanceof z.ZodNever) return [];
  if (schema instanceof z.ZodDiscriminatedUnion || schema instanceof z.ZodUnion) {
    const nested = (schema.options as readonly unknown[]).map(literalTypes);
    return nested.every((types) => types !== undefined) ? nested.flat() : undefined;
  }
  if (schema instanceof z.ZodObject) {
    const type = (schema.shape as Record<string, unknown>).type;
    if (type instanceof z.ZodLiteral)
      return [...type.values].filter((value): value is string => typeof value === "string");
  }
  return undefined;
}
