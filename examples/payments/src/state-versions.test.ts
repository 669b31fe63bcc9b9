// Issue 15 on real stores: payments written by version 1 of the payments machine (before it
// kept `authorizedAt`) are served, migrated and saved by version 2, on SQLite and PostgreSQL;
// the upgrade's dry run reports them, its apply rewrites them, a rollback cannot read them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { AnyMachine, Store } from "@drover/core";
import { App, RunResultKind, silentLogger, UnreadableReason } from "@drover/core";
import { PostgresStore } from "@drover/postgres";
import { dropDatabase, skipUnlessPostgres, withDatabase } from "@drover/postgres/testing";
import { SqliteStore } from "@drover/sqlite";
import { MemoryMailer, MemoryVerificationQueue } from "./back-office.js";
import { paymentEffects } from "./effects.js";
import { PaymentStatus, payments } from "./payments.js";
import { SimulatedProvider } from "./provider.js";
import { paymentsV1 } from "./test-support/payments-v1.js";

const ref = (id: string) => ({ machine: "payments", id });
const AUTHORIZED = "pay_versionsauthorized1";
const CAPTURED = "pay_versionscaptured01";
const WAITING = "pay_versionsverify0001";

function appOf(store: Store, machine: AnyMachine): App {
  const provider = new SimulatedProvider({ latencyMs: { min: 0, max: 1 }, failureRate: 0, env: {} });
  return new App({
    store,
    machines: [machine],
    effects: [paymentEffects({ provider, verifications: new MemoryVerificationQueue(), mailer: new MemoryMailer() })],
    logger: silentLogger,
    dispatcher: { pollMs: 5, backoff: { initialMs: 1, maxMs: 10 } },
    scheduler: { pollMs: 5 },
  });
}

/** Three payments as version 1 of the code left them: authorized, captured, awaiting verification. */
async function writeWithVersion1(store: Store): Promise<void> {
  const app = appOf(store, paymentsV1);
  await app.start();
  try {
    const request = (amount: number) => ({ type: "RequestPayment", amount, currency: "EUR", customerId: "cus_42" });
    for (const id of [AUTHORIZED, CAPTURED]) await app.run(ref(id), request(125_000));
    await app.run(ref(WAITING), request(5_000_000));
    await app.settled({ timeoutMs: 10_000 });
    assert.equal((await app.run(ref(CAPTURED), { type: "CapturePayment", amount: 125_000 })).kind, "processed");
    await app.settled({ timeoutMs: 10_000 });
  } finally {
    await app.stop();
  }
  const authorized = await store.getEntity(ref(AUTHORIZED));
  assert.deepEqual([authorized?.stateVersion, (authorized?.state as { status?: string }).status], [1, "authorized"]);
  assert.equal("authorizedAt" in (authorized?.state as object), false, "version 1 did not keep authorizedAt");
}

/** The whole story on one backend: `open` opens the same database again each time. */
async function upgradeStory(open: () => Promise<Store>): Promise<void> {
  const old = await open();
  await writeWithVersion1(old);
  await old.close();

  const store = await open();
  const app = appOf(store, payments);
  try {
    assert.deepEqual(await app.countStateVersions("payments"), [{ stateVersion: 1, count: 3 }]);
    const dryRun = await app.upgrade("payments");
    assert.equal(dryRun.ok, true, JSON.stringify(dryRun.failures));
    assert.deepEqual(dryRun.byVersion, [{ stateVersion: 1, entities: 3, readable: 3, unreadable: 0 }]);
    assert.equal(dryRun.divergences, 0);
    assert.deepEqual(
      await app.countStateVersions("payments"),
      [{ stateVersion: 1, count: 3 }],
      "a dry run writes nothing",
    );

    // Served by version 2: migrated on load, decided, saved at version 2.
    const captured = await app.run(ref(AUTHORIZED), { type: "CapturePayment", amount: 100_000 });
    assert.equal(captured.kind, RunResultKind.Processed);
    const entity = await app.getEntity(ref(AUTHORIZED));
    assert.equal(entity?.stateVersion, 2);
    assert.deepEqual(
      [(entity?.state as { status?: string }).status, (entity?.state as { authorizedAt?: unknown }).authorizedAt],
      [PaymentStatus.Captured, null],
    );
    assert.deepEqual(
      (await app.history(ref(AUTHORIZED))).map((entry) => entry.stateVersion),
      [1, 1, 2],
    );

    // A rollback to version 1 cannot read what version 2 wrote, and writes nothing.
    const rolledBack = appOf(store, paymentsV1);
    const refused = await rolledBack.run(ref(AUTHORIZED), { type: "RefundPayment", amount: 1 });
    assert.equal(refused.kind, RunResultKind.Unreadable);
    assert.equal(refused.kind === RunResultKind.Unreadable && refused.reason, UnreadableReason.NewerVersion);
    assert.equal((await app.getEntity(ref(AUTHORIZED)))?.version, entity?.version);

    const applied = await app.upgrade("payments", { apply: true, batchSize: 2 });
    assert.deepEqual([applied.ok, applied.rewritten, applied.movedOn], [true, 2, 0]);
    assert.deepEqual(await app.countStateVersions("payments"), [{ stateVersion: 2, count: 3 }]);
    assert.equal(((await app.getEntity(ref(CAPTURED)))?.state as { authorizedAt?: unknown }).authorizedAt, null);
    assert.equal("authorizedAt" in ((await app.getEntity(ref(WAITING)))?.state as object), false);
    assert.equal((await app.upgrade("payments", { apply: true })).rewritten, 0);
  } finally {
    await store.close();
  }
}

describe("payments stored by version 1, on SQLite", () => {
  const dir = mkdtempSync(join(tmpdir(), "drover-versions-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("are served, migrated and saved by version 2; the upgrade reports and rewrites them", async () => {
    const path = join(dir, "payments.db");
    await upgradeStory(async () => SqliteStore.open({ path }));
  });
});

const skip = await skipUnlessPostgres();

describe("payments stored by version 1, on PostgreSQL", { skip }, () => {
  const database = `drover_versions_${process.pid}_${randomBytes(4).toString("hex")}`;
  after(() => dropDatabase(database));

  it("are served, migrated and saved by version 2; the upgrade reports and rewrites them", async () => {
    await upgradeStory(() => PostgresStore.open({ url: withDatabase(database), poolSize: 2 }));
  });
});
