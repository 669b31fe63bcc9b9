import type { Command } from "commander";
import { serveUntilSignalled } from "../serve.js";
import type { CommandContext } from "./context.js";
import { dbOption, Running } from "./context.js";

/** Register `drover serve`: the config's application over HTTP, until SIGTERM/SIGINT. */
export function serveCommand(program: Command, context: CommandContext): Command {
  return program
    .command("serve")
    .description("serve the config's application over HTTP: API, dashboard, dispatcher and scheduler")
    .option("--port <port>", "port to listen on (DROVER_PORT, default 3000; 0 picks a free one)")
    .option("--host <host>", "address to bind (DROVER_HOST, default 127.0.0.1)")
    .addOption(dbOption())
    .option("--data-dir <dir>", "tokens and the default SQLite file (DROVER_DATA_DIR, default ./data)")
    .option(
      "--allow-newer-states",
      "start even if entities are stored at state versions newer than the code (DROVER_ALLOW_NEWER_STATES=1)",
    )
    .option(
      "--nats <url>",
      "also run events from NATS JetStream and publish the config's nats.publish intents there (DROVER_NATS)",
    )
    .option(
      "--max-attempts <n>",
      "attempts at an intent before it is dead-lettered; also the firings of a timer before it is dead (DROVER_MAX_ATTEMPTS, default 10)",
    )
    .option(
      "--backoff-ms <ms>",
      "delay before the first retry of an intent or a timer; it doubles up to 60 s (DROVER_BACKOFF_MS, default 500)",
    )
    .option(
      "--lease-ms <ms>",
      "how long a claimed intent or timer is this process's unless renewed (every third of it while it runs); another process takes over a dead one's after it (DROVER_LEASE_MS, default 10000)",
    )
    .option(
      "--instance <name>",
      "this process's name, stable across restarts and unique per store: a restart frees its previous run's leases at once (DROVER_INSTANCE, default host:port:data-dir hash)",
    )
    .option(
      "--request-timeout-ms <ms>",
      "a request's headers and body must arrive within this, else 408 and closed (DROVER_REQUEST_TIMEOUT_MS, default 30000)",
    )
    .option(
      "--headers-timeout-ms <ms>",
      "a request's headers must arrive within this, else 408 and closed (DROVER_HEADERS_TIMEOUT_MS, default 10000)",
    )
    .option(
      "--keep-alive-timeout-ms <ms>",
      "an idle keep-alive connection is closed after this (DROVER_KEEP_ALIVE_TIMEOUT_MS, default 65000)",
    )
    .option(
      "--max-connections <n>",
      "connections held at once; more are closed as they arrive (DROVER_MAX_CONNECTIONS, default 1000)",
    )
    .addHelpText(
      "after",
      "\nDROVER_ADMIN_TOKEN: an admin token to accept (then none is generated). SIGTERM/SIGINT drain and exit 0.",
    )
    .action(async (options: ServeOptions, command: Command) => {
      await serveUntilSignalled(await context.config(command), {
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.host === undefined ? {} : { host: options.host }),
        ...(options.db === undefined ? {} : { db: options.db }),
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        ...(options.allowNewerStates === undefined ? {} : { allowNewerStates: options.allowNewerStates }),
        ...(options.nats === undefined ? {} : { nats: options.nats }),
        ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
        ...(options.backoffMs === undefined ? {} : { backoffMs: options.backoffMs }),
        ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
        ...(options.instance === undefined ? {} : { instance: options.instance }),
        ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
        ...(options.headersTimeoutMs === undefined ? {} : { headersTimeoutMs: options.headersTimeoutMs }),
        ...(options.keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeoutMs: options.keepAliveTimeoutMs }),
        ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
      });
      context.done(Running.Running);
    });
}

interface ServeOptions {
  readonly port?: string;
  readonly host?: string;
  readonly db?: string;
  readonly dataDir?: string;
  readonly allowNewerStates?: boolean;
  readonly nats?: string;
  readonly maxAttempts?: string;
  readonly backoffMs?: string;
  readonly leaseMs?: string;
  readonly instance?: string;
  readonly requestTimeoutMs?: string;
  readonly headersTimeoutMs?: string;
  readonly keepAliveTimeoutMs?: string;
  readonly maxConnections?: string;
}
