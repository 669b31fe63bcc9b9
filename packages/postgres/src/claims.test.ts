import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AcceptedWrite, StepWrite } from "@drover/core";
import { CommitOutcomeKind, OutboxStatus, TimerStatus } from "@drover/core";
import { acceptedWrite, STEP_EPOCH } from "@drover/core/testing";
import { quoteIdent } from "./identifiers.js";
import type { PostgresStore } from "./postgres-store.js";
import { freshSchema, openStore, postgresAvailable, withAdmin } from "./test-support/fixtures.js";

const T0 = STEP_EPOCH;

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
  return { ...base, timers: [{ timerId: `tally/${id}/${expectedVersion + 1}/timer`, event: { type: "Tick" }, dueAt }] };
}

async function commitAll(store: PostgresStore, steps: readonly StepWrite[]): Promise<void> {
  const outcomes = await store.commit(steps);
  assert.deepEqual(
    outcomes.map((outcome) => outcome.kind),
    steps.map(() => CommitOutcomeKind.Committed),
  );
}

interface Claim {
  readonly kind: "outbox" | "timer";
  readonly id: string;
  readonly entity: string;
  readonly seq: number;
  readonly owner: string;
  readonly attempts: number;
}

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore: claims across processes", () => {
    it("never hands one row to two stores claiming at once, and keeps each entity's order", async () => {
      const schema = freshSchema();
      const entities = Array.from({ length: 30 }, (_, i) => `c_${String(i).padStart(2, "0")}`);
      const setup = await openStore({ schema });
      const order = new Map<string, number>();
      try {
        // Six rounds, each one commit of a step per entity: every entity's rows interleave with the others'.
        let eventNo = 0;
        for (let v = 0; v < 6; v++) {
          await commitAll(
            setup,
            entities.map((id, e) =>
              step(id, eventNo++, v, 1 + ((e + v) % 3), v % 2 === 0 ? T0 + 60_000 + e : undefined),
            ),
          );
        }
        (await setup.listOutbox()).forEach((row, index) => {
          order.set(row.intentId, index);
        });
      } finally {
        await setup.close();
      }

      // Four stores stand for four processes, each with its own pool.
      const workers = await Promise.all(Array.from({ length: 4 }, () => openStore({ schema, poolSize: 2 })));
      const claims: Claim[] = [];
      let clock = 0;
      try {
        await Promise.all(
          workers.map(async (store, w) => {
            const owner = `worker-${w}`;
            for (let idle = 0; idle < 3; ) {
              const now = T0 + 3_600_000;
              const [rows, timers] = await Promise.all([
                store.claimOutbox({ owner, now, leaseMs: 60_000, limit: 3 }),
                store.claimTimers({ owner, now, leaseMs: 60_000, limit: 3 }),
              ]);
              idle = rows.length + timers.length === 0 ? idle + 1 : 0;
              for (const row of rows) {
                claims.push({
                  kind: "outbox",
                  id: row.intentId,
                  entity: row.entityId,
                  seq: clock++,
                  owner,
                  attempts: row.attempts,
                });
              }
              for (const timer of timers) {
                claims.push({
                  kind: "timer",
                  id: timer.timerId,
                  entity: timer.entityId,
                  seq: clock++,
                  owner,
                  attempts: timer.attempts,
                });
              }
              for (const row of rows) assert.equal(await store.completeOutbox(row.intentId, owner, now), true);
              for (const timer of timers) assert.equal(await store.completeTimer(timer.timerId, owner, now), true);
            }
          }),
        );
        const [check] = workers;
        assert.ok(check);
        const outbox = await check.listOutbox();
        const timers = await check.listTimers();
        const outboxClaims = claims.filter((claim) => claim.kind === "outbox");
        const timerClaims = claims.filter((claim) => claim.kind === "timer");
        assert.equal(outbox.length, 360);
        assert.equal(timers.length, 90);
        // Each row claimed exactly once, on its first attempt, and settled.
        assert.deepEqual(outboxClaims.map((claim) => claim.id).sort(), outbox.map((row) => row.intentId).sort());
        assert.deepEqual(timerClaims.map((claim) => claim.id).sort(), timers.map((timer) => timer.timerId).sort());
        assert.ok(claims.every((claim) => claim.attempts === 1));
        assert.ok(outbox.every((row) => row.status === OutboxStatus.Done && row.leaseOwner === null));
        assert.ok(timers.every((timer) => timer.status === TimerStatus.Fired && timer.leaseUntil === null));
        // An entity's intents were claimed in commit order, one after the other.
        for (const id of entities) {
          const mine = outboxClaims.filter((claim) => claim.entity === id);
          const committed = [...mine].sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
          assert.deepEqual(
            mine.map((claim) => claim.id),
            committed.map((claim) => claim.id),
            `claim order of ${id}`,
          );
        }
        // The work was shared.
        assert.ok(new Set(claims.map((claim) => claim.owner)).size > 1);
      } finally {
        await Promise.all(workers.map((store) => store.close()));
      }
    });

    it("skips a row another claimer holds locked instead of waiting for it", async () => {
      const schema = freshSchema();
      const store = await openStore({ schema });
      try {
        await commitAll(store, [step("c_a", 1, 0, 1), step("c_b", 2, 0, 1), step("c_c", 3, 0, 1)]);
        const now = T0 + 10_000;
        const claimed = await withAdmin(async (client) => {
          // Another process is in the middle of claiming c_a: its row is locked until that commits.
          await client.query("BEGIN");
          await client.query(`SELECT 1 FROM ${quoteIdent(schema)}.outbox WHERE intent_id = 'tally/c_a/1/0' FOR UPDATE`);
          try {
            return await store.claimOutbox({ owner: "w", now, leaseMs: 1000, limit: 10 });
          } finally {
            await client.query("ROLLBACK");
          }
        });
        assert.deepEqual(
          claimed.map((row) => row.intentId),
          ["tally/c_b/1/0", "tally/c_c/1/0"],
        );
        assert.deepEqual(
          (await store.claimOutbox({ owner: "w", now, leaseMs: 1000, limit: 10 })).map((row) => row.intentId),
          ["tally/c_a/1/0"],
        );
      } finally {
        await store.close();
      }
    });
  });
}
