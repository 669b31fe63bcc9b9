/**
 * A bearer token of the HTTP API as a store keeps it: never the token itself, only its SHA-256
 * digest. Scopes are plain strings here (the HTTP edge parses them); core knows no scope.
 */
export interface StoredToken {
  /** `tok_…`, unique for ever (a revoked id is never reused). */
  readonly id: string;
  readonly name: string | null;
  readonly scopes: readonly string[];
  /** The SHA-256 of the token, 64 lowercase hex characters. Unique. */
  readonly digest: string;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** Every live token, and the version of the vault they were read at (one consistent read). */
export interface TokenSnapshot {
  readonly version: number;
  /** Oldest first (by `createdAt`, then id). */
  readonly tokens: readonly StoredToken[];
}

/**
 * Optional role of a store shared by several processes (PostgreSQL): the HTTP API's tokens,
 * kept with the data, so that every process accepts the same ones. Each change moves
 * {@link TokenVault.tokensVersion} on, in the same transaction as the change: a process
 * caches a {@link TokenSnapshot} and reloads it only when the version moved.
 *
 * @example
 * const vault = store.tokenVault; // undefined for a single-host store: tokens stay in a file
 * if (vault !== undefined) console.log((await vault.loadTokens()).tokens.length);
 */
export interface TokenVault {
  /** Where the tokens are kept, for messages (`table "drover"."api_tokens" on …`). */
  readonly where: string;
  /**
   * Add `token`; `false` (nothing added) when `options.ifNone` is set and the vault already
   * holds a live token, atomically across processes (the first admin token is made once).
   * Throws if its id or digest is taken.
   */
  addToken(token: StoredToken, options?: { readonly ifNone?: boolean }): Promise<boolean>;
  /** Add the tokens whose id and digest are unknown (revoked ones included): how many were added. */
  importTokens(tokens: readonly StoredToken[]): Promise<number>;
  /** Revoke the live token `id`, at `now` (epoch ms); `false` if there is none. */
  revokeToken(id: string, now: number): Promise<boolean>;
  /** The version: one cheap read, what a process polls. */
  tokensVersion(): Promise<number>;
  /** Every live token, with the version they are at. */
  loadTokens(): Promise<TokenSnapshot>;
}
