import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { ConfigurationError } from "@drover/core";
import { z } from "zod";
import { Scope } from "./wire.js";

const ALL_SCOPES: readonly Scope[] = Object.values(Scope);
const RANK: Readonly<Record<Scope, number>> = { read: 1, write: 2, admin: 3 };

/**
 * Whether a token holding `scopes` may do what `needed` requires.
 *
 * @example
 * grants(["write"], "read");  // true
 * grants(["read"], "admin");  // false
 */
export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.some((scope) => RANK[scope] >= RANK[needed]);
}

const ScopeSchema = z.enum(Scope, {
  error: (issue) => `unknown scope ${JSON.stringify(issue.input)}, valid scopes are ${ALL_SCOPES.join(", ")}`,
});
/** One or more known scopes. */
export const ScopesSchema = z.array(ScopeSchema).min(1, `a token needs at least one scope (${ALL_SCOPES.join(", ")})`);

/**
 * Parses scopes from the edge (a CLI flag such as `"read,write"`, or a list), deduplicated.
 * Throws a {@link ConfigurationError} naming the valid scopes if one is unknown.
 *
 * @example
 * parseScopes("read,write"); // ["read", "write"]
 */
export function parseScopes(input: string | readonly string[]): Scope[] {
  const list = typeof input === "string" ? input.split(",").map((s) => s.trim()) : input;
  const parsed = ScopesSchema.safeParse(list);
  if (!parsed.success) throw new ConfigurationError(parsed.error.issues.map((i) => i.message).join("; "));
  return [...new Set(parsed.data)];
}

/** The scopes of `list` this code knows (a newer drover may have written others): a token with none grants nothing. */
export function knownScopes(list: readonly string[]): Scope[] {
  return list.filter((scope): scope is Scope => (ALL_SCOPES as readonly string[]).includes(scope));
}

/** A token as {@link TokenStore.list} shows it: never the token, never its hash. */
export interface TokenInfo {
  readonly id: string;
  readonly name: string | null;
  readonly scopes: readonly Scope[];
  /** ISO 8601. */
  readonly createdAt: string;
}

/** A freshly minted token. `token` is the only place the secret ever appears in clear. */
export interface CreatedToken extends TokenInfo {
  readonly token: string;
}

/** Who a verified token belongs to. */
export interface Principal {
  readonly id: string;
  readonly scopes: readonly Scope[];
  readonly name: string | null;
}

/** What to mint: scopes (parsed at the edge, or strings to parse) and an optional label. */
export interface CreateTokenOptions {
  readonly scopes: readonly Scope[] | readonly string[];
  readonly name?: string;
}

/** A value, or a promise of it: the file store answers at once, a shared one may ask its store. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Where the HTTP API's bearer tokens live: {@link FileTokenStore} (`<data dir>/tokens.json`,
 * one host: the SQLite default) or {@link SharedTokenStore} (a store's `TokenVault`, every
 * process on a PostgreSQL database). The server only calls {@link TokenStore.verify}; `drover
 * token` and {@link ensureAdminToken} the rest. Await every answer: the file store's come at
 * once, a shared store's may need a round trip to its database.
 *
 * @example
 * const tokens: TokenStore = TokenStore.open("./data");
 * const { token } = await tokens.create({ scopes: ["read"], name: "grafana" });
 * await tokens.verify(token); // { id: "tok_…", scopes: ["read"], name: "grafana" }
 */
export interface TokenStore {
  /** Where the tokens are kept, for messages: the file, or the table and its server. */
  readonly where: string;
  /** The principal of `presented`, or `undefined` if it is no valid token. */
  verify(presented: string): Awaitable<Principal | undefined>;
  /** Also accept `token` as an admin token, stored nowhere (`DROVER_ADMIN_TOKEN`). */
  acceptAdminToken(token: string): void;
  /** Mint a token. The returned `token` is the only time it is shown in clear. */
  create(options: CreateTokenOptions): Awaitable<CreatedToken>;
  /** Mint a token only if the store holds none (atomically, where processes share it). */
  createFirst(options: CreateTokenOptions): Awaitable<CreatedToken | undefined>;
  /** The tokens, oldest first, without secrets or hashes. */
  list(): Awaitable<TokenInfo[]>;
  /** Revoke the token `id`; `false` if there is none. */
  revoke(id: string): Awaitable<boolean>;
  /** Stop watching for changes (a shared store polls its database). */
  close(): void;
}

/** The principal of the token given by `DROVER_ADMIN_TOKEN`. */
export const ENV_ADMIN_PRINCIPAL: Principal = Object.freeze({
  id: "env_admin",
  scopes: Object.freeze([Scope.Admin]),
  name: "DROVER_ADMIN_TOKEN",
});

const TOKEN_PREFIX = "drv_";
const MIN_ENV_TOKEN_LENGTH = 16;
// RFC 6750 b64token: what can follow "Bearer " in an Authorization header.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The digest of `DROVER_ADMIN_TOKEN`, after checking it is long enough and fits a header. */
export function envAdminDigest(token: string): Buffer {
  if (token.length < MIN_ENV_TOKEN_LENGTH) {
    throw new ConfigurationError(
      `DROVER_ADMIN_TOKEN must be at least ${MIN_ENV_TOKEN_LENGTH} characters, got ${token.length}; ` +
        `use a long random value (e.g. \`openssl rand -base64 32\`) or unset it to have one generated`,
    );
  }
  if (!B64TOKEN.test(token)) {
    throw new ConfigurationError(
      "DROVER_ADMIN_TOKEN may only contain letters, digits and - . _ ~ + / (then optional trailing =), " +
        "since it must fit in an `Authorization: Bearer <token>` header",
    );
  }
  return digest(token);
}

/** A token as a store keeps it (scopes parsed, the hash in hex), with its secret beside it. */
export interface Minted {
  readonly token: string;
  readonly id: string;
  readonly name: string | null;
  readonly scopes: Scope[];
  /** SHA-256 of `token`, 64 lowercase hex characters. */
  readonly hash: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

/** A new token: 256 random bits behind `drv_`, and its id. Throws on unknown scopes. */
export function mint(options: CreateTokenOptions): Minted {
  const scopes = parseScopes(options.scopes);
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  return {
    token,
    id: `tok_${randomBytes(9).toString("base64url")}`,
    name: options.name ?? null,
    scopes,
    hash: digest(token).toString("hex"),
    createdAt: new Date().toISOString(),
  };
}

/** A token a store may match a presented one against. */
export interface Known {
  readonly principal: Principal;
  readonly digest: Buffer;
}

/**
 * The principal among `known` (then the env admin's) whose digest is `candidate`'s. Constant
 * time: every digest is compared, with no early exit, so the answer's timing tells nothing about
 * which stored token is closest.
 */
export function match(known: readonly Known[], envAdmin: Buffer | undefined, candidate: Buffer): Principal | undefined {
  let found: Principal | undefined;
  for (const entry of known) {
    if (timingSafeEqual(candidate, entry.digest) && found === undefined) found = entry.principal;
  }
  if (envAdmin !== undefined && timingSafeEqual(candidate, envAdmin)) found ??= ENV_ADMIN_PRINCIPAL;
  return found;
}

// The tokens are 256 bits from a CSPRNG, so a fast unsalted hash is enough: nobody can
// brute-force or precompute a 2^256 space, which is the only thing salts and slow password
// hashes (scrypt, argon2) defend against. A slow hash would only cost CPU on every request.
/** SHA-256 of `token`. */
export function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}
