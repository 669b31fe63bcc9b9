import { StoreUnavailableError } from "@drover/core";

/**
 * What "PostgreSQL cannot be used right now" looks like, and what to do about it. Errors of a
 * single statement (a broken constraint, a syntax error) are not here: they belong to a step.
 */

/** Socket errors (Node's `error.code`) of a server that cannot be reached. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
]);

/** SQLSTATEs that mean the server or the connection is unusable, with what to do. */
const SQLSTATE_HINTS: Readonly<Record<string, string>> = {
  "57P01": "an administrator or a restart ended the connection; retry, the pool reconnects by itself",
  "57P02": "the server crashed and is restarting; retry in a moment, the pool reconnects by itself",
  "57P03": "the server is starting up or shutting down; retry in a moment",
  "57P05": "the server closed an idle session (idle_session_timeout); retry, the pool reconnects by itself",
  "53300": "the server refuses new connections (max_connections reached); lower poolSize or raise max_connections",
  "53100": "the server's disk is full; free space, then retry",
  "53200": "the server is out of memory; retry later",
  "53400": "a server configuration limit was exceeded; check the server log",
  "3D000": "the database does not exist; create it (createdb NAME, or CREATE DATABASE) or fix the URL",
  "28000": "the server refused the login; check the user name and pg_hba.conf",
  "28P01": "the server refused the password; check the user and password in the connection settings",
  "25006": "the server is read-only (a standby?); point drover at the primary",
  "57014": "a statement was cancelled (statement_timeout or an administrator); retry",
};

/** Messages node-postgres gives a connection that is gone (it sets no code on them). */
const CLIENT_MESSAGES: readonly RegExp[] = [
  /^Connection terminated/,
  /not queryable/,
  /^timeout exceeded when trying to connect/,
  /^Cannot use a pool after calling end/,
];

const CLIENT_HINT =
  "the connection to PostgreSQL was lost or could not be made in time; retry, the pool reconnects by itself " +
  "(if it keeps happening: is the server up, or are all pool connections busy? raise poolSize)";

function codeOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || !("code" in error) || typeof error.code !== "string") return undefined;
  return error.code;
}

/** The hint for an unavailability error, or undefined if `error` is about one statement. */
function hintFor(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error instanceof StoreUnavailableError) return error.message;
  const code = codeOf(error);
  if (code !== undefined) {
    if (NETWORK_CODES.has(code)) return `the server is not reachable (${code}); start it, or check the host and port`;
    const hint = SQLSTATE_HINTS[code];
    if (hint !== undefined) return hint;
    // Class 08: connection exceptions.
    if (code.startsWith("08")) return CLIENT_HINT;
    // 55000 is also a statement's error elsewhere; at login it says the database is closed.
    if (code === "55000" && /not currently accepting connections/.test(error.message)) {
      return "the database does not accept connections now (ALLOW_CONNECTIONS false, or it is being dropped); retry later";
    }
  }
  if (CLIENT_MESSAGES.some((pattern) => pattern.test(error.message))) return CLIENT_HINT;
  return undefined;
}

/** True when `error` means PostgreSQL is unavailable, rather than a problem with one statement. */
export function isUnavailable(error: unknown): boolean {
  return hintFor(error) !== undefined;
}

/**
 * True when the statement surely never reached the server (the client was already broken), so
 * running it again on another connection cannot apply it twice.
 */
export function neverSent(error: unknown): boolean {
  return error instanceof Error && /not queryable/.test(error.message);
}

/**
 * Wrap an unavailability error in a {@link StoreUnavailableError} that says where, while doing
 * what, and what to do; return any other error unchanged.
 */
export function translate(error: unknown, where: string, action: string): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const hint = hintFor(error);
  if (hint === undefined || !(error instanceof Error)) return error;
  return new StoreUnavailableError(`PostgreSQL at ${where} is unavailable while ${action}: ${error.message}; ${hint}`, {
    cause: error,
  });
}

/** The error to throw when opening fails: always a {@link StoreUnavailableError}, cause attached. */
export function cannotOpen(error: unknown, where: string): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const hint = hintFor(error) ?? "check the connection settings and that the server is running";
  return new StoreUnavailableError(`cannot open the PostgreSQL store at ${where}: ${reason}; ${hint}`, {
    cause: error,
  });
}
