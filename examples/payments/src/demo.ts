// `npm start` until the HTTP server lands: a scripted tour of the payments machine through
// the App on the real SQLite file (./data/drover.db unless DROVER_DB/DROVER_DATA_DIR say
// otherwise). The script only sends what callers send (requests, verifications, captures,
// refunds, cancels); the provider's answers come from the dispatcher, which runs the effect
// handlers against the simulated provider (PAYMENTS_PROVIDER_LATENCY_MS,
// PAYMENTS_PROVIDER_FAILURE_RATE tune it).
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Logger, MachineEventInput, TypedRunResult } from "@drover/core";
import { App, ConfigurationError, OutboxStatus, RunResultKind } from "@drover/core";
import { SqliteStore } from "@drover/sqlite";
import { MemoryMailer, MemoryVerificationQueue } from "./back-office.js";
import { paymentEffects } from "./effects.js";
import type { PaymentState } from "./payments.js";
import { payments } from "./payments.js";
import { ledgerByPayment, SimulatedProvider } from "./provider.js";

function databasePath(): string {
  const db = process.env.DROVER_DB;
  if (db === undefined || db === "") return join(process.env.DROVER_DATA_DIR || "./data", "drover.db");
  if (db.startsWith("sqlite:")) return db.slice("sqlite:".length);
  console.error(`DROVER_DB must be sqlite:PATH for this demo, got ${JSON.stringify(db)}`);
  process.exit(2);
}

function simulatedProvider(): SimulatedProvider {
  try {
    return new SimulatedProvider();
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
}

/** Warnings and errors as one readable line each, so retries show up in the tour. */
const logger: Logger = {
  debug() {},
  info() {},
  warn: (fields, message) => console.log(`      ⚠ ${message}${detail(fields)}`),
  error: (fields, message) => console.log(`      ✖ ${message}${detail(fields)}`),
};

function detail(fields: object): string {
  const { intentId, error } = fields as { intentId?: string; error?: string };
  return `${intentId ? ` [${intentId}]` : ""}${error ? `: ${error}` : ""}`;
}

const path = databasePath();
const store = SqliteStore.open({ path });
const provider = simulatedProvider();
const verifications = new MemoryVerificationQueue();
const mailer = new MemoryMailer();
const app = new App({
  store,
  machines: [payments],
  effects: [paymentEffects({ provider, verifications, mailer })],
  logger,
  dispatcher: { maxAttempts: 5, backoff: { initialMs: 50, maxMs: 1_000 } },
});
const newId = () => `pay_${randomBytes(12).toString("base64url")}`;
// Events are type-checked against the payments machine; results carry its state type.
const client = app.for(payments);
type PaymentResult = TypedRunResult<typeof payments>;

function show(label: string, result: PaymentResult): void {
  const line = (() => {
    switch (result.kind) {
      case RunResultKind.Processed: {
        const intents = result.intents.map((r) => r.intent.type).join(", ");
        return `processed v${result.version} → ${result.state.status}${intents ? `  intents: ${intents}` : ""}`;
      }
      case RunResultKind.Rejected:
        return `rejected: ${result.reason} (${result.detail ?? ""})`;
      case RunResultKind.Duplicate:
        return `duplicate of ${result.original.kind} v${result.original.version} (nothing written)`;
      case RunResultKind.Invalid:
        return `invalid: ${result.reason}: ${result.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`;
      case RunResultKind.Unreadable:
        return `unreadable: ${result.message}`;
      case RunResultKind.NotFound:
      case RunResultKind.Conflict:
        return result.kind;
      default: {
        const exhaustive: never = result;
        return JSON.stringify(exhaustive);
      }
    }
  })();
  console.log(`  ${label.padEnd(44)} ${line}`);
}

async function send(
  label: string,
  id: string,
  event: MachineEventInput<typeof payments>,
  eventId?: string,
): Promise<PaymentResult> {
  const result = await client.run(id, event, eventId === undefined ? {} : { eventId });
  show(label, result);
  return result;
}

/** Wait for the dispatcher, then print where the payment stands. */
async function dispatched(id: string): Promise<void> {
  await app.settled({ timeoutMs: 120_000 });
  const state = (await store.getEntity({ machine: "payments", id }))?.state as PaymentState | undefined;
  const extra =
    state === undefined
      ? ""
      : "authorizationId" in state && state.authorizationId
        ? ` (${state.authorizationId})`
        : "declineReason" in state
          ? ` (${state.declineReason})`
          : "";
  console.log(`  ${"… the dispatcher ran the intents".padEnd(44)} → ${state?.status ?? "missing"}${extra}`);
}

console.log(`drover payments demo — SQLite at ${path}`);
const leftOver = await store.listOutbox({ status: OutboxStatus.Pending });
if (leftOver.length > 0) {
  // This simulated provider is new: it knows none of the authorizations an earlier run got.
  console.log(
    `\n${leftOver.length} intents left pending by an earlier run go first; those that refer to an authorization this fresh simulated provider never made end as dead letters:`,
  );
}
await app.start();
await app.settled({ timeoutMs: 120_000 });

const small = newId();
console.log(`\nA small payment (${small}):`);
await send("RequestPayment 1,250.00 EUR", small, {
  type: "RequestPayment",
  amount: 125_000,
  currency: "EUR",
  customerId: "cus_42",
});
await dispatched(small);
await send("CapturePayment 500.00", small, { type: "CapturePayment", amount: 50_000 }, `${small}-capture`);
await send("the same capture delivered again", small, { type: "CapturePayment", amount: 50_000 }, `${small}-capture`);
await send("RefundPayment 100.00", small, { type: "RefundPayment", amount: 10_000 });
await send("RefundPayment 450.00 (above what is left)", small, { type: "RefundPayment", amount: 45_000 });
await send("RefundPayment 12.5 (a float)", small, { type: "RefundPayment", amount: 12.5 });
await dispatched(small);

const large = newId();
console.log(`\nA large payment (${large}):`);
await send("RequestPayment 15,000.00 EUR", large, {
  type: "RequestPayment",
  amount: 1_500_000,
  currency: "EUR",
  customerId: "cus_7",
});
await send("CapturePayment before verification", large, { type: "CapturePayment", amount: 1_500_000 });
await dispatched(large);
console.log(`  ${"verification queue".padEnd(44)} ${verifications.pending().length} waiting`);
await send("VerifyPayment by ops_7", large, { type: "VerifyPayment", verifiedBy: "ops_7" });
await dispatched(large);
await send("CancelPayment (voids the authorization)", large, { type: "CancelPayment" });
await dispatched(large);

const declined = newId();
console.log(`\nA declined payment (${declined}):`);
await send("RequestPayment 20.00 EUR from cus_decline_1", declined, {
  type: "RequestPayment",
  amount: 2_000,
  currency: "EUR",
  customerId: "cus_decline_1",
});
await dispatched(declined);
await send("CapturePayment", declined, { type: "CapturePayment", amount: 2_000 });

const late = newId();
console.log(`\nCancelled while the provider authorizes (${late}):`);
await send("RequestPayment 80.00 EUR", late, {
  type: "RequestPayment",
  amount: 8_000,
  currency: "EUR",
  customerId: "cus_9",
});
await send("CancelPayment right away", late, { type: "CancelPayment" });
await dispatched(late);

console.log(`\nJournal of ${small}:`);
for (const entry of await store.history({ machine: "payments", id: small })) {
  const event = entry.event as { type: string };
  const state = entry.state as { status: string; captured: number; refunded: number };
  console.log(
    `  v${entry.version}  ${entry.eventId.padEnd(40)}  ${event.type.padEnd(20)} → ${state.status.padEnd(18)} captured ${state.captured}, refunded ${state.refunded}`,
  );
}

console.log("\nWhat the simulated provider did:");
const books = ledgerByPayment(provider.ledger());
for (const [label, id] of [
  ["small", small],
  ["large", large],
  ["declined", declined],
  ["cancelled early", late],
] as const) {
  const entries = books.get(id);
  const summary = entries
    ? Object.entries(entries)
        .filter(([, list]) => list.length > 0)
        .map(([kind, list]) => `${list.length} ${kind}`)
        .join(", ")
    : "nothing";
  console.log(`  ${label.padEnd(16)} ${summary}`);
}
const ledger = provider.ledger();
console.log(
  `  ${Object.values(ledger.requests).reduce((a, b) => a + b, 0)} requests, ${ledger.failedBefore + ledger.failedAfter} transient failures, ${ledger.replays} answered from an idempotency key`,
);
console.log(
  `\nThe mailer sent ${mailer.sent().length} messages: ${mailer
    .sent()
    .map((m) => m.template)
    .join(", ")}`,
);

const dead = await app.deadLetters();
if (dead.length === 0) console.log("\nNo dead letters.");
else {
  console.log(`\n${dead.length} dead letters (retry with app.retryDeadLetter(intentId)):`);
  for (const row of dead) console.log(`  ${row.intentId}  after ${row.attempts} attempts: ${row.lastError}`);
}
await app.stop();
await store.close();
