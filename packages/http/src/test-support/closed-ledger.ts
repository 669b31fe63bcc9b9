import type { Store } from "@drover/core";
import { App, defineEffects, MemoryStore, PermanentEffectError, silentLogger } from "@drover/core";
import { tallyMachine } from "@drover/core/testing";

/**
 * An app of the tally fixture machine whose `Noted` intents always fail for good, so that
 * the HTTP tests have dead letters to show and retry.
 */
export function closedLedgerApp(store: Store = new MemoryStore()): App {
  return new App({
    store,
    machines: [tallyMachine],
    effects: [
      defineEffects(tallyMachine, {
        Noted: async () => {
          throw new PermanentEffectError("the ledger is closed for the night");
        },
      }),
    ],
    logger: silentLogger,
  });
}
