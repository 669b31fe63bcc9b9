import { describe, it } from "node:test";
import type { Store } from "@drover/core";
import { runStoreConformance } from "@drover/core/testing";
import { PostgresStore } from "./postgres-store.js";
import { openStore, postgresAvailable } from "./test-support/fixtures.js";

if (await postgresAvailable(import.meta.url)) {
  runStoreConformance({
    name: "postgres",
    // Each test gets its own schema, dropped when the file is done.
    open: () => openStore(),
    reopen: async (store: Store) => {
      if (!(store instanceof PostgresStore)) throw new TypeError("reopen expects a PostgresStore");
      const { schema } = await store.info();
      await store.close();
      return openStore({ schema });
    },
    describe,
    it,
  });
}
