// The whole-number settings of `drover serve`: each from its flag, else its DROVER_* variable
// (else, for some, the config's defaults), checked against its range with a usage error that
// names where the bad value came from.
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { checkInstanceName, DEFAULT_LEASE_MS } from "@drover/core";
import type { ConnectionLimits } from "@drover/http";
import { DEFAULT_CONNECTION_LIMITS } from "@drover/http";
import type { ConfigDefaults } from "./config.js";
import { CliError, ExitCode } from "./exit-code.js";

/** The settings of `drover serve` given as flags; each wins over its environment variable. */
export interface ServeFlags {
  /** `--port` (`DROVER_PORT`, default 3000). */
  readonly port?: string | number;
  /** `--host` (`DROVER_HOST`, default 127.0.0.1). */
  readonly host?: string;
  /** `--db` (`DROVER_DB`, default `sqlite:<data dir>/drover.db`). */
  readonly db?: string;
  /** `--data-dir` (`DROVER_DATA_DIR`, default `./data`). */
  readonly dataDir?: string;
  /**
   * `--allow-newer-states` (`DROVER_ALLOW_NEWER_STATES=1`): start even when entities are stored
   * at state versions newer than the code (they answer `unreadable`); else serve refuses.
   */
  readonly allowNewerStates?: boolean;
  /**
   * `--nats` (`DROVER_NATS`), e.g. `nats://127.0.0.1:4222`: also run the events published to
   * `drover.<machine>.<id>.events` and publish the intent types the config's `nats.publish` lists.
   */
  readonly nats?: string;
  /**
   * `--max-attempts` (`DROVER_MAX_ATTEMPTS`, default 10): attempts at an intent before it is
   * dead-lettered, and firings of a timer before it is dead.
   */
  readonly maxAttempts?: string | number;
  /** `--backoff-ms` (`DROVER_BACKOFF_MS`, default 500): the delay before the first retry; it doubles up to 60 s. */
  readonly backoffMs?: string | number;
  /** `--request-timeout-ms` (`DROVER_REQUEST_TIMEOUT_MS`, default 30000): a request's headers and body must arrive within it, else 408. */
  readonly requestTimeoutMs?: string | number;
  /** `--headers-timeout-ms` (`DROVER_HEADERS_TIMEOUT_MS`, default 10000): a request's headers must arrive within it, else 408. */
  readonly headersTimeoutMs?: string | number;
  /** `--keep-alive-timeout-ms` (`DROVER_KEEP_ALIVE_TIMEOUT_MS`, default 65000): an idle keep-alive connection is closed after it. */
  readonly keepAliveTimeoutMs?: string | number;
  /** `--max-connections` (`DROVER_MAX_CONNECTIONS`, default 1000): more connections at once are closed as they arrive. */
  readonly maxConnections?: string | number;
  /**
   * `--lease-ms` (`DROVER_LEASE_MS`, default 10000): how long a claimed intent or timer is this
   * process's unless renewed; renewed every third of it while it runs.
   */
  readonly leaseMs?: string | number;
  /**
   * `--instance` (`DROVER_INSTANCE`, default `<host>:<port>:<hash of the data dir>`): stable
   * across restarts, unique among the processes on the store; a restart frees the leases its
   * previous run held at once.
   */
  readonly instance?: string;
}

/**
 * A whole-number setting: `undefined` when unset, a usage error naming where it came from (the
 * flag or the variable) and its range otherwise.
 */
function wholeNumberSetting(
  value: string | number | undefined,
  name: string,
  range: { readonly min: number; readonly max?: number },
  what: string,
): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < range.min || (range.max !== undefined && n > range.max)) {
    throw new CliError(`${name} must be ${what}, got ${value}`, ExitCode.Usage);
  }
  return n;
}

/** A setting's value and where it came from (for the message when it is wrong). */
interface Given {
  readonly name: string;
  readonly value: string | number | undefined;
}

/** The first of `sources` that is set (a flag, its variable, the config's default), as {@link wholeNumberSetting} reads it. */
function firstSetting(
  sources: readonly Given[],
  range: { readonly min: number; readonly max?: number },
  what: string,
): number | undefined {
  const given = sources.find(({ value }) => value !== undefined && value !== "");
  return given === undefined ? undefined : wholeNumberSetting(given.value, given.name, range, what);
}

/** The dispatcher's and the scheduler's retry settings: `--max-attempts` and `--backoff-ms`. */
export function retrySettings(flags: ServeFlags, env: NodeJS.ProcessEnv, defaults: ConfigDefaults) {
  const maxAttempts = firstSetting(
    [
      { name: "--max-attempts", value: flags.maxAttempts },
      { name: "DROVER_MAX_ATTEMPTS", value: env.DROVER_MAX_ATTEMPTS },
      { name: "the config's defaults.maxAttempts", value: defaults.maxAttempts },
    ],
    { min: 1, max: 1_000 },
    "a whole number of attempts 1–1000",
  );
  const initialMs = firstSetting(
    [
      { name: "--backoff-ms", value: flags.backoffMs },
      { name: "DROVER_BACKOFF_MS", value: env.DROVER_BACKOFF_MS },
      { name: "the config's defaults.backoffMs", value: defaults.backoffMs },
    ],
    { min: 1, max: 3_600_000 },
    "a whole number of milliseconds 1–3600000",
  );
  return {
    maxAttempts: maxAttempts ?? 10,
    // The delay doubles up to 60 s; a first delay above that is the longest one too.
    backoff: { initialMs: initialMs ?? 500, maxMs: Math.max(60_000, initialMs ?? 0) },
  };
}

/** `DROVER_DIAGRAM_SAMPLES`: payloads per event type and state when the dashboard's diagram is explored. */
export function diagramSamples(env: NodeJS.ProcessEnv): number | undefined {
  const what = "a whole number 1–10000";
  return wholeNumberSetting(env.DROVER_DIAGRAM_SAMPLES, "DROVER_DIAGRAM_SAMPLES", { min: 1, max: 10_000 }, what);
}

/** `DROVER_NATS_ACK_WAIT_MS`: how long JetStream waits for a process's ack before redelivering (default 30 s). */
export function ackWait(env: NodeJS.ProcessEnv): number {
  const what = "a whole number of milliseconds ≥ 1000";
  return wholeNumberSetting(env.DROVER_NATS_ACK_WAIT_MS, "DROVER_NATS_ACK_WAIT_MS", { min: 1_000 }, what) ?? 30_000;
}

/**
 * The HTTP server's limits on slow and idle clients: `--request-timeout-ms`,
 * `--headers-timeout-ms`, `--keep-alive-timeout-ms`, `--max-connections` (each also a
 * `DROVER_*` variable); unset ones keep @drover/http's defaults (30 s, 10 s, 5 s, 1000).
 */
export function connectionSettings(flags: ServeFlags, env: NodeJS.ProcessEnv): ConnectionLimits {
  const ms = { min: 1, max: 3_600_000 };
  const what = "a whole number of milliseconds 1–3600000";
  const limits: ConnectionLimits = {
    requestTimeoutMs: firstSetting(
      [
        { name: "--request-timeout-ms", value: flags.requestTimeoutMs },
        { name: "DROVER_REQUEST_TIMEOUT_MS", value: env.DROVER_REQUEST_TIMEOUT_MS },
      ],
      ms,
      what,
    ),
    headersTimeoutMs: firstSetting(
      [
        { name: "--headers-timeout-ms", value: flags.headersTimeoutMs },
        { name: "DROVER_HEADERS_TIMEOUT_MS", value: env.DROVER_HEADERS_TIMEOUT_MS },
      ],
      ms,
      what,
    ),
    keepAliveTimeoutMs: firstSetting(
      [
        { name: "--keep-alive-timeout-ms", value: flags.keepAliveTimeoutMs },
        { name: "DROVER_KEEP_ALIVE_TIMEOUT_MS", value: env.DROVER_KEEP_ALIVE_TIMEOUT_MS },
      ],
      ms,
      what,
    ),
    maxConnections: firstSetting(
      [
        { name: "--max-connections", value: flags.maxConnections },
        { name: "DROVER_MAX_CONNECTIONS", value: env.DROVER_MAX_CONNECTIONS },
      ],
      { min: 1, max: 1_000_000 },
      "a whole number of connections 1–1000000",
    ),
  };
  const request = limits.requestTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.requestTimeoutMs;
  if (limits.headersTimeoutMs !== undefined && limits.headersTimeoutMs > request) {
    throw new CliError(
      `--headers-timeout-ms (DROVER_HEADERS_TIMEOUT_MS) must not be longer than the request timeout (${request}), got ${limits.headersTimeoutMs}`,
      ExitCode.Usage,
    );
  }
  return limits;
}

/**
 * The lease settings: `--lease-ms` and `--instance`. The default instance is what stays the
 * same when one deployment restarts and differs between two on one host: the host, the port
 * and (hashed, to fit the name's alphabet) the data directory.
 */
export function leaseSettings(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv,
  settings: { readonly port: number; readonly dataDir: string },
): { readonly leaseMs: number; readonly instance: string } {
  const leaseMs = firstSetting(
    [
      { name: "--lease-ms", value: flags.leaseMs },
      { name: "DROVER_LEASE_MS", value: env.DROVER_LEASE_MS },
    ],
    { min: 1_000, max: 3_600_000 },
    "a whole number of milliseconds 1000–3600000",
  );
  const given = flags.instance ?? (env.DROVER_INSTANCE || undefined);
  let instance: string;
  if (given === undefined) {
    const dir = createHash("sha256").update(resolve(settings.dataDir)).digest("hex").slice(0, 12);
    instance = `${hostname()
      .replace(/[^\x21-\x22\x24-\x7e]/g, "_")
      .slice(0, 150)}:${settings.port}:${dir}`;
  } else {
    try {
      instance = checkInstanceName(given);
    } catch (error) {
      const name = flags.instance === undefined ? "DROVER_INSTANCE" : "--instance";
      throw new CliError(`${name}: ${(error as Error).message}`, ExitCode.Usage);
    }
  }
  return { leaseMs: leaseMs ?? DEFAULT_LEASE_MS, instance };
}
