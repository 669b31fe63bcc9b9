import assert from "node:assert/strict";
import type { StoredToken, TokenVault } from "../token-vault.js";
import type { TestApi } from "./conformance/suite.js";

/** How to run {@link runTokenVaultConformance} against one adapter. */
export interface TokenVaultConformanceOptions extends TestApi {
  /** Shown in test names, e.g. "postgres". */
  readonly name: string;
  /** A fresh, empty vault for each test, and how to let it go. */
  open(): Promise<{ vault: TokenVault; close(): Promise<void> }>;
  /** Another vault on the same database, as another process would open it (closed by the suite). */
  openPeer?(vault: TokenVault): Promise<{ vault: TokenVault; close(): Promise<void> }>;
}

/** A token record for the tests: `n` picks its id, digest and creation time. */
export function storedToken(n: number, overrides: Partial<StoredToken> = {}): StoredToken {
  return {
    id: `tok_test${String(n).padStart(6, "0")}`,
    name: `t${n}`,
    scopes: ["read"],
    digest: n.toString(16).padStart(64, "0"),
    createdAt: Date.UTC(2026, 0, 1) + n,
    ...overrides,
  };
}

/**
 * The shared specification of a {@link TokenVault}: what `add`, `import` and `revoke` do to the
 * live tokens and to the version, the first-token guard, and (given `openPeer`) that a peer sees
 * every change and that two peers racing to make the first token make one.
 *
 * @example
 * import { describe, it } from "node:test";
 * runTokenVaultConformance({ name: "memory", open: async () => ({ vault: new MemoryTokenVault(), close: async () => {} }), describe, it });
 */
export function runTokenVaultConformance(options: TokenVaultConformanceOptions): void {
  const { describe, it } = options;
  const withVault = (body: (vault: TokenVault) => Promise<void>) => async () => {
    const opened = await options.open();
    try {
      await body(opened.vault);
    } finally {
      await opened.close();
    }
  };
  describe(`${options.name}: TokenVault conformance`, () => {
    it(
      "starts empty, keeps what is added oldest first, and moves its version with each change",
      withVault(async (vault) => {
        const empty = await vault.loadTokens();
        assert.deepEqual(empty.tokens, []);
        assert.equal(await vault.tokensVersion(), empty.version);
        assert.equal(await vault.addToken(storedToken(2, { scopes: ["read", "write"], name: null })), true);
        assert.equal(await vault.addToken(storedToken(1)), true);
        const two = await vault.loadTokens();
        assert.deepEqual(two.tokens, [storedToken(1), storedToken(2, { scopes: ["read", "write"], name: null })]);
        assert.ok(two.version > empty.version);
        assert.equal(await vault.tokensVersion(), two.version);
      }),
    );
    it(
      "refuses a second token with a taken id or digest",
      withVault(async (vault) => {
        await vault.addToken(storedToken(1));
        await assert.rejects(vault.addToken(storedToken(2, { id: storedToken(1).id })));
        await assert.rejects(vault.addToken(storedToken(3, { digest: storedToken(1).digest })));
        assert.deepEqual((await vault.loadTokens()).tokens, [storedToken(1)]);
      }),
    );
    it(
      "revokes a live token once; a revoked token is gone, its id never comes back",
      withVault(async (vault) => {
        await vault.addToken(storedToken(1));
        await vault.addToken(storedToken(2));
        const before = await vault.tokensVersion();
        assert.equal(await vault.revokeToken(storedToken(1).id, Date.UTC(2026, 1, 1)), true);
        assert.ok((await vault.tokensVersion()) > before);
        assert.equal(await vault.revokeToken(storedToken(1).id, Date.UTC(2026, 1, 1)), false);
        assert.equal(await vault.revokeToken("tok_nonesuch0", Date.UTC(2026, 1, 1)), false);
        assert.deepEqual((await vault.loadTokens()).tokens, [storedToken(2)]);
        assert.equal(await vault.importTokens([storedToken(1)]), 0);
        await assert.rejects(vault.addToken(storedToken(1)));
        assert.deepEqual((await vault.loadTokens()).tokens, [storedToken(2)]);
      }),
    );
    it(
      "imports only unknown tokens, and the version moves only when one was added",
      withVault(async (vault) => {
        await vault.addToken(storedToken(1));
        assert.equal(await vault.importTokens([storedToken(1), storedToken(2), storedToken(3)]), 2);
        const version = await vault.tokensVersion();
        assert.equal(await vault.importTokens([storedToken(1), storedToken(2), storedToken(3)]), 0);
        assert.equal(await vault.importTokens([]), 0);
        assert.equal(await vault.tokensVersion(), version);
        assert.deepEqual(
          (await vault.loadTokens()).tokens.map((t) => t.id),
          [1, 2, 3].map((n) => storedToken(n).id),
        );
      }),
    );
    it(
      "adds with ifNone only while no token is live",
      withVault(async (vault) => {
        assert.equal(await vault.addToken(storedToken(1), { ifNone: true }), true);
        const version = await vault.tokensVersion();
        assert.equal(await vault.addToken(storedToken(2), { ifNone: true }), false);
        assert.equal(await vault.tokensVersion(), version);
        await vault.revokeToken(storedToken(1).id, Date.UTC(2026, 1, 1));
        assert.equal(await vault.addToken(storedToken(3), { ifNone: true }), true);
        assert.deepEqual(
          (await vault.loadTokens()).tokens.map((t) => t.id),
          [storedToken(3).id],
        );
      }),
    );
    const { openPeer } = options;
    if (openPeer === undefined) return;
    it(
      "shows a peer every change, and two peers racing for the first token make one",
      withVault(async (vault) => {
        const peer = await openPeer(vault);
        try {
          await vault.addToken(storedToken(1));
          assert.deepEqual((await peer.vault.loadTokens()).tokens, [storedToken(1)]);
          await peer.vault.revokeToken(storedToken(1).id, Date.UTC(2026, 1, 1));
          assert.equal(await vault.tokensVersion(), await peer.vault.tokensVersion());
          assert.deepEqual((await vault.loadTokens()).tokens, []);
          const raced = await Promise.all(
            [vault, peer.vault, vault, peer.vault].map((v, i) => v.addToken(storedToken(10 + i), { ifNone: true })),
          );
          assert.equal(raced.filter(Boolean).length, 1);
          assert.equal((await vault.loadTokens()).tokens.length, 1);
        } finally {
          await peer.close();
        }
      }),
    );
  });
}
