import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UnreadableReason } from "@drover/core";
import { migrationScenario, SCENARIO_EPOCH, scenario } from "@drover/core/testing";
import { PaymentId } from "./ids.js";
import { PAYMENT_STATE_VERSION, PaymentStatus, payments } from "./payments.js";

const ID = PaymentId.parse("pay_0123456789abcdef");

/** What version 1 of the payments machine stored for a payment the provider authorized. */
const authorizedV1 = {
  status: "authorized",
  amount: 125_000,
  currency: "EUR",
  customerId: "cus_42",
  captured: 0,
  refunded: 0,
  refunds: 0,
  authorizationId: "auth_1",
};

describe("payments: state version 2 keeps the time of authorization", () => {
  it("is at state version 2", () => {
    assert.equal(payments.version, PAYMENT_STATE_VERSION);
    assert.equal(payments.version, 2);
  });

  it("records when the provider authorized", () => {
    scenario(payments, ID)
      .given({ type: "RequestPayment", amount: 125_000, currency: "EUR", customerId: "cus_42" })
      .when({ type: "ProviderAuthorized", authorizationId: "auth_1" }, { at: SCENARIO_EPOCH + 5_000 })
      .accepted({ status: PaymentStatus.Authorized, authorizedAt: SCENARIO_EPOCH + 5_000 });
  });

  it("migrates a payment authorized by version 1 with an unknown time, and captures it", () => {
    migrationScenario(payments, ID)
      .storedAt(1, authorizedV1)
      .migratesTo({ status: PaymentStatus.Authorized, authorizationId: "auth_1", authorizedAt: null })
      .when({ type: "CapturePayment", amount: 100_000 })
      .accepted({ status: PaymentStatus.Captured, captured: 100_000, authorizedAt: null });
  });

  it("migrates a payment version 1 left authorizing as it is, and records the time once authorized", () => {
    const { authorizationId: _, ...authorizingV1 } = { ...authorizedV1, status: "authorizing" };
    migrationScenario(payments, ID)
      .storedAt(1, authorizingV1)
      .migratesTo({ status: PaymentStatus.Authorizing, authorizedAt: undefined })
      .when({ type: "ProviderAuthorized", authorizationId: "auth_2" }, { at: SCENARIO_EPOCH + 9_000 })
      .accepted({ status: PaymentStatus.Authorized, authorizedAt: SCENARIO_EPOCH + 9_000 });
  });

  it("migrates every authorized status of version 1, a cancelled one with or without its hold", () => {
    const statuses = [PaymentStatus.Captured, PaymentStatus.Refunded, PaymentStatus.Expired, PaymentStatus.Cancelled];
    for (const status of statuses) {
      const captured = status === PaymentStatus.Captured || status === PaymentStatus.Refunded ? 125_000 : 0;
      const refunded = status === PaymentStatus.Refunded ? 125_000 : 0;
      migrationScenario(payments, ID)
        .storedAt(1, { ...authorizedV1, status, captured, refunded })
        .migratesTo({ status, authorizedAt: null });
    }
    const { authorizationId: _, ...cancelledEarly } = { ...authorizedV1, status: "cancelled" };
    migrationScenario(payments, ID).storedAt(1, cancelledEarly).migratesTo({ authorizedAt: undefined });
  });

  it("cannot read a version 1 payment that breaks the schema, nor one stored by a newer version", () => {
    migrationScenario(payments, ID)
      .storedAt(1, { ...authorizedV1, refunded: 1 })
      .unreadable(UnreadableReason.SchemaRefused);
    migrationScenario(payments, ID)
      .storedAt(3, { ...authorizedV1, authorizedAt: 1 })
      .unreadable(UnreadableReason.NewerVersion);
  });
});
