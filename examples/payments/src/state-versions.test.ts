// Issue 15 on real stores: payments written by version 1 of the payments machine (before it
// kept `authorizedAt`) are served, migrated and saved by version 2, on SQLite and PostgreSQL;
// the upgrade's dry run reports them, its apply rewrites them, a rollback cannot read them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
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

/** A stored payment's state version and state (it must exist). */
async function stored(store: Pick<Store, "getEntity">, id: string) {
  const entity = await store.getEntity(ref(id));
  assert.ok(entity !== undefined, `${id} is not stored`);
  return { stateVersion: entity.stateVersion, state: entity.state as Record<string, unknown> };
}

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
  const authorized = await stored(store, AUTHORIZED);
  assert.deepEqual([authorized.stateVersion, authorized.state.status], [1, PaymentStatus.Authorized]);
  assert.equal("authorizedAt" in authorized.state, false, "version 1 did not keep authorizedAt");
}

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** `drover upgrade payments …` on `db`, run as an operator runs it: the real binary, from the repo root. */
function droverUpgrade(db: string, ...flags: string[]) {
  const bin = join(ROOT, "packages", "cli", "bin", "drover.js");
  const env = { ...process.env, DROVER_DB: "", DROVER_DATA_DIR: "", DROVER_LOG_LEVEL: "warn" };
  const ran = spawnSync(process.execPath, [bin, "upgrade", "payments", "--db", db, ...flags], {
    cwd: ROOT,
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: ran.status, stdout: ran.stdout, stderr: ran.stderr };
}

/** The whole story on one backend: `open` opens the same database again each time; `db` names it for the CLI. */
async function upgradeStory(open: () => Promise<Store>, db: string): Promise<void> {
  const old = await open();
  await writeWithVersion1(old);
  await old.close();

  const dryRun = droverUpgrade(db, "--dry-run");
  assert.equal(dryRun.code, 0, dryRun.stderr + dryRun.stdout);
  assert.match(dryRun.stdout, /3 entities at v1 → v2 ok/);
  assert.match(dryRun.stdout, /3 entities, 0 unreadable, 0 divergences/);

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
    const entity = await stored(app, AUTHORIZED);
    assert.deepEqual(
      [entity.stateVersion, entity.state.status, entity.state.authorizedAt],
      [2, PaymentStatus.Captured, null],
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
    assert.deepEqual(await stored(app, AUTHORIZED), entity);

    const applied = await app.upgrade("payments", { apply: true, batchSize: 2 });
    assert.deepEqual([applied.ok, applied.rewritten, applied.movedOn], [true, 2, 0]);
    assert.deepEqual(await app.countStateVersions("payments"), [{ stateVersion: 2, count: 3 }]);
    assert.equal((await stored(app, CAPTURED)).state.authorizedAt, null);
    assert.equal("authorizedAt" in (await stored(app, WAITING)).state, false);
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
    await upgradeStory(async () => SqliteStore.open({ path }), `sqlite:${path}`);
  });
});

const skip = await skipUnlessPostgres();

describe("payments stored by version 1, on PostgreSQL", { skip }, () => {
  const database = `drover_versions_${process.pid}_${randomBytes(4).toString("hex")}`;
  after(() => dropDatabase(database));

  it("are served, migrated and saved by version 2; the upgrade reports and rewrites them", async () => {
    await upgradeStory(() => PostgresStore.open({ url: withDatabase(database), poolSize: 2 }), withDatabase(database));
  });
});
