import { setMaxListeners } from "node:events";
import type { EffectContext, EffectHandler, FollowUp } from "./effects.js";
import { EffectTimeoutError } from "./errors.js";
import type { Typed } from "./machine.js";

/**
 * Run one effect handler attempt: it fails after `timeoutMs`, when the dispatcher is
 * `stopping`, or when its `lease` is lost; each aborts the handler's signal.
 */
export function attemptEffect(
  handler: EffectHandler<Typed>,
  intent: Typed,
  ctx: Omit<EffectContext, "signal">,
  lease: AbortSignal,
  stopping: AbortSignal,
  timeoutMs: number,
  // biome-ignore lint/suspicious/noConfusingVoidType: mirrors EffectHandler's answer.
): Promise<readonly FollowUp[] | void> {
  const controller = new AbortController();
  return new Promise((resolve, reject) => {
    if (lease.aborted) {
      reject(lease.reason);
      return;
    }
    const timer = setTimeout(() => {
      const error = new EffectTimeoutError(`the ${intent.type} handler did not finish within ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
    const onStop = () => {
      controller.abort(stopping.reason);
      reject(new EffectTimeoutError(`the ${intent.type} handler was aborted: the dispatcher is stopping`));
    };
    const onLeaseLost = () => {
      controller.abort(lease.reason);
      reject(lease.reason);
    };
    stopping.addEventListener("abort", onStop, { once: true });
    lease.addEventListener("abort", onLeaseLost, { once: true });
    Promise.resolve()
      .then(() => handler(intent, { ...ctx, signal: controller.signal }))
      .then(resolve, reject)
      .finally(() => {
        clearTimeout(timer);
        stopping.removeEventListener("abort", onStop);
        lease.removeEventListener("abort", onLeaseLost);
      });
  });
}

/** Every attempt in flight listens to this signal: many listeners are expected, not a leak. */
export function stoppingController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
