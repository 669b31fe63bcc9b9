import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { StoredToken } from "@drover/core";
import { ConfigurationError } from "@drover/core";
import { z } from "zod";
import type { CreatedToken, CreateTokenOptions, Known, Principal, TokenInfo, TokenStore } from "./token-records.js";
import { digest, envAdminDigest, match, mint, ScopesSchema } from "./token-records.js";

/** The file, inside the data directory, that holds the token hashes. */
export const TOKENS_FILE = "tokens.json";

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

interface Entry extends Known {
  readonly record: TokenRecord;
}

/** Identity of the file on disk, to notice another process (the CLI) rewriting it. */
interface FileStamp {
  readonly ino: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly size: bigint;
}

/** How a {@link FileTokenStore} notices changes made by other processes. */
export interface TokenStoreOptions {
  /**
   * How long {@link FileTokenStore.verify} trusts what it last read of the file before looking at
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
 * The {@link TokenStore} of one host: bearer tokens with scopes, kept hashed in
 * `<dataDir>/tokens.json` (mode 0600, rewritten atomically). The server and `drover token …`
 * share the file: a token minted by the CLI works in a running server at its next request, and
 * one revoked by the CLI is refused within {@link TokenStoreOptions.recheckMs} (a quarter second
 * by default). Changes made through this store take effect at once. Every answer is synchronous.
 *
 * @example
 * const tokens = FileTokenStore.open("./data"); // or TokenStore.open("./data")
 * const { token } = tokens.create({ scopes: ["read"], name: "grafana" });
 * tokens.verify(token); // { id: "tok_…", scopes: ["read"], name: "grafana" }
 */
export class FileTokenStore implements TokenStore {
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
  static open(dataDir: string, options: TokenStoreOptions = {}): FileTokenStore {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const store = new FileTokenStore(path.join(dataDir, TOKENS_FILE), options);
    // An existing file may have been created or copied with looser permissions.
    if (fs.existsSync(store.#file)) fs.chmodSync(store.#file, 0o600);
    store.#refresh();
    return store;
  }

  /** Path of the token file. */
  get file(): string {
    return this.#file;
  }

  /** Path of the token file. */
  get where(): string {
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
    this.#envAdminDigest = envAdminDigest(token);
  }

  /** Mints a token. The returned `token` is the only time it is shown in clear. */
  create(options: CreateTokenOptions): CreatedToken {
    const { token, ...record } = mint(options);
    this.#refresh();
    this.#write([...this.#entries.map((e) => e.record), record]);
    return { ...info(record), token };
  }

  /** Mints a token if the file holds none. */
  createFirst(options: CreateTokenOptions): CreatedToken | undefined {
    return this.size > 0 ? undefined : this.create(options);
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
    let found = match(this.#entries, this.#envAdminDigest, candidate);
    // Unknown to what was read a moment ago: perhaps minted since by another process.
    if (found === undefined && fresh) {
      this.#recheck(now);
      found = match(this.#entries, this.#envAdminDigest, candidate);
    }
    return found;
  }

  #recheck(now: number): void {
    this.#refresh();
    this.#checkedAt = now;
  }

  /** The tokens in the file, oldest first, without secrets or hashes. */
  list(): TokenInfo[] {
    this.#refresh();
    return this.#entries.map((e) => info(e.record));
  }

  /** The tokens in the file as a shared store keeps them (digests, no secret): what an import copies. */
  storedTokens(): StoredToken[] {
    this.#refresh();
    return this.#entries.map(({ record }) => ({
      id: record.id,
      name: record.name,
      scopes: record.scopes,
      digest: record.hash,
      createdAt: Date.parse(record.createdAt),
    }));
  }

  /** Revokes the token `id`; `false` if there is none. */
  revoke(id: string): boolean {
    this.#refresh();
    const kept = this.#entries.filter((e) => e.record.id !== id).map((e) => e.record);
    if (kept.length === this.#entries.length) return false;
    this.#write(kept);
    return true;
  }

  /** Nothing to stop: the file is looked at when a token is verified. */
  close(): void {}

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
    return parsed.data.tokens.map((record) => ({
      record,
      principal: { id: record.id, scopes: record.scopes, name: record.name },
      digest: Buffer.from(record.hash, "hex"),
    }));
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

function info(record: TokenRecord): TokenInfo {
  return { id: record.id, name: record.name, scopes: record.scopes, createdAt: record.createdAt };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.size === b.size;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}
