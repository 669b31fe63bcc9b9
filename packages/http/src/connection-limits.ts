import type { Socket } from "node:net";
import { ConfigurationError } from "@drover/core";

/**
 * How long the server waits for slow and idle clients, and how many it holds at once. A client
 * that sends its headers or its body too slowly gets `408` and is closed; an idle keep-alive
 * connection is closed; connections beyond the cap are closed as they arrive.
 */
export interface ConnectionLimits {
  /** The whole request, headers and body, must arrive within this (default 30 s); else 408 and closed. */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * The request's headers must arrive within this (default 10 s, or `requestTimeoutMs` when that
   * is shorter; never longer than it); else 408 and closed.
   */
  readonly headersTimeoutMs?: number | undefined;
  /**
   * An idle keep-alive connection is closed after this (default 65 s, above common load
   * balancers' idle timeouts; a shorter one races a client's next request). Behind a load balancer
   * that reuses connections, set it above the balancer's idle timeout.
   */
  readonly keepAliveTimeoutMs?: number | undefined;
  /** Connections held at once (default 1000); more are closed as they arrive. */
  readonly maxConnections?: number | undefined;
}

/** {@link ConnectionLimits} with every member set. */
export type ResolvedConnectionLimits = { readonly [K in keyof ConnectionLimits]-?: number };

/** The defaults of {@link ConnectionLimits}. */
export const DEFAULT_CONNECTION_LIMITS: ResolvedConnectionLimits = Object.freeze({
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 1_000,
});

/** The limits with defaults filled in and checked (a `ConfigurationError` names the bad one). */
export function connectionLimits(given: ConnectionLimits = {}): ResolvedConnectionLimits {
  const defined = definedOnly(given);
  // A request timeout shorter than the default headers timeout shortens that one too.
  const requestTimeoutMs = defined.requestTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.requestTimeoutMs;
  const headersTimeoutMs = Math.min(DEFAULT_CONNECTION_LIMITS.headersTimeoutMs, requestTimeoutMs);
  const limits: ResolvedConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, headersTimeoutMs, ...defined };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ConfigurationError(`${name} must be a whole number ≥ 1, got ${value}`);
    }
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigurationError(
      `headersTimeoutMs (${limits.headersTimeoutMs}) must not be longer than requestTimeoutMs (${limits.requestTimeoutMs}): the headers are part of the request`,
    );
  }
  return Object.freeze(limits);
}

/**
 * The options of Node's HTTP server for these limits. Node looks for expired requests every
 * `connectionsCheckingInterval` (30 s by default, which made a slow client last ~90 s): here a
 * quarter of the shorter timeout, at most 1 s, so a slow client is cut within its timeout + 1 s.
 */
export function nodeServerOptions(limits: ResolvedConnectionLimits) {
  return {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** The status of the answer to an error of the HTTP parser or of Node's request timeouts. */
export function clientErrorStatus(error: Error & { code?: string }): 400 | 408 | 431 {
  if (error.code === "HPE_HEADER_OVERFLOW") return 431;
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") return 408;
  return 400;
}

/** Whether an answer can still be written on `socket`: it is open and no response has begun on it. */
export function canAnswer(socket: Socket): boolean {
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  return socket.writable && current?.headersSent !== true;
}

function definedOnly(limits: ConnectionLimits): { readonly [K in keyof ConnectionLimits]?: number } {
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
}
