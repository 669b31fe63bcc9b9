/**
 * The victim of crash.test.ts: the payments App on a SQLite file, talking to the simulated
 * provider over HTTP, driving a burst of payments decided by the seed. Every event it sends
 * has an id derived from the seed, so what a restarted run sends again is a duplicate.
 *
 * It prints `started` once the App runs, sends every `RequestPayment` (then `VerifyPayment`
 * for the large ones and `CancelPayment` for a few), then polls its own store: it captures
 * the payments planned for capture once they are authorized, and refunds them once captured.
 * It exits 0 once every payment has gone as far as its plan goes and no intent is pending,
 * and 1 on anything unexpected. The parent kills it with SIGKILL whenever it likes.
 *
 * Usage: node crash-app.js <db-file> <provider-url> <seed>
 */
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import type { RunResult } from "@drover/core";
import { App, jsonLogger, OutboxStatus, RunResultKind } from "@drover/core";
import { between, seededRandom } from "@drover/core/testing";
import { SqliteStore } from "@drover/sqlite";
import { MemoryMailer, MemoryVerificationQueue } from "../back-office.js";
import { paymentEffects } from "../effects.js";
import type { PaymentState } from "../payments.js";
import { PaymentStatus, payments } from "../payments.js";
import { HttpProvider } from "../provider-http.js";

/**
 * How many payments a run drives: enough work that the child is still busy after the test's
 * ten kills (each after up to 250 ms of running); with 40, a fast run could finish first.
 */
export const PAYMENTS = 120;

/** What the plan wants done to one payment. */
export interface PlannedPayment {
  readonly id: string;
  readonly amount: number;
  readonly customerId: string;
  /** Above 10,000.00 EUR: needs a `VerifyPayment`. */
  readonly large: boolean;
  /** Sent `CancelPayment` right after it was requested (and verified, for a large one). */
  readonly cancel: boolean;
  /** Captured once authorized, this much; `null`: left authorized. */
  readonly capture: number | null;
  /** Refunded once captured, in these parts (their sum is at most `capture`). */
  readonly refunds: readonly number[];
}

/** The statuses a payment may end a run in. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set([
  PaymentStatus.Authorized,
  PaymentStatus.Captured,
  PaymentStatus.PartiallyRefunded,
  PaymentStatus.Refunded,
  PaymentStatus.Declined,
  PaymentStatus.Cancelled,
  PaymentStatus.Expired,
]);

/** The same plan for the same seed: a mix of small, large (> 10,000.00) and declined payments. */
export function crashPlan(seed: number): PlannedPayment[] {
  const random = seededRandom(seed);
  return Array.from({ length: PAYMENTS }, (_, i): PlannedPayment => {
    const id = `pay_crash_${(seed >>> 0).toString(36).padStart(7, "0")}_${String(i).padStart(3, "0")}`;
    const roll = random();
    if (roll < 0.15) {
      return {
        id,
        amount: between(random, 100, 50_000),
        customerId: `cus_decline_${i}`,
        large: false,
        cancel: false,
        capture: null,
        refunds: [],
      };
    }
    const large = roll < 0.4;
    const amount = large ? between(random, 1_000_001, 5_000_000) : between(random, 100, 1_000_000);
    const cancel = random() < 0.15;
    const capture = !cancel && random() < 0.6 ? between(random, Math.ceil(amount / 2), amount) : null;
    const refunds: number[] = [];
    if (capture !== null) {
      const kind = random();
      if (kind < 0.3) refunds.push(capture);
      else if (kind < 0.6) {
        const first = between(random, 1, Math.max(1, capture - 1));
        refunds.push(first);
        if (capture - first > 0) refunds.push(between(random, 1, capture - first));
      }
    }
    return { id, amount, customerId: `cus_${i % 7}`, large, cancel, capture, refunds };
  });
}

/** The ids of the events the plan sends for a payment (the child derives them, the parent checks them). */
export const planEventId = {
  request: (p: PlannedPayment) => `${p.id}:request`,
  verify: (p: PlannedPayment) => `${p.id}:verify`,
  cancel: (p: PlannedPayment) => `${p.id}:cancel`,
  capture: (p: PlannedPayment) => `${p.id}:capture`,
  refund: (p: PlannedPayment, n: number) => `${p.id}:refund:${n}`,
};

/** Every event id the plan may send. */
export function plannedEventIds(plan: readonly PlannedPayment[]): string[] {
  return plan.flatMap((p) => [
    planEventId.request(p),
    planEventId.verify(p),
    planEventId.cancel(p),
    planEventId.capture(p),
    ...p.refunds.map((_, n) => planEventId.refund(p, n + 1)),
  ]);
}

/** True once a payment has gone as far as its plan takes it. */
export function settled(p: PlannedPayment, state: PaymentState | undefined): boolean {
  if (state === undefined) return false;
  switch (state.status) {
    case PaymentStatus.AwaitingVerification:
    case PaymentStatus.Authorizing:
      return false;
    case PaymentStatus.Authorized:
      return p.capture === null;
    case PaymentStatus.Captured:
    case PaymentStatus.PartiallyRefunded:
    case PaymentStatus.Refunded:
      return state.refunds >= p.refunds.length;
    case PaymentStatus.Declined:
    case PaymentStatus.Cancelled:
    case PaymentStatus.Expired:
    case PaymentStatus.Failed:
      return true;
    default: {
      const exhaustive: never = state;
      return exhaustive;
    }
  }
}

const EXPECTED: readonly RunResult["kind"][] = [
  RunResultKind.Processed,
  RunResultKind.Duplicate,
  RunResultKind.Rejected,
];

async function main(path: string, providerUrl: string, seed: number): Promise<void> {
  const plan = crashPlan(seed);
  const store = SqliteStore.open({ path });
  const app = new App({
    store,
    machines: [payments],
    effects: [
      paymentEffects({
        provider: new HttpProvider({ url: providerUrl, timeoutMs: 700 }),
        verifications: new MemoryVerificationQueue(),
        mailer: new MemoryMailer(),
      }),
    ],
    logger: jsonLogger(process.env.DROVER_CRASH_LOG === "warn" ? "warn" : "error"),
    // Short leases: what a killed run had claimed is taken over soon after the restart.
    dispatcher: {
      leaseMs: 1_000,
      timeoutMs: 800,
      maxAttempts: 100,
      backoff: { initialMs: 5, maxMs: 100 },
      pollMs: 20,
    },
    scheduler: { leaseMs: 1_000, pollMs: 200 },
  });
  const send = async (p: PlannedPayment, event: object, eventId: string): Promise<RunResult> => {
    const result = await app.run({ machine: "payments", id: p.id }, event, { eventId });
    if (!EXPECTED.includes(result.kind)) {
      throw new Error(`${eventId}: unexpected result ${JSON.stringify(result)}`);
    }
    return result;
  };
  const state = async (p: PlannedPayment) =>
    (await store.getEntity({ machine: "payments", id: p.id }))?.state as unknown as PaymentState | undefined;

  await app.start();
  process.stdout.write("started\n");

  // The burst: a few callers at once, each working through its share of the plan.
  const callers = 4;
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = c; i < plan.length; i += callers) {
        const p = plan[i] as PlannedPayment;
        const request = { type: "RequestPayment", amount: p.amount, currency: "EUR", customerId: p.customerId };
        await send(p, request, planEventId.request(p));
        if (p.large && !p.cancel)
          await send(p, { type: "VerifyPayment", verifiedBy: "ops_crash" }, planEventId.verify(p));
        if (p.cancel) await send(p, { type: "CancelPayment" }, planEventId.cancel(p));
      }
    }),
  );

  // The merchant: capture what is authorized, refund what is captured, until all is settled.
  for (;;) {
    let open = 0;
    for (const p of plan) {
      const current = await state(p);
      if (settled(p, current)) continue;
      open++;
      if (current?.status === PaymentStatus.Authorized && p.capture !== null) {
        await send(p, { type: "CapturePayment", amount: p.capture }, planEventId.capture(p));
      } else if (
        (current?.status === PaymentStatus.Captured || current?.status === PaymentStatus.PartiallyRefunded) &&
        current.refunds < p.refunds.length
      ) {
        const n = current.refunds + 1;
        await send(p, { type: "RefundPayment", amount: p.refunds[n - 1] }, planEventId.refund(p, n));
      }
    }
    if (open === 0 && (await store.listOutbox({ status: OutboxStatus.Pending, limit: 1 })).length === 0) break;
    await sleep(10);
  }
  await app.stop();
  await store.close();
  process.stdout.write("converged\n");
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const [path, providerUrl, seed] = process.argv.slice(2);
  if (path === undefined || providerUrl === undefined || seed === undefined || !Number.isInteger(Number(seed))) {
    process.stderr.write("usage: node crash-app.js <db-file> <provider-url> <seed>\n");
    process.exit(2);
  }
  main(path, providerUrl, Number(seed)).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
