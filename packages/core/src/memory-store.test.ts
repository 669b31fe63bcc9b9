import { describe, it } from "node:test";
import { MemoryStore } from "./memory-store.js";
import { runStoreConformance } from "./testing/conformance/index.js";

runStoreConformance({ name: "memory", open: async () => new MemoryStore(), describe, it });
