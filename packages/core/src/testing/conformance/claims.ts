import assert from "node:assert/strict";
import type { OutboxRecord, StepWrite, Store } from "../../ports.js";
import { OutboxStatus, TimerStatus } from "../../ports.js";
import { seededRandom } from "../../random.js";
import { queueWrite } from "../step-writes.js";
import type { ClaimSeen } from "./claim-race.js";
import { assertClaimRaceSettled, commitClaimRace, raceEntities } from "./claim-race.js";
import type { Suite } from "./suite.js";
import { commitAll, peers, T0 } from "./suite.js";

/**
 * Claims at length: a seeded run of claims, settlements, failures and abandoned leases checked
 * against a reading of the port's contract, and — where the adapter can open a second store
 * on the same database (`openPeer`) — claims by several stores at once.
 */
export function claimsSpec(suite: Suite): void {
  const { describe, it, withStore } = suite;
  describe("claim order", () => {
    const seed = Number(process.env.DROVER_CLAIM_SEED ?? 20260101);
    it(
      `hands out exactly the due, free, oldest pending row of each entity, in commit order (seed ${seed}, DROVER_CLAIM_SEED to replay)`,
      withStore(async (store) => {
        const random = seededRandom(seed);
        const entities = raceEntities(25);
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
            batch.push(queueWrite(id, eventNo++, version, Math.floor(random() * 4)));
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
      }),
    );
  });

  const withPeers = peers(suite);
  if (withPeers !== undefined) {
    describe("claims across stores", () => {
      it(
        "never hands one row to two stores claiming at once, and keeps each entity's order",
        withPeers(4, async (store, peers) => {
          await commitClaimRace(store, raceEntities(30));
          const claims: ClaimSeen[] = [];
          let tick = 0;
          const now = T0 + 3_600_000;
          // Each peer stands for a process with its own connections.
          const claimer = async (peer: Store, owner: string) => {
            const query = { owner, now, leaseMs: 60_000, limit: 3 };
            for (let idle = 0; idle < 3; ) {
              const [rows, timers] = await Promise.all([peer.claimOutbox(query), peer.claimTimers(query)]);
              const claimedAt = tick++;
              idle = rows.length + timers.length === 0 ? idle + 1 : 0;
              for (const row of rows) {
                const settlingAt = tick++;
                assert.equal(await peer.completeOutbox(row.intentId, owner, now), true);
                claims.push({ kind: "outbox", id: row.intentId, owner, attempts: row.attempts, claimedAt, settlingAt });
              }
              for (const timer of timers) {
                const settlingAt = tick++;
                assert.equal(await peer.completeTimer(timer.timerId, owner, now), true);
                claims.push({
                  kind: "timer",
                  id: timer.timerId,
                  owner,
                  attempts: timer.attempts,
                  claimedAt,
                  settlingAt,
                });
              }
            }
          };
          await Promise.all(peers.map((peer, w) => claimer(peer, `worker-${w}`)));
          await assertClaimRaceSettled(store, claims, { outbox: 360, timers: 90 });
        }),
      );

      it(
        "lets another store take an expired lease; the old owner can then settle nothing",
        withPeers(1, async (a, [b]) => {
          assert.ok(b !== undefined);
          await commitAll(a, [queueWrite("c_01", 1, 0, 2, T0 + 100)]);
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
          assert.equal(
            await a.failOutbox("tally/c_01/1/0", "a", { error: "late", now: T0 + 1300, retryAt: null }),
            false,
          );
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
        }),
      );
    });
  }
}

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
