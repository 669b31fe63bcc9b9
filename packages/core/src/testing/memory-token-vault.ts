import type { StoredToken, TokenSnapshot, TokenVault } from "../token-vault.js";

/**
 * A {@link TokenVault} in memory: the reference the conformance suite is checked against, and a
 * stand-in for a shared store in tests of the HTTP edge. Every vault object is one "database";
 * processes sharing it are callers sharing the object.
 *
 * @example
 * const vault = new MemoryTokenVault();
 * await vault.addToken({ id: "tok_12345678", name: null, scopes: ["read"], digest: "ab".repeat(32), createdAt: 0 });
 * (await vault.loadTokens()).tokens.length; // 1
 */
export class MemoryTokenVault implements TokenVault {
  readonly where = "memory";
  readonly #tokens = new Map<string, StoredToken & { revokedAt: number | null }>();
  #version = 0;
  /** Calls of {@link tokensVersion} and {@link loadTokens}, for tests that count reads. */
  reads = 0;

  async addToken(token: StoredToken, options: { readonly ifNone?: boolean } = {}): Promise<boolean> {
    if (options.ifNone === true && this.#live().length > 0) return false;
    if (this.#taken(token)) throw new Error(`token ${token.id} (or its digest) is already in the vault`);
    this.#tokens.set(token.id, { ...token, scopes: [...token.scopes], revokedAt: null });
    this.#version++;
    return true;
  }

  async importTokens(tokens: readonly StoredToken[]): Promise<number> {
    let added = 0;
    for (const token of tokens) {
      if (this.#taken(token)) continue;
      this.#tokens.set(token.id, { ...token, scopes: [...token.scopes], revokedAt: null });
      added++;
    }
    if (added > 0) this.#version++;
    return added;
  }

  async revokeToken(id: string, now: number): Promise<boolean> {
    const token = this.#tokens.get(id);
    if (token === undefined || token.revokedAt !== null) return false;
    token.revokedAt = now;
    this.#version++;
    return true;
  }

  async tokensVersion(): Promise<number> {
    this.reads++;
    return this.#version;
  }

  async loadTokens(): Promise<TokenSnapshot> {
    this.reads++;
    return {
      version: this.#version,
      tokens: this.#live().map(({ revokedAt: _, ...token }) => ({ ...token, scopes: [...token.scopes] })),
    };
  }

  #live() {
    return [...this.#tokens.values()]
      .filter((token) => token.revokedAt === null)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #taken(token: StoredToken): boolean {
    return this.#tokens.has(token.id) || [...this.#tokens.values()].some((t) => t.digest === token.digest);
  }
}
