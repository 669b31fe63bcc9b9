import type { App } from "@drover/core";
import type { TracerProvider } from "@opentelemetry/api";
import type { FastifyBaseLogger } from "fastify";
import type { ConnectionLimits } from "./connection-limits.js";
import type { ReadinessOptions } from "./readiness.js";
import type { TokenStore } from "./tokens.js";

/** What {@link buildServer} of `./server.ts` takes: the app, the tokens, and the limits of the server. */
export interface ServerOptions {
  readonly app: App;
  readonly tokens: TokenStore;
  /** A pino logger for request logs; none: silent. */
  readonly logger?: FastifyBaseLogger;
  /** Largest request body in bytes (default 64 KiB). */
  readonly bodyLimit?: number;
  /** Timeouts for slow and idle clients, and the connection cap (see {@link ConnectionLimits}). */
  readonly connections?: ConnectionLimits;
  readonly title?: string;
  readonly version?: string;
  /**
   * The folder of the dashboard's built files, read into memory and served at `/` (e.g.
   * `dashboardAssetsDir()` of `@drover/dashboard`). None: no dashboard, `/` is a plain page.
   * The folder is handed in rather than looked up, so this package depends on no dashboard.
   */
  readonly dashboard?: string | undefined;
  /** How often the stream sends `event: stats`, in ms (default 2000). */
  readonly statsIntervalMs?: number;
  /** Most `GET /v1/stream` answers open at once (default 100); more get 503. */
  readonly maxStreams?: number;
  /** Random payloads per event type and state when exploring a machine's diagram (default 16). */
  readonly diagramSamples?: number;
  /** Where request spans go (default: the provider registered with the OpenTelemetry API). */
  readonly tracerProvider?: TracerProvider;
  /** How `GET /readyz` probes the store and judges the loops (see {@link ReadinessOptions}). */
  readonly readiness?: ReadinessOptions;
}
