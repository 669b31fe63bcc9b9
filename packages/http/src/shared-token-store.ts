import { setTimeout as delay } from "node:timers/promises";
import type { StoredToken, TokenSnapshot, TokenVault } from "@drover/core";
import { ConfigurationError } from "@drover/core";
import type { CreatedToken, CreateTokenOptions, Known, Principal, TokenInfo, TokenStore } from "./token-records.js";
import { digest, envAdminDigest, knownScopes, match, mint } from "./token-records.js";

/** How a {@link SharedTokenStore} follows the changes other processes make. */
export interface SharedTokenStoreOptions {
  /**
   * How often the store's token version is polled (default {@link DEFAULT_REFRESH_MS}); 0 polls
   * never (a short-lived process, such as `drover token`). One read of one row.
   */
  readonly refreshMs?: number;
  /**
   * The oldest view {@link SharedTokenStore.verify} answers from (default twice `refreshMs`, or
   * 2 s): older (the poll fell behind, or failed), it reads the store first — and a store that
   * cannot be read answers with its error (503), never from a view that may hold a revoked token.
   */
  readonly maxAgeMs?: number;
  /**
   * The least time between two reads asked for by unknown tokens (default 25 ms): a flood of
   * made-up tokens costs the database at most one small read per gap, while a token minted by
   * another process a moment ago still works at once (its request waits for the next read).
   */
  readonly minGapMs?: number;
  /** Told about a failed poll (the next request that needs a fresh view retries). */
  readonly onRefreshError?: (error: unknown) => void;
  /** Milliseconds since some fixed point (default `performance.now`); tests pass a manual clock. */
  readonly now?: () => number;
}

/** A revoked token is refused by every process within about this long (plus one read). */
export const DEFAULT_REFRESH_MS = 1_000;

/**
 * The {@link TokenStore} of processes sharing a store (PostgreSQL): the tokens live in the
 * store's {@link TokenVault} (digests only), and each process verifies against a copy in memory.
 * The copy is refreshed when the vault's version moves, which is polled every
 * {@link SharedTokenStoreOptions.refreshMs} (1 s): a token revoked anywhere is refused everywhere
 * within about a second, and never after {@link SharedTokenStoreOptions.maxAgeMs} (2 s), since
 * an older copy is not trusted. A token the copy does not know makes it look again first (at
 * most one read per {@link SharedTokenStoreOptions.minGapMs}), so a token minted by another
 * process works at once. A known token is answered from memory, without a round trip.
 *
 * @example
 * if (store.tokenVault !== undefined) { // a PostgresStore has one
 *   const tokens = await SharedTokenStore.open(store.tokenVault);
 *   const { token } = await tokens.create({ scopes: ["read"], name: "grafana" });
 *   await tokens.verify(token); // { id: "tok_…", scopes: ["read"], name: "grafana" }, in every process
 *   tokens.close();
 * }
 */
export class SharedTokenStore implements TokenStore {
  readonly #vault: TokenVault;
  readonly #now: () => number;
  readonly #maxAgeMs: number;
  readonly #minGapMs: number;
  readonly #timer: NodeJS.Timeout | undefined;
  #known: Known[] = [];
  #version = Number.NaN;
  /** When the read the copy reflects started. */
  #readAt = Number.NEGATIVE_INFINITY;
  /** When the last read started. */
  #startedAt = Number.NEGATIVE_INFINITY;
  #envAdminDigest: Buffer | undefined;
  /** The read that has not started yet: callers that join it get a view taken after they asked. */
  #queued: Promise<void> | undefined;
  #running: Promise<void> | undefined;

  private constructor(vault: TokenVault, options: SharedTokenStoreOptions) {
    const refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS;
    const maxAgeMs = options.maxAgeMs ?? 2 * (refreshMs || DEFAULT_REFRESH_MS);
    const minGapMs = options.minGapMs ?? 25;
    for (const [name, value] of Object.entries({ refreshMs, maxAgeMs, minGapMs })) {
      if (!(Number.isFinite(value) && value >= 0)) {
        throw new ConfigurationError(`${name} must be a number of milliseconds ≥ 0, got ${value}`);
      }
    }
    this.#vault = vault;
    this.#now = options.now ?? (() => performance.now());
    this.#maxAgeMs = maxAgeMs;
    this.#minGapMs = minGapMs;
    if (refreshMs > 0) {
      const failed = options.onRefreshError ?? (() => undefined);
      this.#timer = setInterval(() => this.#fresh().catch(failed), refreshMs);
      // Polling alone never keeps a process alive.
      this.#timer.unref();
    }
  }

  /** Read the vault's tokens, then keep following them. Throws the vault's error if it cannot be read. */
  static async open(vault: TokenVault, options: SharedTokenStoreOptions = {}): Promise<SharedTokenStore> {
    const store = new SharedTokenStore(vault, options);
    try {
      await store.#fresh();
    } catch (error) {
      store.close();
      throw error;
    }
    return store;
  }

  get where(): string {
    return this.#vault.where;
  }

  acceptAdminToken(token: string): void {
    this.#envAdminDigest = envAdminDigest(token);
  }

  verify(presented: string): Principal | undefined | Promise<Principal | undefined> {
    const candidate = digest(presented);
    if (this.#now() - this.#readAt > this.#maxAgeMs) return this.#fresh().then(() => this.#match(candidate));
    const found = this.#match(candidate);
    if (found !== undefined) return found;
    // Unknown to the copy: perhaps minted by another process since it was read.
    return this.#fresh().then(() => this.#match(candidate));
  }

  async create(options: CreateTokenOptions): Promise<CreatedToken> {
    const created = await this.#add(options, false);
    if (created === undefined) throw new Error("the vault refused a new token");
    return created;
  }

  createFirst(options: CreateTokenOptions): Promise<CreatedToken | undefined> {
    return this.#add(options, true);
  }

  async list(): Promise<TokenInfo[]> {
    const snapshot = await this.#vault.loadTokens();
    this.#adopt(snapshot, this.#now());
    return snapshot.tokens.map(info);
  }

  async revoke(id: string): Promise<boolean> {
    const revoked = await this.#vault.revokeToken(id, Date.now());
    if (revoked) await this.#fresh();
    return revoked;
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  async #add(options: CreateTokenOptions, ifNone: boolean): Promise<CreatedToken | undefined> {
    const { token, hash, ...record } = mint(options);
    const stored: StoredToken = { ...record, digest: hash, createdAt: Date.parse(record.createdAt) };
    if (!(await this.#vault.addToken(stored, { ifNone }))) return undefined;
    await this.#fresh();
    return { ...record, token };
  }

  #match(candidate: Buffer): Principal | undefined {
    return match(this.#known, this.#envAdminDigest, candidate);
  }

  /** A read of the vault that starts now or later (never one already under way), one at a time. */
  #fresh(): Promise<void> {
    this.#queued ??= this.#next();
    return this.#queued;
  }

  async #next(): Promise<void> {
    // Always yields first, so #queued is set before it is cleared below.
    await this.#running?.catch(() => undefined);
    const wait = this.#startedAt + this.#minGapMs - this.#now();
    if (wait > 0) await delay(wait);
    this.#queued = undefined;
    const run = this.#read();
    this.#running = run;
    try {
      await run;
    } finally {
      if (this.#running === run) this.#running = undefined;
    }
  }

  async #read(): Promise<void> {
    const startedAt = this.#now();
    this.#startedAt = startedAt;
    const version = await this.#vault.tokensVersion();
    if (version === this.#version) {
      this.#readAt = startedAt;
      return;
    }
    this.#adopt(await this.#vault.loadTokens(), startedAt);
  }

  #adopt(snapshot: TokenSnapshot, readAt: number): void {
    // A read that started earlier may end later: versions only grow, so keep the newer view.
    if (snapshot.version < this.#version) return;
    this.#known = snapshot.tokens.map((token) => ({
      principal: { id: token.id, scopes: knownScopes(token.scopes), name: token.name },
      digest: Buffer.from(token.digest, "hex"),
    }));
    this.#version = snapshot.version;
    this.#readAt = Math.max(this.#readAt, readAt);
  }
}

function info(token: StoredToken): TokenInfo {
  return {
    id: token.id,
    name: token.name,
    scopes: knownScopes(token.scopes),
    createdAt: new Date(token.createdAt).toISOString(),
  };
}
