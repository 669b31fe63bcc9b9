import { describe, it } from "node:test";
import type { TokenVault } from "@drover/core";
import { runTokenVaultConformance } from "@drover/core/testing";
import type { PostgresStore } from "./postgres-store.js";
import { openStore, postgresAvailable } from "./test-support/fixtures.js";

if (await postgresAvailable(import.meta.url)) {
  const stores = new Map<TokenVault, PostgresStore>();
  const opened = (store: PostgresStore) => {
    stores.set(store.tokenVault, store);
    return { vault: store.tokenVault, close: () => store.close() };
  };
  runTokenVaultConformance({
    name: "postgres",
    // Each test gets its own schema, dropped when the file is done.
    open: async () => opened(await openStore()),
    // Another store on the same schema, with its own pool of connections.
    openPeer: async (vault) => {
      const store = stores.get(vault);
      if (store === undefined) throw new Error("not a vault of this suite");
      return opened(await openStore({ schema: (await store.info()).schema, poolSize: 2 }));
    },
    describe,
    it,
  });
}
