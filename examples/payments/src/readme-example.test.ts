// The README's first example, kept compiling and passing here.
import assert from "node:assert/strict";
import { it } from "node:test";
import { App, MemoryStore, RunResultKind, silentLogger } from "@drover/core";
import { MemoryMailer, MemoryVerificationQueue, paymentEffects, payments, SimulatedProvider } from "./index.js";

it("runs the README example", async () => {
  const provider = new SimulatedProvider({ latencyMs: 5 }); // declines cus_decline…, authorizes the rest
  const effects = paymentEffects({
    provider,
    verifications: new MemoryVerificationQueue(),
    mailer: new MemoryMailer(),
  });
  const app = new App({ store: new MemoryStore(), machines: [payments], effects: [effects], logger: silentLogger });
  await app.start();

  const ref = { machine: "payments", id: "pay_2x8kQm4Lr7Tz9WcB" };
  await app.run(ref, { type: "RequestPayment", amount: 125000, currency: "EUR", customerId: "cus_42" }); // authorizing
  await app.idle(); // the dispatcher asked the provider and applied its answer: authorized
  const result = await app.run(ref, { type: "CapturePayment", amount: 5000 });
  await app.stop();

  assert.equal(result.kind, RunResultKind.Processed);
  assert.ok(result.kind === RunResultKind.Processed);
  assert.deepEqual(
    [(result.state as { status: string }).status, (result.state as { captured: number }).captured],
    ["captured", 5000],
  );
});
