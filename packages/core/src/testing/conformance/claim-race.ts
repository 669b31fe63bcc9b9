import assert from "node:assert/strict";
import type { Store } from "../../ports.js";
import { OutboxStatus, TimerStatus } from "../../ports.js";
import { queueWrite } from "../step-writes.js";
import { commitAll, T0 } from "./suite.js";

/**
 * One row a claimer of a race took, with ticks of a counter all claimers share: right after
 * the claim returned, and right before the row was settled.
 */
export interface ClaimSeen {
  readonly kind: "outbox" | "timer";
  readonly id: string;
  readonly owner: string;
  readonly attempts: number;
  readonly claimedAt: number;
  readonly settlingAt: number;
}

/** The ids `c_00`, `c_01`… of the `count` entities of a claim race. */
export function raceEntities(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `c_${String(i).padStart(2, "0")}`);
}

/**
 * Fill `store` for a claim race: six rounds, each one commit of a step per entity, so that
 * every entity's rows interleave with the others'. Each entity gets 12 outbox rows and 3
 * timers, all due by `T0 + 3_600_000`.
 */
export async function commitClaimRace(store: Store, entities: readonly string[]): Promise<void> {
  let eventNo = 0;
  for (let v = 0; v < 6; v++) {
    await commitAll(
      store,
      entities.map((id, e) =>
        queueWrite(id, eventNo++, v, 1 + ((e + v) % 3), v % 2 === 0 ? T0 + 60_000 + e : undefined),
      ),
    );
  }
}

/**
 * Check a finished claim race: each row was claimed exactly once, on its first attempt, and
 * settled; an entity's next row was claimed only after its previous one was being settled;
 * and more than one claimer took part.
 */
export async function assertClaimRaceSettled(
  store: Store,
  claims: readonly ClaimSeen[],
  expected: { readonly outbox: number; readonly timers: number },
): Promise<void> {
  const outbox = await store.listOutbox();
  const timers = await store.listTimers();
  const outboxClaims = claims.filter((claim) => claim.kind === "outbox");
  const timerClaims = claims.filter((claim) => claim.kind === "timer");
  assert.equal(outbox.length, expected.outbox);
  assert.equal(timers.length, expected.timers);
  assert.deepEqual(outboxClaims.map((claim) => claim.id).sort(), outbox.map((row) => row.intentId).sort());
  assert.deepEqual(timerClaims.map((claim) => claim.id).sort(), timers.map((timer) => timer.timerId).sort());
  assert.ok(claims.every((claim) => claim.attempts === 1));
  assert.ok(outbox.every((row) => row.status === OutboxStatus.Done && row.attempts === 1 && row.leaseOwner === null));
  assert.ok(timers.every((timer) => timer.status === TimerStatus.Fired && timer.leaseUntil === null));

  const byId = new Map(outboxClaims.map((claim) => [claim.id, claim]));
  const previous = new Map<string, ClaimSeen>();
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
  assert.ok(new Set(claims.map((claim) => claim.owner)).size >= 2, "the claimers took turns");
}
