import fs from "node:fs";
import path from "node:path";
import type { TokenVault } from "@drover/core";
import type { TokenStoreOptions } from "./file-token-store.js";
import { FileTokenStore, TOKENS_FILE } from "./file-token-store.js";
import type { SharedTokenStoreOptions } from "./shared-token-store.js";
import { SharedTokenStore } from "./shared-token-store.js";
import type { TokenStore as TokenStorePort } from "./token-records.js";
import { Scope } from "./wire.js";

export type { TokenStoreOptions } from "./file-token-store.js";
export { DEFAULT_RECHECK_MS, FileTokenStore, TOKENS_FILE } from "./file-token-store.js";
export type { SharedTokenStoreOptions } from "./shared-token-store.js";
export { DEFAULT_REFRESH_MS, SharedTokenStore } from "./shared-token-store.js";
export type {
  Awaitable,
  CreatedToken,
  CreateTokenOptions,
  Principal,
  TokenInfo,
} from "./token-records.js";
export { ENV_ADMIN_PRINCIPAL, grants, parseScopes } from "./token-records.js";

/** Where the HTTP API's bearer tokens live: see {@link TokenStorePort | the interface}. */
export type TokenStore = TokenStorePort;

/**
 * The two kinds of {@link TokenStore}: `TokenStore.open(dataDir)` the file of one host (the
 * SQLite default), `TokenStore.shared(vault)` the tokens of a store shared by processes.
 *
 * @example
 * const tokens = store.tokenVault === undefined ? TokenStore.open("./data") : await TokenStore.shared(store.tokenVault);
 */
export const TokenStore = {
  /** The token file of `dataDir` ({@link FileTokenStore.open}). */
  open: (dataDir: string, options: TokenStoreOptions = {}): FileTokenStore => FileTokenStore.open(dataDir, options),
  /** The tokens of `vault`, followed as they change ({@link SharedTokenStore.open}). */
  shared: (vault: TokenVault, options: SharedTokenStoreOptions = {}): Promise<SharedTokenStore> =>
    SharedTokenStore.open(vault, options),
} as const;

/**
 * Makes sure someone can administer the server. With `envAdminToken` (`DROVER_ADMIN_TOKEN`)
 * the store accepts it as admin and nothing is generated; otherwise, if the store has no
 * tokens, an admin token is minted and returned once in `generated` for the server to print
 * (once for all processes sharing a store: the first to start makes it). Throws a
 * {@link ConfigurationError} if `envAdminToken` is shorter than 16 characters.
 *
 * @example
 * const { generated } = await ensureAdminToken(tokens, { envAdminToken: process.env.DROVER_ADMIN_TOKEN });
 * if (generated) console.log(`admin token (shown once): ${generated}`);
 */
export async function ensureAdminToken(
  store: TokenStore,
  options: { envAdminToken?: string | undefined },
): Promise<{ generated?: string }> {
  if (options.envAdminToken !== undefined) {
    store.acceptAdminToken(options.envAdminToken);
    return {};
  }
  const created = await store.createFirst({ scopes: [Scope.Admin], name: "admin (generated on first start)" });
  return created === undefined ? {} : { generated: created.token };
}

/** What {@link importTokenFile} did. */
export interface TokenFileImport {
  /** The file that was read, now renamed to `renamedTo`. */
  readonly file: string;
  readonly found: number;
  /** Those not in the vault yet (an id or digest it knows, revoked ones too, is skipped). */
  readonly imported: number;
  /** Where the file went, or `undefined` if it could not be renamed (it is imported again next time, adding nothing). */
  readonly renamedTo: string | undefined;
}

/** The name a token file gets once imported. */
export const IMPORTED_SUFFIX = ".imported";

/**
 * Move the tokens of `<dataDir>/tokens.json` (the file a server kept before its store was
 * shared) into `vault`, once: the tokens it does not know yet are added (so a token that worked
 * on this host keeps working, now on every process, and one revoked in the vault stays revoked),
 * and the file is renamed `tokens.json.imported` (with a timestamp after it if that exists), which nothing reads (rename it back, after
 * going back to a drover that keeps tokens in files, to roll back). `undefined` if there is no
 * file. Idempotent: a crash between the two leaves a file whose second import adds nothing.
 *
 * @example
 * if (store.tokenVault !== undefined) {
 *   const report = await importTokenFile("./data", store.tokenVault);
 *   if (report) console.log(`imported ${report.imported} of ${report.found} tokens`);
 * }
 */
export async function importTokenFile(dataDir: string, vault: TokenVault): Promise<TokenFileImport | undefined> {
  const file = path.join(dataDir, TOKENS_FILE);
  if (!fs.existsSync(file)) return undefined;
  const tokens = FileTokenStore.open(dataDir).storedTokens();
  const imported = await vault.importTokens(tokens);
  // An earlier import's file is kept: the second one gets a timestamp.
  const renamedTo = fs.existsSync(`${file}${IMPORTED_SUFFIX}`)
    ? `${file}${IMPORTED_SUFFIX}-${Date.now()}`
    : `${file}${IMPORTED_SUFFIX}`;
  try {
    fs.renameSync(file, renamedTo);
    return { file, found: tokens.length, imported, renamedTo };
  } catch {
    return { file, found: tokens.length, imported, renamedTo: undefined };
  }
}
