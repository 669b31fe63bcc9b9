import { describe, it } from "node:test";
import { MemoryStore } from "./memory-store.js";
import { runStoreConformance } from "./testing/conformance/index.js";

// No `reopen` and no `openPeer`: a memory store's data lives and dies with the object, so the
// durability and across-stores sections are the SQL adapters' alone.
runStoreConformance({ name: "memory", open: async () => new MemoryStore(), describe, it });
