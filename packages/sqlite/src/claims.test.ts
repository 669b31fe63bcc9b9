import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import type { AcceptedWrite, OutboxRecord, StepWrite } from "@drover/core";
import { CommitOutcomeKind, OutboxStatus, StoreUnavailableError, TimerStatus } from "@drover/core";
import { acceptedWrite, STEP_EPOCH } from "@drover/core/testing";
import Database from "better-sqlite3";
import { SqliteStore } from "./sqlite-store.js";
import type { ClaimRecord, ClaimWorkerData, ClaimWorkerResult } from "./test-support/claim-worker.js";
import { prng } from "./test-support/crash-child.js";

const T0 = STEP_EPOCH;

const root = mkdtempSync(join(tmpdir(), "drover-sqlite-claims-"));
after(() => rmSync(root, { recursive: true, force: true }));

function freshPath(): string {
  return join(mkdtempSync(join(root, "t-")), "drover.db");
}

/** A step of entity `id` with `intents` outbox rows and, if asked, one timer due at `dueAt`. */
function step(id: string, eventNo: number, expectedVersion: number, intents: number, dueAt?: number): AcceptedWrite {
  const base = acceptedWrite(
    id,
    `evt_${eventNo}`,
    expectedVersion,
    { n: expectedVersion + 1 },
    Array.from({ length: intents }, (_, i) => ({ type: "Noted", i })),
  );
  if (dueAt === undefined) return base;
  return {
    ...base,
    timers: [{ timerId: `tally/${id}/${expectedVersion + 1}/timer`, event: { type: "Tick" }, dueAt }],
  };
}

async function commitAll(store: SqliteStore, steps: readonly StepWrite[]): Promise<void> {
  const outcomes = await store.commit(steps);
  assert.deepEqual(
    outcomes.map((outcome) => outcome.kind),
    steps.map(() => CommitOutcomeKind.Committed),
  );
}

/** Run the workers to the end; if one fails, stop the others too, so a failure cannot hang the test. */
async function runWorkers(data: readonly ClaimWorkerData[]): Promise<ClaimWorkerResult[]> {
  const workers = data.map(
    (item) => new Worker(new URL("./test-support/claim-worker.js", import.meta.url), { workerData: item }),
  );
  try {
    return await Promise.all(workers.map((worker, i) => resultOf(worker, data[i]?.owner ?? "?")));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

function resultOf(worker: Worker, owner: string): Promise<ClaimWorkerResult> {
  return new Promise((resolve, reject) => {
    let result: ClaimWorkerResult | undefined;
    worker.once("message", (message: ClaimWorkerResult) => {
      result = message;
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`claim worker ${owner} exited with code ${code} without a result`));
    });
  });
}

describe("SqliteStore: claims across connections", () => {
  it("never hands one row to two stores claiming the same file at once", async (t) => {
    const path = freshPath();
    const entities = Array.from({ length: 40 }, (_, i) => `c_${String(i).padStart(2, "0")}`);
    const setup = SqliteStore.open({ path });
    try {
      // Six rounds, each one commit of a step per entity: every entity's rows interleave with the others'.
      let eventNo = 0;
      for (let v = 0; v < 6; v++) {
        await commitAll(
          setup,
          entities.map((id, e) => step(id, eventNo++, v, 1 + ((e + v) % 3), v % 2 === 0 ? T0 + 60_000 + e : undefined)),
        );
      }
    } finally {
      await setup.close();
    }

    const workers = 4;
    const sync = new SharedArrayBuffer(8);
    const results = await runWorkers(
      Array.from({ length: workers }, (_, w) => ({
        path,
        owner: `worker-${w}`,
        now: T0 + 3_600_000,
        workers,
        limit: 3,
        sync,
      })),
    );

    const store = SqliteStore.open({ path });
    try {
      const outbox = await store.listOutbox();
      const timers = await store.listTimers();
      const claims = results.flatMap((result) => result.claims);
      const outboxClaims = claims.filter((claim) => claim.kind === "outbox");
      const timerClaims = claims.filter((claim) => claim.kind === "timer");
      assert.equal(outbox.length, 480);
      assert.equal(timers.length, 120);
      // Each row claimed exactly once, on its first attempt, and settled.
      assert.deepEqual(outboxClaims.map((claim) => claim.id).sort(), outbox.map((row) => row.intentId).sort());
      assert.deepEqual(timerClaims.map((claim) => claim.id).sort(), timers.map((timer) => timer.timerId).sort());
      assert.ok(claims.every((claim) => claim.attempts === 1));
      assert.ok(
        outbox.every((row) => row.status === OutboxStatus.Done && row.attempts === 1 && row.leaseOwner === null),
      );
      assert.ok(timers.every((timer) => timer.status === TimerStatus.Fired && timer.leaseUntil === null));

      // An entity's next row was claimed only after its previous one was being settled.
      const byId = new Map<string, ClaimRecord>(outboxClaims.map((claim) => [claim.id, claim]));
      const previous = new Map<string, ClaimRecord>();
      for (const row of outbox) {
        const claim = byId.get(row.intentId);
        assert.ok(claim !== undefined);
        const before = previous.get(row.entityId);
        if (before !== undefined) {
          assert.ok(
            claim.claimedAt > before.settlingAt,
            `${row.intentId} was claimed (tick ${claim.claimedAt}) before ${before.id} was done (tick ${before.settlingAt})`,
          );
        }
        previous.set(row.entityId, claim);
      }
      for (const result of results) {
        t.diagnostic(`${result.owner}: ${result.claims.length} rows, ${result.idle} empty claims`);
      }
      assert.ok(results.filter((result) => result.claims.length > 0).length >= 2, "the workers took turns");
    } finally {
      await store.close();
    }
  });

  it("lets another store take an expired lease; the old owner can then settle nothing", async () => {
    const path = freshPath();
    const a = SqliteStore.open({ path });
    const b = SqliteStore.open({ path });
    try {
      await commitAll(a, [step("c_01", 1, 0, 2, T0 + 100)]);
      const query = (owner: string, now: number) => ({ owner, now, leaseMs: 1000, limit: 10 });

      const [mine] = await a.claimOutbox(query("a", T0 + 200));
      assert.deepEqual([mine?.intentId, mine?.attempts, mine?.leaseUntil], ["tally/c_01/1/0", 1, T0 + 1200]);
      // Held, and the entity's second row waits behind it.
      assert.deepEqual(await b.claimOutbox(query("b", T0 + 1199)), []);
      const [taken] = await b.claimOutbox(query("b", T0 + 1200));
      assert.deepEqual(
        [taken?.intentId, taken?.attempts, taken?.leaseOwner, taken?.leaseUntil],
        ["tally/c_01/1/0", 2, "b", T0 + 2200],
      );
      assert.equal(await a.completeOutbox("tally/c_01/1/0", "a", T0 + 1300), false);
      assert.equal(
        await a.failOutbox("tally/c_01/1/0", "a", { error: "late", now: T0 + 1300, retryAt: T0 + 1400 }),
        false,
      );
      assert.equal(await a.failOutbox("tally/c_01/1/0", "a", { error: "late", now: T0 + 1300, retryAt: null }), false);
      const [untouched] = await b.listOutbox({ limit: 1 });
      assert.deepEqual(
        [untouched?.status, untouched?.leaseOwner, untouched?.lastError, untouched?.attempts],
        [OutboxStatus.Pending, "b", null, 2],
      );
      // The new owner kills it; dead rows do not hold their entity back.
      assert.equal(
        await b.failOutbox("tally/c_01/1/0", "b", { error: "gave up", now: T0 + 1300, retryAt: null }),
        true,
      );
      assert.deepEqual(
        (await a.claimOutbox(query("a", T0 + 1300))).map((row) => row.intentId),
        ["tally/c_01/1/1"],
      );

      const [timer] = await a.claimTimers(query("a", T0 + 100));
      assert.deepEqual([timer?.attempts, timer?.leaseOwner], [1, "a"]);
      assert.deepEqual(await b.claimTimers(query("b", T0 + 1099)), []);
      const [timerTaken] = await b.claimTimers(query("b", T0 + 1100));
      assert.deepEqual([timerTaken?.attempts, timerTaken?.leaseOwner], [2, "b"]);
      assert.equal(await a.completeTimer("tally/c_01/1/timer", "a", T0 + 1150), false);
      assert.equal(
        await a.failTimer("tally/c_01/1/timer", "a", { error: "late", now: T0 + 1150, retryAt: T0 + 2000 }),
        false,
      );
      assert.equal(await b.completeTimer("tally/c_01/1/timer", "b", T0 + 1150), true);
      const [fired] = await a.listTimers();
      assert.deepEqual([fired?.status, fired?.leaseOwner, fired?.lastError], [TimerStatus.Fired, null, null]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("waits for another connection's write lock, then reports it as StoreUnavailableError, leasing nothing", async () => {
    const path = freshPath();
    const store = SqliteStore.open({ path, busyTimeout: 50 });
    const other = new Database(path);
    try {
      await commitAll(store, [step("c_01", 1, 0, 1, T0)]);
      const query = { owner: "w", now: T0 + 10, leaseMs: 100, limit: 10 };
      other.prepare("BEGIN IMMEDIATE").run();
      const busy = (action: string) => (error: unknown) =>
        error instanceof StoreUnavailableError &&
        (error.cause as { code?: unknown }).code === "SQLITE_BUSY" &&
        error.message.includes(`unavailable while ${action}`);
      await assert.rejects(store.claimOutbox(query), busy("claiming outbox rows"));
      await assert.rejects(store.claimTimers(query), busy("claiming timers"));
      other.prepare("ROLLBACK").run();
      assert.equal((await store.listOutbox())[0]?.leaseOwner, null);
      assert.equal((await store.claimOutbox(query)).length, 1);
      other.prepare("BEGIN IMMEDIATE").run();
      await assert.rejects(store.completeOutbox("tally/c_01/1/0", "w", T0 + 20), busy("completing an outbox row"));
      other.prepare("ROLLBACK").run();
      assert.equal(await store.completeOutbox("tally/c_01/1/0", "w", T0 + 20), true);
    } finally {
      other.close();
      await store.close();
    }
  });
});

describe("SqliteStore: claim order", () => {
  it("hands out exactly the due, free, oldest pending row of each entity, in commit order", async () => {
    const seed = Number(process.env.DROVER_CLAIM_SEED ?? 20260101);
    const random = prng(seed);
    const store = SqliteStore.open({ path: freshPath() });
    try {
      const entities = Array.from({ length: 25 }, (_, i) => `c_${String(i).padStart(2, "0")}`);
      const versions = new Map<string, number>();
      let eventNo = 0;
      while (eventNo < 150) {
        const batch: StepWrite[] = [];
        const used = new Set<string>();
        for (let k = 1 + Math.floor(random() * 5); k > 0; k--) {
          const id = entities[Math.floor(random() * entities.length)] ?? "c_00";
          if (used.has(id)) continue;
          used.add(id);
          const version = versions.get(id) ?? 0;
          batch.push(step(id, eventNo++, version, Math.floor(random() * 4)));
          versions.set(id, version + 1);
        }
        await commitAll(store, batch);
      }

      const leaseMs = 30;
      let now = T0 + 1000;
      /** Owners of leases left to expire, to check they cannot settle after a takeover. */
      const abandoned = new Map<string, string>();
      const done = new Map<string, string[]>();
      let rounds = 0;
      for (; rounds < 3000; rounds++) {
        const before = await store.listOutbox();
        if (!before.some((row) => row.status === OutboxStatus.Pending)) break;
        now += 1 + Math.floor(random() * 15);
        const limit = 1 + Math.floor(random() * 6);
        const owner = `w${rounds % 3}`;
        const expected = claimable(before, now, limit);
        const claimed = await store.claimOutbox({ owner, now, leaseMs, limit });
        assert.deepEqual(
          claimed.map((row) => row.intentId),
          expected.map((row) => row.intentId),
          `seed ${seed}, round ${rounds}`,
        );
        for (const [i, row] of claimed.entries()) {
          assert.deepEqual(
            [row.attempts, row.leaseOwner, row.leaseUntil],
            [(expected[i]?.attempts ?? 0) + 1, owner, now + leaseMs],
          );
          const previousOwner = abandoned.get(row.intentId);
          if (previousOwner !== undefined && previousOwner !== owner) {
            assert.equal(await store.completeOutbox(row.intentId, previousOwner, now), false);
          }
          abandoned.delete(row.intentId);
          const roll = random();
          if (roll < 0.5) {
            assert.equal(await store.completeOutbox(row.intentId, owner, now), true);
            done.set(row.entityId, [...(done.get(row.entityId) ?? []), row.intentId]);
          } else if (roll < 0.7) {
            const failure = { error: `try ${row.attempts}`, now, retryAt: now + 1 + Math.floor(random() * 40) };
            assert.equal(await store.failOutbox(row.intentId, owner, failure), true);
          } else if (roll < 0.8) {
            assert.equal(await store.failOutbox(row.intentId, owner, { error: "dead", now, retryAt: null }), true);
          } else {
            abandoned.set(row.intentId, owner);
          }
        }
      }
      const rows = await store.listOutbox();
      assert.ok(
        rows.every((row) => row.status !== OutboxStatus.Pending),
        `seed ${seed}: still pending after ${rounds} rounds`,
      );
      // What completed, completed in commit order per entity.
      const order = new Map(rows.map((row, index) => [row.intentId, index]));
      for (const [entity, ids] of done) {
        const seqs = ids.map((id) => order.get(id) ?? -1);
        assert.deepEqual(
          seqs,
          [...seqs].sort((x, y) => x - y),
          `seed ${seed}: ${entity} completed out of order`,
        );
      }
      assert.ok(rows.some((row) => row.status === OutboxStatus.Dead));
      assert.ok(rows.some((row) => row.status === OutboxStatus.Done && row.attempts > 1));
    } finally {
      await store.close();
    }
  });

  it("makes a dead row pending again with a fresh count, keeping its last error", async () => {
    const store = SqliteStore.open({ path: freshPath() });
    try {
      await commitAll(store, [step("c_01", 1, 0, 1)]);
      await store.claimOutbox({ owner: "w", now: T0 + 10, leaseMs: 100, limit: 1 });
      assert.equal(await store.retryDead("tally/c_01/1/0", T0 + 15), false);
      await store.failOutbox("tally/c_01/1/0", "w", { error: "400 bad request", now: T0 + 20, retryAt: null });
      assert.equal(await store.retryDead("tally/c_01/1/0", T0 + 30), true);
      assert.equal(await store.retryDead("tally/c_01/1/0", T0 + 31), false);
      const [row] = await store.listOutbox();
      assert.deepEqual(
        [row?.status, row?.attempts, row?.nextAttemptAt, row?.leaseOwner, row?.leaseUntil, row?.lastError],
        [OutboxStatus.Pending, 0, T0 + 30, null, null, "400 bad request"],
      );
      assert.equal(await store.retryDead("tally/unknown/1/0", T0 + 31), false);
    } finally {
      await store.close();
    }
  });

  it("claims nothing, and changes nothing, for a limit of zero or less", async () => {
    const store = SqliteStore.open({ path: freshPath() });
    try {
      await commitAll(store, [step("c_01", 1, 0, 1, T0)]);
      for (const limit of [0, -1]) {
        assert.deepEqual(await store.claimOutbox({ owner: "w", now: T0 + 10, leaseMs: 100, limit }), []);
        assert.deepEqual(await store.claimTimers({ owner: "w", now: T0 + 10, leaseMs: 100, limit }), []);
      }
      assert.equal((await store.listOutbox())[0]?.attempts, 0);
      assert.equal((await store.listTimers())[0]?.attempts, 0);
    } finally {
      await store.close();
    }
  });

  it("claims timers soonest first, commit order among equal due times", async () => {
    const store = SqliteStore.open({ path: freshPath() });
    try {
      const dues = [T0 + 30, T0 + 10, T0 + 30, T0 + 20, T0 + 10];
      await commitAll(store, [
        {
          ...step("c_01", 1, 0, 0),
          timers: dues.map((dueAt, i) => ({ timerId: `t${i}`, event: { type: "Tick" }, dueAt })),
        },
      ]);
      const claimed = await store.claimTimers({ owner: "s", now: T0 + 30, leaseMs: 100, limit: 4 });
      assert.deepEqual(
        claimed.map((timer) => timer.timerId),
        ["t1", "t4", "t3", "t0"],
      );
      assert.deepEqual(
        (await store.listTimers()).map((timer) => timer.timerId),
        ["t1", "t4", "t3", "t0", "t2"],
      );
    } finally {
      await store.close();
    }
  });
});

/** The reference answer to a claim: a row-by-row reading of the port's contract. */
function claimable(rows: readonly OutboxRecord[], now: number, limit: number): OutboxRecord[] {
  const seen = new Set<string>();
  const out: OutboxRecord[] = [];
  for (const row of rows) {
    if (out.length >= limit) break;
    if (row.status !== OutboxStatus.Pending) continue;
    const entity = `${row.machine}\u0000${row.entityId}`;
    if (seen.has(entity)) continue;
    seen.add(entity);
    if (row.nextAttemptAt <= now && (row.leaseUntil === null || row.leaseUntil <= now)) out.push(row);
  }
  return out;
}
