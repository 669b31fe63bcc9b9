import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
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
const ScopesSchema = z.array(ScopeSchema).min(1, `a token needs at least one scope (${ALL_SCOPES.join(", ")})`);

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

/** The principal of the token given by `DROVER_ADMIN_TOKEN`. */
export const ENV_ADMIN_PRINCIPAL: Principal = Object.freeze({
  id: "env_admin",
  scopes: Object.freeze([Scope.Admin]),
  name: "DROVER_ADMIN_TOKEN",
});

/** The file, inside the data directory, that holds the token hashes. */
export const TOKENS_FILE = "tokens.json";

const TOKEN_PREFIX = "drv_";
const MIN_ENV_TOKEN_LENGTH = 16;
// RFC 6750 b64token: what can follow "Bearer " in an Authorization header.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

const TokenRecordSchema = z.object({
  id: z.string().regex(/^tok_[A-Za-z0-9_-]{8,64}$/, "must look like tok_…"),
  name: z.string().nullable(),
  scopes: ScopesSchema,
  hash: z.string().regex(/^[0-9a-f]{64}$/, "must be a sha-256 hex digest (64 lowercase hex characters)"),
  createdAt: z.iso.datetime(),
});
type TokenRecord = z.infer<typeof TokenRecordSchema>;

const TokenFileSchema = z.object({
  version: z.literal(1),
  tokens: z.array(TokenRecordSchema),
});

interface Entry {
  readonly record: TokenRecord;
  readonly digest: Buffer;
}

/** Identity of the file on disk, to notice another process (the CLI) rewriting it. */
interface FileStamp {
  readonly ino: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly size: bigint;
}

/** How a {@link TokenStore} notices changes made by other processes. */
export interface TokenStoreOptions {
  /**
   * How long {@link TokenStore.verify} trusts what it last read of the file before looking at
   * it again (default {@link DEFAULT_RECHECK_MS}): a token revoked by another process is refused
   * at most this long after. A token that does not verify always looks again first, so a token
   * minted elsewhere works at once. 0 looks at the file on every call.
   */
  readonly recheckMs?: number;
  /** Milliseconds since some fixed point (default `performance.now`); tests pass a manual clock. */
  readonly now?: () => number;
}

/**
 * A `stat` of the token file on every request was ~7% of a busy server's CPU profile (bench/,
 * 64 connections creating payments); once per quarter second is as good for revocation.
 */
export const DEFAULT_RECHECK_MS = 250;

/**
 * Bearer tokens with scopes, kept hashed in `<dataDir>/tokens.json` (mode 0600, rewritten
 * atomically). The server and `drover token …` share the file: a token minted by the CLI works
 * in a running server at its next request, and one revoked by the CLI is refused within
 * {@link TokenStoreOptions.recheckMs} (a quarter second by default). Changes made through this
 * store take effect at once.
 *
 * @example
 * const tokens = TokenStore.open("./data");
 * const { token } = tokens.create({ scopes: ["read"], name: "grafana" });
 * tokens.verify(token); // { id: "tok_…", scopes: ["read"], name: "grafana" }
 */
export class TokenStore {
  readonly #file: string;
  #entries: Entry[] = [];
  #stamp: FileStamp | undefined;
  #envAdminDigest: Buffer | undefined;
  readonly #recheckMs: number;
  readonly #now: () => number;
  /** When {@link verify} last looked at the file ({@link TokenStoreOptions.now}'s time). */
  #checkedAt = Number.NEGATIVE_INFINITY;

  private constructor(file: string, options: TokenStoreOptions) {
    this.#file = file;
    const recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
    if (!(Number.isFinite(recheckMs) && recheckMs >= 0)) {
      throw new ConfigurationError(`recheckMs must be a number of milliseconds ≥ 0, got ${recheckMs}`);
    }
    this.#recheckMs = recheckMs;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Opens (or starts) the token file of `dataDir`, creating the directory if missing. */
  static open(dataDir: string, options: TokenStoreOptions = {}): TokenStore {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const store = new TokenStore(path.join(dataDir, TOKENS_FILE), options);
    // An existing file may have been created or copied with looser permissions.
    if (fs.existsSync(store.#file)) fs.chmodSync(store.#file, 0o600);
    store.#refresh();
    return store;
  }

  /** Path of the token file. */
  get file(): string {
    return this.#file;
  }

  /** Number of tokens in the file (the `DROVER_ADMIN_TOKEN` one is not counted). */
  get size(): number {
    this.#refresh();
    return this.#entries.length;
  }

  /**
   * Also accepts `token` as an admin token, without writing it to the file. Used for
   * `DROVER_ADMIN_TOKEN`; see {@link ensureAdminToken}.
   */
  acceptAdminToken(token: string): void {
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
    this.#envAdminDigest = digest(token);
  }

  /** Mints a token. The returned `token` is the only time it is shown in clear. */
  create(options: { scopes: readonly Scope[] | readonly string[]; name?: string }): CreatedToken {
    const scopes = parseScopes(options.scopes);
    const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
    const record: TokenRecord = {
      id: `tok_${randomBytes(9).toString("base64url")}`,
      name: options.name ?? null,
      scopes,
      hash: digest(token).toString("hex"),
      createdAt: new Date().toISOString(),
    };
    this.#refresh();
    this.#write([...this.#entries.map((e) => e.record), record]);
    return { ...info(record), token };
  }

  /**
   * The principal of `presented`, or `undefined` if it is no valid token. Constant-time:
   * the presented token is hashed and compared with every known hash, with no early exit,
   * so the answer's timing tells nothing about which stored token is closest.
   */
  verify(presented: string): Principal | undefined {
    const now = this.#now();
    const fresh = now - this.#checkedAt < this.#recheckMs;
    if (!fresh) this.#recheck(now);
    const candidate = digest(presented);
    let found = this.#match(candidate);
    // Unknown to what was read a moment ago: perhaps minted since by another process.
    if (found === undefined && fresh) {
      this.#recheck(now);
      found = this.#match(candidate);
    }
    return found;
  }

  #recheck(now: number): void {
    this.#refresh();
    this.#checkedAt = now;
  }

  #match(candidate: Buffer): Principal | undefined {
    let found: Principal | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(candidate, entry.digest) && found === undefined) found = principal(entry.record);
    }
    if (this.#envAdminDigest !== undefined && timingSafeEqual(candidate, this.#envAdminDigest)) {
      found ??= ENV_ADMIN_PRINCIPAL;
    }
    return found;
  }

  /** The tokens in the file, oldest first, without secrets or hashes. */
  list(): TokenInfo[] {
    this.#refresh();
    return this.#entries.map((e) => info(e.record));
  }

  /** Revokes the token `id`; `false` if there is none. */
  revoke(id: string): boolean {
    this.#refresh();
    const kept = this.#entries.filter((e) => e.record.id !== id).map((e) => e.record);
    if (kept.length === this.#entries.length) return false;
    this.#write(kept);
    return true;
  }

  #refresh(): void {
    let stat: fs.BigIntStats;
    try {
      stat = fs.statSync(this.#file, { bigint: true });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      this.#entries = [];
      this.#stamp = undefined;
      return;
    }
    const stamp = { ino: stat.ino, mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs, size: stat.size };
    if (this.#stamp && sameStamp(this.#stamp, stamp)) return;
    this.#entries = this.#load();
    this.#stamp = stamp;
  }

  #load(): Entry[] {
    const fix = `fix it, or delete it to revoke every token (a new admin token is generated at the next start)`;
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(this.#file, "utf8"));
    } catch (error) {
      if (isNotFound(error)) return [];
      const why = error instanceof Error ? error.message : String(error);
      throw new ConfigurationError(`token file ${this.#file} is not valid JSON (${why}); ${fix}`, { cause: error });
    }
    const parsed = TokenFileSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
      throw new ConfigurationError(
        `token file ${this.#file} is malformed: ${issues}; expected {"version":1,"tokens":[…]}; ${fix}`,
      );
    }
    const ids = new Set<string>();
    for (const record of parsed.data.tokens) {
      if (ids.has(record.id)) throw new ConfigurationError(`token file ${this.#file} has ${record.id} twice; ${fix}`);
      ids.add(record.id);
    }
    return parsed.data.tokens.map((record) => ({ record, digest: Buffer.from(record.hash, "hex") }));
  }

  /** Replaces the file atomically: a 0600 temp file beside it, fsynced, then renamed over it. */
  #write(records: TokenRecord[]): void {
    const body = `${JSON.stringify({ version: 1, tokens: records }, null, 2)}\n`;
    const temp = `${this.#file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
    const fd = fs.openSync(temp, "wx", 0o600);
    try {
      fs.fchmodSync(fd, 0o600); // the umask may have narrowed the mode given to open
      fs.writeSync(fd, body);
      fs.fsyncSync(fd);
    } catch (error) {
      fs.closeSync(fd);
      fs.rmSync(temp, { force: true });
      throw error;
    }
    fs.closeSync(fd);
    fs.renameSync(temp, this.#file);
    this.#stamp = undefined;
    this.#refresh();
  }
}

/**
 * Makes sure someone can administer the server. With `envAdminToken` (`DROVER_ADMIN_TOKEN`)
 * the store accepts it as admin and nothing is generated; otherwise, if the store has no
 * tokens, an admin token is minted and returned once in `generated` for the server to print.
 * Throws a {@link ConfigurationError} if `envAdminToken` is shorter than 16 characters.
 *
 * @example
 * const { generated } = ensureAdminToken(tokens, { envAdminToken: process.env.DROVER_ADMIN_TOKEN });
 * if (generated) console.log(`admin token (shown once): ${generated}`);
 */
export function ensureAdminToken(
  store: TokenStore,
  options: { envAdminToken?: string | undefined },
): {
  generated?: string;
} {
  if (options.envAdminToken !== undefined) {
    store.acceptAdminToken(options.envAdminToken);
    return {};
  }
  if (store.size > 0) return {};
  const { token } = store.create({ scopes: [Scope.Admin], name: "admin (generated on first start)" });
  return { generated: token };
}

// The tokens are 256 bits from a CSPRNG, so a fast unsalted hash is enough: nobody can
// brute-force or precompute a 2^256 space, which is the only thing salts and slow password
// hashes (scrypt, argon2) defend against. A slow hash would only cost CPU on every request.
function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

function info(record: TokenRecord): TokenInfo {
  return { id: record.id, name: record.name, scopes: record.scopes, createdAt: record.createdAt };
}

function principal(record: TokenRecord): Principal {
  return { id: record.id, scopes: record.scopes, name: record.name };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.size === b.size;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}
