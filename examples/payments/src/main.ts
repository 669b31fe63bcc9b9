// `npm start`: the payments service over HTTP — exactly `drover serve` with the payments
// config (./config.ts): SQLite in ./data/drover.db, the dispatcher, the scheduler and the
// simulated payment provider, on http://127.0.0.1:3000. Settings from DROVER_PORT,
// DROVER_HOST, DROVER_DB, DROVER_DATA_DIR, DROVER_ADMIN_TOKEN and the provider's
// PAYMENTS_PROVIDER_LATENCY_MS / PAYMENTS_PROVIDER_FAILURE_RATE / PAYMENTS_PROVIDER_URL.
import { exitCodeOf, serveUntilSignalled } from "@drover/cli";
import config from "./config.js";

serveUntilSignalled(config).catch((error: unknown) => {
  // Configuration and infrastructure problems get one clear line, not a stack trace.
  process.stderr.write(`drover: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(exitCodeOf(error));
});
