import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Json } from "@drover/core";
import { decide, decideChecked, MemoryStore, PurityMode, Runtime, replayJournal, stableStringify } from "@drover/core";
import fc from "fast-check";
import type { z } from "zod";
import { PaymentId } from "./ids.js";
import type { PaymentState } from "./payments.js";
import { PaymentEvent, PaymentStatus, payments } from "./payments.js";

type WireEvent = z.input<typeof PaymentEvent>;

const ID = PaymentId.parse("pay_property00000000");
const STATUSES: readonly string[] = Object.values(PaymentStatus);

// Valid-shaped events, drawn so that every rule gets hit: amounts from one small pool (so a
// capture or refund often matches the payment exactly) around the verification thresholds,
// a currency on captures and refunds now and then (sometimes another one), and the events
// of the happy path more often than the others.
const currency = fc.constantFrom("EUR", "JPY", "BHD", "USD");
const amount = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      1,
      500,
      1_000,
      2_500,
      5_000,
      10_000,
      10_001,
      1_000_000,
      1_000_001,
      10_000_000,
      10_000_001,
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000_000 }) },
  { weight: 1, arbitrary: fc.constant(Number.MAX_SAFE_INTEGER) },
);
const maybeCurrency = fc.option(currency, { freq: 3 }).map((c) => (c === null ? {} : { currency: c }));
const requestPayment = fc.record({
  type: fc.constant("RequestPayment" as const),
  amount,
  currency,
  customerId: fc.constantFrom("cus_42", "cus_decline_1"),
});
const wireEvent: fc.Arbitrary<WireEvent> = fc.oneof(
  { weight: 1, arbitrary: requestPayment },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant("VerifyPayment" as const),
      verifiedBy: fc.constantFrom("ops_7", "ops_8"),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant("ProviderAuthorized" as const),
      authorizationId: fc.constantFrom("auth_1", "auth_2"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("ProviderDeclined" as const),
      reason: fc.constantFrom("insufficient funds", "fraud"),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(amount, maybeCurrency).map(([a, c]) => ({ type: "CapturePayment" as const, amount: a, ...c })),
  },
  {
    weight: 6,
    arbitrary: fc.tuple(amount, maybeCurrency).map(([a, c]) => ({ type: "RefundPayment" as const, amount: a, ...c })),
  },
  { weight: 1, arbitrary: fc.constant({ type: "CancelPayment" as const }) },
  { weight: 1, arbitrary: fc.constant({ type: "AuthorizationExpired" as const }) },
);
// Blind histories: any sequence at all. Most start by creating the payment; some do not,
// to cover `not_found` too.
const blind = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(requestPayment, fc.array(wireEvent, { maxLength: 20 }))
      .map(([first, rest]) => [first, ...rest]),
  },
  { weight: 1, arbitrary: fc.array(wireEvent, { maxLength: 20 }) },
);

// Aimed histories: valid-shaped events still, but each is picked with a look at the payment
// so far. Often it is the next step of the happy path (verify, authorize, capture, refund),
// and a capture's or refund's amount is all that is allowed, one unit more, or a part, so
// that long captured → partially refunded → refunded runs happen as often as odd ones.
interface Aim {
  readonly event: WireEvent;
  readonly lead: boolean;
  readonly size: "exact" | "over" | "part";
  readonly permille: number;
  readonly currency: "omit" | "same" | "other";
}
const aimToken: fc.Arbitrary<Aim> = fc.record({
  event: wireEvent,
  lead: fc.boolean(),
  size: fc.constantFrom("exact", "over", "part", "part"),
  permille: fc.integer({ min: 1, max: 999 }),
  currency: fc.constantFrom("omit", "omit", "omit", "same", "other"),
});

function nextStep(state: PaymentState): WireEvent["type"] | undefined {
  switch (state.status) {
    case PaymentStatus.AwaitingVerification:
      return "VerifyPayment";
    case PaymentStatus.Authorizing:
      return "ProviderAuthorized";
    case PaymentStatus.Authorized:
      return "CapturePayment";
    case PaymentStatus.Captured:
    case PaymentStatus.PartiallyRefunded:
      return "RefundPayment";
    default:
      return undefined;
  }
}

function aimAt(token: Aim, state: PaymentState | undefined): WireEvent {
  if (state === undefined) return token.event;
  const type = (token.lead ? nextStep(state) : undefined) ?? token.event.type;
  switch (type) {
    case "VerifyPayment":
      return { type, verifiedBy: "ops_7" };
    case "ProviderAuthorized":
      return { type, authorizationId: "auth_1" };
    case "CapturePayment":
    case "RefundPayment": {
      // Test-side arithmetic in BigInt, so amounts near 2^53 stay exact.
      const limit = type === "CapturePayment" ? BigInt(state.amount) : BigInt(state.captured) - BigInt(state.refunded);
      const size =
        token.size === "exact" ? limit : token.size === "over" ? limit + 1n : (limit * BigInt(token.permille)) / 1000n;
      const amount = Number(size < 1n ? 1n : size > MAX ? MAX : size);
      const other = state.currency === "USD" ? "EUR" : "USD";
      const currency =
        token.currency === "omit" ? {} : { currency: token.currency === "same" ? state.currency : other };
      return type === "CapturePayment" ? { type, amount, ...currency } : { type, amount, ...currency };
    }
    default:
      return token.event;
  }
}

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

const aimed = fc.tuple(requestPayment, fc.array(aimToken, { maxLength: 20 })).map(([first, tokens]) => {
  let state: PaymentState | undefined;
  const events: WireEvent[] = [];
  for (const [i, token] of [undefined, ...tokens].entries()) {
    const wire = token === undefined ? first : aimAt(token, state);
    const ctx = { entityId: ID, eventId: `aim_${i}`, at: 0 };
    const outcome = decide(payments, state, state !== undefined, PaymentEvent.parse(wire), ctx);
    if (outcome.kind === "accepted") state = outcome.state as PaymentState;
    events.push(wire);
  }
  return events;
});

const history = fc.oneof(blind, aimed);

// Event times: a start and non-negative gaps of up to 30 days.
const times = (count: number) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 4_000_000_000_000 }),
      fc.array(fc.integer({ min: 0, max: 30 * 86_400_000 }), { minLength: count, maxLength: count }),
    )
    .map(([start, gaps]) => gaps.map((_, i) => start + gaps.slice(0, i + 1).reduce((a, b) => a + b, 0)));

const withTimes = history.chain((events) => fc.tuple(fc.constant(events), times(events.length)));

function assertInvariants(state: PaymentState): void {
  assert.ok(STATUSES.includes(state.status), `unknown status ${state.status}`);
  assert.ok(state.refunded <= state.captured, `refunded ${state.refunded} > captured ${state.captured}`);
  assert.ok(state.captured <= state.amount, `captured ${state.captured} > amount ${state.amount}`);
  const afterCapture =
    state.status === PaymentStatus.Captured ||
    state.status === PaymentStatus.PartiallyRefunded ||
    state.status === PaymentStatus.Refunded;
  assert.equal(state.captured > 0, afterCapture, `captured ${state.captured} in ${state.status}`);
  if (state.status === PaymentStatus.Captured) assert.equal(state.refunded, 0);
  if (state.status === PaymentStatus.PartiallyRefunded)
    assert.ok(state.refunded > 0 && state.refunded < state.captured);
  if (state.status === PaymentStatus.Refunded) assert.equal(state.refunded, state.captured);
  assert.equal(state.refunds > 0, state.refunded > 0, `${state.refunds} refunds for ${state.refunded} refunded`);
}

describe("payments: properties", () => {
  it("keeps refunded ≤ captured ≤ amount and a known status after every accepted event", () => {
    fc.assert(
      fc.property(withTimes, ([events, at]) => {
        let state: PaymentState | undefined;
        events.forEach((wire, i) => {
          const ctx = { entityId: ID, eventId: `evt_${i}`, at: at[i] ?? 0 };
          const outcome = decideChecked(
            payments,
            state,
            state !== undefined,
            PaymentEvent.parse(wire),
            ctx,
            PurityMode.Check,
          );
          if (outcome.kind !== "accepted") return;
          state = outcome.state as PaymentState;
          assertInvariants(state);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("stores what the journal replays to, with no divergence", async () => {
    await fc.assert(
      fc.asyncProperty(withTimes, async ([events, at]) => {
        const store = new MemoryStore();
        const runtime = new Runtime({ store, machines: [payments], purity: PurityMode.Check });
        const ref = { machine: payments.name, id: ID };
        for (const [i, wire] of events.entries()) {
          const result = await runtime.run(ref, wire, { eventId: `evt_${i}`, at: at[i] ?? 0 });
          assert.notEqual(result.kind, "invalid", JSON.stringify(result));
        }

        const journal = await store.history(ref);
        assert.deepEqual(replayJournal(payments, journal), []);

        let state: unknown;
        for (const entry of journal) {
          const ctx = { entityId: entry.id, eventId: entry.eventId, at: entry.at };
          const outcome = decide(payments, state, state !== undefined, PaymentEvent.parse(entry.event), ctx);
          assert.equal(outcome.kind, "accepted", `journal entry ${entry.version} replays as ${outcome.kind}`);
          if (outcome.kind === "accepted") state = JSON.parse(JSON.stringify(outcome.state)) as Json;
        }
        const stored = await store.getEntity(ref);
        assert.equal(stored?.version, journal.length === 0 ? undefined : journal.length);
        assert.equal(stableStringify(state), stableStringify(stored?.state));
        await store.close();
      }),
      { numRuns: 100 },
    );
  });
});
