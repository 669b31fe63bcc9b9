// Intents out: an effect handler that publishes an intent to `drover.<machine>.intents.<type>`
// with `Nats-Msg-Id` = the intent id. The dispatcher retries a failed publish; JetStream's
// de-duplication window absorbs the retries of a publish whose PubAck was lost, and the intent
// is done once the PubAck says the stream stored it.
import type { AnyMachine, EffectHandler, Effects, Typed } from "@drover/core";
import { declaredIntentTypes, traceParentOf } from "@drover/core";
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { context } from "@opentelemetry/api";
import { Header, intentSubject } from "./subjects.js";

/** Settings of {@link publishIntent}. */
export interface PublishOptions {
  /** How long to wait for the PubAck before the attempt fails and is retried (default 5 s). */
  readonly timeoutMs?: number;
}

/**
 * An effect handler that publishes each intent it is given (body: the intent's JSON; headers:
 * `Nats-Msg-Id` and `Drover-Intent-Id` = the intent id, `Drover-Machine`,
 * `Drover-Entity-Id`, `Drover-Intent-Type`, and `traceparent` when the attempt is traced).
 *
 * @example
 * import { jetstream } from "@nats-io/jetstream";
 *
 * const handler = publishIntent(jetstream(connection));
 * new App({ store, machines: [doors], effects: [{ machine: "doors", handlers: { Ring: handler } }] });
 */
export function publishIntent(js: JetStreamClient, options: PublishOptions = {}): EffectHandler<Typed> {
  return async (intent, ctx) => {
    const headers = natsHeaders();
    headers.set(Header.IntentId, ctx.intentId);
    headers.set(Header.Machine, ctx.machine);
    headers.set(Header.EntityId, ctx.entityId);
    headers.set(Header.IntentType, intent.type);
    // The attempt's trace goes with the intent, for the consuming service to continue.
    const traceParent = traceParentOf(context.active());
    if (traceParent !== undefined) headers.set("traceparent", traceParent);
    // A rejection (no stream, stream full, timeout) throws: the dispatcher retries with backoff.
    await js.publish(intentSubject(ctx.machine, intent.type), JSON.stringify(intent), {
      msgID: ctx.intentId,
      headers,
      timeout: options.timeoutMs ?? 5_000,
    });
  };
}

/**
 * The publishing handlers for the intent types of `machines` named in `types`, one
 * {@link Effects} per machine that declares any of them. Throws when a type is declared by
 * no machine (a typo in the config would otherwise publish nothing).
 *
 * @example
 * import { jetstream } from "@nats-io/jetstream";
 *
 * const effects = natsEffects(jetstream(connection), [doors], ["Ring"]);
 */
export function natsEffects(
  js: JetStreamClient,
  machines: readonly AnyMachine[],
  types: readonly string[],
  options: PublishOptions = {},
): Effects[] {
  const handler = publishIntent(js, options);
  const unclaimed = new Set(types);
  const effects: Effects[] = [];
  for (const machine of machines) {
    const mine = (declaredIntentTypes(machine) ?? []).filter((type) => types.includes(type));
    for (const type of mine) unclaimed.delete(type);
    if (mine.length > 0) {
      effects.push({ machine: machine.name, handlers: Object.fromEntries(mine.map((type) => [type, handler])) });
    }
  }
  if (unclaimed.size > 0) {
    throw new Error(
      `nats.publish names intent types no machine declares: ${[...unclaimed].join(", ")} (declared: ${machines
        .flatMap((m) => (declaredIntentTypes(m) ?? []).map((type) => `${m.name}.${type}`))
        .join(", ")})`,
    );
  }
  return effects;
}

/** The subjects the handlers of `effects` publish to, for {@link ensureIntentsStream}. */
export function publishedSubjects(effects: readonly Effects[]): string[] {
  return effects.flatMap((e) => Object.keys(e.handlers).map((type) => intentSubject(e.machine, type)));
}
