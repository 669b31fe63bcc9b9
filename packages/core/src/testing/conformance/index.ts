import type { Store } from "../../ports.js";
import { claimsSpec } from "./claims.js";
import { deadTimersSpec } from "./dead-timers.js";
import { effectLimitsSpec } from "./effect-limits.js";
import { leasesSpec } from "./leases.js";
import { pausedIntentTypesSpec } from "./paused-intent-types.js";
import { readModelSpec } from "./read-model.js";
import type { ConformanceOptions } from "./suite.js";
import { throughAppSpec } from "./through-app.js";
import { throughRuntimeSpec } from "./through-runtime.js";
import { timerKeysSpec } from "./timer-keys.js";
import { traceContextSpec } from "./trace-context.js";
import { transactSpec } from "./transact.js";
import { unitOfWorkSpec } from "./unit-of-work.js";
import { versionsSpec } from "./versions.js";
import { workQueueSpec } from "./work-queue.js";

export type { ClaimSeen } from "./claim-race.js";
export { assertClaimRaceSettled, commitClaimRace, raceEntities } from "./claim-race.js";
export type { ConformanceOptions, TestApi } from "./suite.js";
export { commitAll } from "./suite.js";

/**
 * The shared specification of a {@link Store}: every adapter runs it against its real
 * backend. It is cut along the port's roles — the unit of work (the step's atomicity, the
 * version check, inbox dedupe, several steps in one commit staying independent), the read
 * model (order, paging, filters, counts), the work queue (outbox and timer claims, leases renewed
 * and released), claims at
 * length (a seeded run against a reference reading, and several stores claiming at once where
 * the adapter offers `openPeer`), timer keys, cancels and dead timers, paused intent types,
 * concurrency slots and rate-limit tokens (across stores too, given `openPeer`), schema versions, the trace context kept with outbox rows and
 * timers, `transact` where the adapter declares it — and ends with the store under the runtime
 * and under an App (dead letters heard, keyed timers, a limit held by two apps).
 *
 * @example
 * import { describe, it } from "node:test";
 * runStoreConformance({ name: "memory", open: async () => new MemoryStore(), describe, it });
 */
export function runStoreConformance(options: ConformanceOptions): void {
  const { describe, it } = options;
  const withStore = (body: (store: Store) => Promise<void>) => async () => {
    const store = await options.open();
    try {
      await body(store);
    } finally {
      await store.close();
    }
  };
  const suite = { describe, it, withStore, options };
  describe(`Store conformance: ${options.name}`, () => {
    unitOfWorkSpec(suite);
    readModelSpec(suite);
    workQueueSpec(suite);
    claimsSpec(suite);
    leasesSpec(suite);
    timerKeysSpec(suite);
    deadTimersSpec(suite);
    pausedIntentTypesSpec(suite);
    effectLimitsSpec(suite);
    versionsSpec(suite);
    traceContextSpec(suite);
    transactSpec(suite);
    throughRuntimeSpec(suite);
    throughAppSpec(suite);
  });
}
