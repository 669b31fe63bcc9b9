import { StoreUnavailableError } from "@drover/core";

/**
 * SQLite result codes that mean "the database cannot be used right now", with what to do.
 * Extended codes (`SQLITE_IOERR_FSYNC`, `SQLITE_READONLY_DBMOVED`…) match their primary code.
 */
const HINTS: Readonly<Record<string, string>> = {
  SQLITE_BUSY:
    "another connection held the write lock past the busy timeout; retry, and look for a long-running writer",
  SQLITE_CANTOPEN: "check the path and permissions",
  SQLITE_IOERR: "the disk or file system failed; check it, then retry",
  SQLITE_FULL: "the disk is full; free space, then retry",
  SQLITE_READONLY: "the file or its directory is read-only; check permissions",
  SQLITE_PROTOCOL: "the WAL lock protocol failed (is the file on a network file system?); use a local disk",
};

/** The SQLite primary code of an error, or undefined for anything that is not an SqliteError. */
function primaryCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || !("code" in error) || typeof error.code !== "string") return undefined;
  const code = error.code;
  if (!code.startsWith("SQLITE_")) return undefined;
  const second = code.indexOf("_", "SQLITE_".length);
  return second === -1 ? code : code.slice(0, second);
}

/** True when `error` means the database is unavailable, rather than a problem with one step. */
export function isUnavailable(error: unknown): boolean {
  const code = primaryCode(error);
  return code !== undefined && code in HINTS;
}

/**
 * Wrap an unavailability error in a {@link StoreUnavailableError} that says where and what to
 * do; return any other error unchanged.
 */
export function translate(error: unknown, path: string, action: string): unknown {
  const code = primaryCode(error);
  const hint = code === undefined ? undefined : HINTS[code];
  if (hint === undefined || !(error instanceof Error)) return error;
  return new StoreUnavailableError(
    `SQLite database at ${path} is unavailable while ${action}: ${error.message}; ${hint}`,
    {
      cause: error,
    },
  );
}

/** The error to throw when opening fails: always a {@link StoreUnavailableError}, cause attached. */
export function cannotOpen(error: unknown, path: string): StoreUnavailableError {
  const reason = error instanceof Error ? error.message : String(error);
  const code = primaryCode(error);
  const hint = (code === undefined ? undefined : HINTS[code]) ?? "check the path and permissions";
  return new StoreUnavailableError(`cannot open SQLite database at ${path}: ${reason}; ${hint}`, { cause: error });
}
