// The server the browser tests drive: what `npm start` runs (the payments machine with its
// effects and the simulated provider, SQLite, tokens, dashboard), plus the `notes` machine.
// Settings as `npm start` takes them (DROVER_PORT, DROVER_DATA_DIR, DROVER_ADMIN_TOKEN…);
// NOTES_CHANNEL_DOWN_FILE names the file whose presence makes announcements fail.
import { App } from "@drover/core";
import { dashboardAssetsDir } from "@drover/dashboard";
import {
  MemoryMailer,
  MemoryVerificationQueue,
  paymentEffects,
  payments,
  SimulatedProvider,
} from "@drover/example-payments";
import { serve, settingsFromEnv } from "@drover/http";
import { SqliteStore } from "@drover/sqlite";
import { pino } from "pino";
import { noteEffects } from "./note-effects.js";
import { notes } from "./notes.js";

const logger = pino({ level: process.env.DROVER_LOG_LEVEL ?? "warn" });
const settings = settingsFromEnv();
const store = SqliteStore.open({ path: settings.db.slice("sqlite:".length) });
const app = new App({
  store,
  machines: [payments, notes],
  effects: [
    paymentEffects({
      provider: new SimulatedProvider(),
      verifications: new MemoryVerificationQueue(),
      mailer: new MemoryMailer(),
    }),
    noteEffects(process.env.NOTES_CHANNEL_DOWN_FILE),
  ],
  logger,
});
const dashboard = dashboardAssetsDir();
if (dashboard === undefined) throw new Error("the dashboard is not built: run `npm run build -w @drover/dashboard`");
const running = await serve(app, settings, { logger, dashboard });
process.stdout.write(`drover dashboard fixture listening on ${running.url}\n`);
const stop = () => {
  running
    .close()
    .then(() => store.close())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
