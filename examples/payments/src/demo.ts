// `npm start` until the HTTP server lands: a scripted tour of the payments machine through
// the real runtime on the real SQLite file (./data/drover.db unless DROVER_DB/DROVER_DATA_DIR
// say otherwise). The provider's answers are sent by this script; the outbox dispatcher
// will send them itself once it exists.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { RunResult } from "@drover/core";
import { RunResultKind, Runtime } from "@drover/core";
import { SqliteStore } from "@drover/sqlite";
import { payments } from "./payments.js";

function databasePath(): string {
  const db = process.env.DROVER_DB;
  if (db === undefined || db === "") return join(process.env.DROVER_DATA_DIR || "./data", "drover.db");
  if (db.startsWith("sqlite:")) return db.slice("sqlite:".length);
  console.error(`DROVER_DB must be sqlite:PATH for this demo, got ${JSON.stringify(db)}`);
  process.exit(2);
}

const path = databasePath();
const store = SqliteStore.open({ path });
const runtime = new Runtime({ store, machines: [payments] });
const newId = () => `pay_${randomBytes(12).toString("base64url")}`;

function show(label: string, result: RunResult): void {
  const line = (() => {
    switch (result.kind) {
      case RunResultKind.Processed: {
        const state = result.state as { status: string };
        const intents = result.intents.map((r) => (r.intent as { type: string }).type).join(", ");
        return `processed v${result.version} → ${state.status}${intents ? `  intents: ${intents}` : ""}`;
      }
      case RunResultKind.Rejected:
        return `rejected: ${result.reason} (${result.detail ?? ""})`;
      case RunResultKind.Duplicate:
        return `duplicate of ${result.original.kind} v${result.original.version} (nothing written)`;
      case RunResultKind.Invalid:
        return `invalid: ${result.reason}: ${result.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`;
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

async function send(label: string, id: string, event: object, eventId?: string): Promise<RunResult> {
  const result = await runtime.run({ machine: "payments", id }, event, eventId === undefined ? {} : { eventId });
  show(label, result);
  return result;
}

console.log(`drover payments demo — SQLite at ${path}\n`);

const small = newId();
console.log(`A small payment (${small}):`);
await send("RequestPayment 1,250.00 EUR", small, {
  type: "RequestPayment",
  amount: 125_000,
  currency: "EUR",
  customerId: "cus_42",
});
await send("provider: ProviderAuthorized", small, { type: "ProviderAuthorized", authorizationId: "auth_demo_1" });
await send("CapturePayment 500.00", small, { type: "CapturePayment", amount: 50_000 }, `${small}-capture`);
await send("the same capture delivered again", small, { type: "CapturePayment", amount: 50_000 }, `${small}-capture`);
await send("RefundPayment 100.00", small, { type: "RefundPayment", amount: 10_000 });
await send("RefundPayment 450.00 (above what is left)", small, { type: "RefundPayment", amount: 45_000 });
await send("RefundPayment 12.5 (a float)", small, { type: "RefundPayment", amount: 12.5 });

const large = newId();
console.log(`\nA large payment (${large}):`);
await send("RequestPayment 15,000.00 EUR", large, {
  type: "RequestPayment",
  amount: 1_500_000,
  currency: "EUR",
  customerId: "cus_7",
});
await send("CapturePayment before verification", large, { type: "CapturePayment", amount: 1_500_000 });
await send("VerifyPayment by ops_7", large, { type: "VerifyPayment", verifiedBy: "ops_7" });
await send("provider: ProviderAuthorized", large, { type: "ProviderAuthorized", authorizationId: "auth_demo_2" });
await send("CancelPayment (voids the authorization)", large, { type: "CancelPayment" });

const declined = newId();
console.log(`\nA declined payment (${declined}):`);
await send("RequestPayment 20.00 EUR", declined, {
  type: "RequestPayment",
  amount: 2_000,
  currency: "EUR",
  customerId: "cus_decline_1",
});
await send("provider: ProviderDeclined", declined, { type: "ProviderDeclined", reason: "card declined" });
await send("CapturePayment", declined, { type: "CapturePayment", amount: 2_000 });

console.log(`\nJournal of ${small}:`);
for (const entry of await store.history({ machine: "payments", id: small })) {
  const event = entry.event as { type: string };
  const state = entry.state as { status: string; captured: number; refunded: number };
  console.log(
    `  v${entry.version}  ${new Date(entry.at).toISOString()}  ${event.type.padEnd(20)} → ${state.status.padEnd(18)} captured ${state.captured}, refunded ${state.refunded}`,
  );
}
const pending = await store.listOutbox({ status: "pending" });
console.log(`\n${pending.length} intents wait in the outbox for the dispatcher (next release).`);
await store.close();
