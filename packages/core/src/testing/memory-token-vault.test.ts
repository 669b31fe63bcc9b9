import { describe, it } from "node:test";
import { MemoryTokenVault } from "./memory-token-vault.js";
import { runTokenVaultConformance } from "./token-vault-conformance.js";

runTokenVaultConformance({
  name: "memory",
  open: async () => ({ vault: new MemoryTokenVault(), close: async () => {} }),
  openPeer: async (vault) => ({ vault, close: async () => {} }),
  describe,
  it,
});
