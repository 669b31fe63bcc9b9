// The payments application as drover's CLI and server find it: the repository root's
// drover.config.ts points here, and main.ts (`npm start`) serves it the way `drover serve` does.
import type { DroverConfig } from "@drover/cli";
import { defineConfig } from "@drover/cli";
import { MemoryMailer, MemoryVerificationQueue } from "./back-office.js";
import { paymentEffects } from "./effects.js";
import { payments } from "./payments.js";
import { SimulatedProvider } from "./provider.js";
import { HttpProvider } from "./provider-http.js";

/**
 * The payments machine and its effect handlers. The provider is the simulated one
 * (`PAYMENTS_PROVIDER_LATENCY_MS`, `PAYMENTS_PROVIDER_FAILURE_RATE`), or with
 * `PAYMENTS_PROVIDER_URL` a shared simulated provider reached over HTTP (as the
 * multi-process tests run it).
 *
 * @example
 * // drover.config.ts
 * export { default } from "@drover/example-payments/config";
 */
const config: DroverConfig = defineConfig({
  name: "payments",
  machines: [payments],
  effects: ({ env }) => [
    paymentEffects({
      provider: env.PAYMENTS_PROVIDER_URL
        ? new HttpProvider({ url: env.PAYMENTS_PROVIDER_URL })
        : new SimulatedProvider(),
      verifications: new MemoryVerificationQueue(),
      mailer: new MemoryMailer(),
    }),
  ],
  // With NATS on (`--nats`, `DROVER_NATS`), customer notifications go to
  // drover.payments.intents.NotifyCustomer for a mail service to send, instead of the mailer.
  nats: { publish: ["NotifyCustomer"] },
});
export default config;
