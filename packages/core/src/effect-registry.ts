import type { EffectLimit } from "./effect-limits.js";
import { checkLimit } from "./effect-limits.js";
import type { EffectHandler, Effects } from "./effects.js";
import { ConfigurationError } from "./errors.js";
import type { Typed } from "./machine.js";

/** The effect handlers and limits of a {@link Dispatcher}, by {@link handlerKey}. */
export interface EffectRegistry {
  readonly handlers: ReadonlyMap<string, EffectHandler<Typed>>;
  readonly limits: ReadonlyMap<string, readonly EffectLimit<Typed>[]>;
}

/** Index the handlers and limits of `effects`; a {@link ConfigurationError} for a clash or a limit without handler. */
export function effectRegistry(effectsList: readonly Effects[]): EffectRegistry {
  const handlers = new Map<string, EffectHandler<Typed>>();
  for (const effects of effectsList) {
    for (const [type, handler] of Object.entries(effects.handlers)) {
      const key = handlerKey(effects.machine, type);
      if (handlers.has(key)) throw new ConfigurationError(`two effect handlers for ${effects.machine} intent ${type}`);
      handlers.set(key, handler);
    }
  }
  const limits = new Map<string, readonly EffectLimit<Typed>[]>();
  for (const effects of effectsList) {
    for (const [type, list] of Object.entries(effects.limits ?? {})) {
      if (!handlers.has(handlerKey(effects.machine, type)))
        throw new ConfigurationError(`a limit for ${effects.machine} intent ${type}, which has no effect handler`);
      for (const limit of list) checkLimit(`the limit of ${effects.machine} intent ${type}`, limit);
      limits.set(handlerKey(effects.machine, type), list);
    }
  }
  return { handlers, limits };
}

export function handlerKey(machine: string, type: string): string {
  return `${machine}\u0000${type}`;
}
