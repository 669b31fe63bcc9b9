import { describe, it } from "node:test";
import type { Store } from "@drover/core";
import { runStoreConformance } from "@drover/core/testing";
import { PostgresStore } from "./postgres-store.js";
import { openStore, postgresAvailable } from "./test-support/fixtures.js";

async function schemaOf(store: Store): Promise<string> {
  if (!(store instanceof PostgresStore)) throw new TypeError("expected a PostgresStore");
  return (await store.info()).schema;
}

if (await postgresAvailable(import.meta.url)) {
  runStoreConformance({
    name: "postgres",
    // Each test gets its own schema, dropped when the file is done.
    open: () => openStore(),
    reopen: async (store: Store) => {
      const schema = await schemaOf(store);
      await store.close();
      return openStore({ schema });
    },
    // Another store on the same schema, with its own pool of connections.
    openPeer: async (store: Store) => openStore({ schema: await schemaOf(store), poolSize: 2 }),
    describe,
    it,
  });
}
