// `drover serve --nats` and `drover send --via nats`: where NATS is, and how its publishing
// handlers take over the intent types the config lists.
import type { Effects } from "@drover/core";

/** The NATS URL from `--nats`, else `DROVER_NATS`; `undefined` leaves NATS off. */
export function natsUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const url = flag ?? env.DROVER_NATS;
  return url === undefined || url === "" ? undefined : url;
}

/**
 * The config's effect handlers with those for the intent types NATS publishes taken out, then
 * the publishing handlers: an intent type has one handler, and with NATS on it is the publisher.
 */
export function withPublishers(own: readonly Effects[], publishers: readonly Effects[]): Effects[] {
  const published = new Set(
    publishers.flatMap((e) => Object.keys(e.handlers).map((type) => `${e.machine}\u0000${type}`)),
  );
  const kept = own.map((e) => ({
    machine: e.machine,
    handlers: Object.fromEntries(
      Object.entries(e.handlers).filter(([type]) => !published.has(`${e.machine}\u0000${type}`)),
    ),
  }));
  return [...kept.filter((e) => Object.keys(e.handlers).length > 0), ...publishers];
}
