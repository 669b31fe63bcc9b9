// `npm start`: the payments service over HTTP. SQLite in ./data/drover.db, the dispatcher,
// the scheduler and the simulated payment provider, on http://127.0.0.1:3000 — settings
// from DROVER_PORT, DROVER_HOST, DROVER_DB, DROVER_DATA_DIR, DROVER_ADMIN_TOKEN and the
// provider's PAYMENTS_PROVIDER_LATENCY_MS / PAYMENTS_PROVIDER_FAILURE_RATE. With
// PAYMENTS_PROVIDER_URL the simulated provider is a separate service (shared by several
// server processes, as the multi-process tests run it) reached over HTTP.
import { App, ConfigurationError, DroverError } from "@drover/core";
import { serve, settingsFromEnv } from "@drover/http";
import { PostgresStore } from "@drover/postgres";
import { SqliteStore } from "@drover/sqlite";
import { pino } from "pino";
import { MemoryMailer, MemoryVerificationQueue } from "./back-office.js";
import { paymentEffects } from "./effects.js";
import { payments } from "./payments.js";
import { SimulatedProvider } from "./provider.js";
import { HttpProvider } from "./provider-http.js";

const logger = pino({ level: process.env.DROVER_LOG_LEVEL ?? "info" });

async function main(): Promise<void> {
  const settings = settingsFromEnv();
  const store = settings.db.startsWith("sqlite:")
    ? SqliteStore.open({ path: settings.db.slice("sqlite:".length) })
    : // Several processes may share one PostgreSQL database: the database is created if missing.
      await PostgresStore.open({ url: settings.db });
  const app = new App({
    store,
    machines: [payments],
    effects: [
      paymentEffects({
        provider: process.env.PAYMENTS_PROVIDER_URL
          ? new HttpProvider({ url: process.env.PAYMENTS_PROVIDER_URL })
          : new SimulatedProvider(),
        verifications: new MemoryVerificationQueue(),
        mailer: new MemoryMailer(),
      }),
    ],
    logger,
  });
  const running = await serve(app, settings, { logger });
  process.stdout.write(`drover payments listening on ${running.url}  (database ${settings.db})\n`);
  if (running.generatedToken !== undefined) {
    process.stdout.write(
      `admin token (shown once; stored hashed in ${settings.dataDir}/tokens.json): ${running.generatedToken}\n`,
    );
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping: draining requests and intents");
    running
      .close()
      .then(() => store.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "stopping failed");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  // Configuration and infrastructure problems get one clear line, not a stack trace.
  const message = error instanceof DroverError ? error.message : error instanceof Error ? error.message : String(error);
  process.stderr.write(`drover: ${message}\n`);
  process.exit(error instanceof ConfigurationError ? 2 : 3);
});
