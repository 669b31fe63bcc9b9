import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AcceptedWrite, CommitOutcome, Json, StepWrite, Store } from "@drover/core";
import { CommitOutcomeKind, MemoryStore } from "@drover/core";
import type { Random } from "@drover/core/testing";
import { acceptedWrite, between, rejectionWrite, seededRandom } from "@drover/core/testing";
import { freshSchema, openStore, postgresAvailable } from "./test-support/fixtures.js";

const SEED = Number(process.env.DROVER_BATCH_SEED ?? Date.now() % 1_000_000);
const IDS = ["t_a", "t_b", "t_c", "t_d"];

/**
 * A batch like group commit makes, and worse: steps of one entity in a row, event ids seen
 * before or repeated within the batch, stale and future versions, rejections, timers, and
 * now and then a step that breaks a constraint (two intents with one id).
 */
function randomBatch(
  random: Random,
  versions: Map<string, number>,
  used: string[],
  counter: { n: number },
): StepWrite[] {
  const planned = new Map(versions);
  return Array.from({ length: between(random, 1, 12) }, () => {
    const id = IDS[between(random, 0, IDS.length - 1)] ?? "t_a";
    const current = planned.get(id) ?? 0;
    const roll = random();
    const expected = roll < 0.75 ? current : roll < 0.9 ? Math.max(0, current - 1) : current + 1;
    const pick = random();
    const eventId =
      pick < 0.1 && used.length > 0 ? (used[between(random, 0, used.length - 1)] ?? "evt_x") : `evt_${counter.n++}`;
    used.push(eventId);
    if (random() < 0.2) return rejectionWrite(id, eventId, expected, "closed");
    const intents = Array.from({ length: between(random, 0, 2) }, (_, i) => ({ type: "Noted", i }));
    const timers: Json[] = random() < 0.2 ? [{ type: "Close" }] : [];
    let step: AcceptedWrite = acceptedWrite(id, eventId, expected, { v: expected + 1, id }, intents, timers);
    if (random() < 0.07 && step.outbox.length > 0) {
      const [first] = step.outbox;
      if (first !== undefined) step = { ...step, outbox: [first, first] };
    }
    if (expected === current) planned.set(id, current + 1);
    return step;
  });
}

/** What a store says about everything, to compare two stores. */
async function everything(store: Store) {
  const entities = await store.listEntities("tally", { limit: 100 });
  return {
    entities,
    histories: await Promise.all(IDS.map((id) => store.history({ machine: "tally", id }))),
    outbox: await store.listOutbox(),
    timers: await store.listTimers(),
  };
}

function comparable(outcome: CommitOutcome | undefined) {
  // A failed step's error differs between stores (a JS error, a PostgreSQL one): compare kinds.
  return outcome?.kind === CommitOutcomeKind.Failed ? { kind: outcome.kind } : outcome;
}

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore: batches", () => {
    it(`answers every batch as the reference store does (seed ${SEED}, DROVER_BATCH_SEED to replay)`, async () => {
      const random = seededRandom(SEED);
      const store = await openStore({ schema: freshSchema() });
      const reference = new MemoryStore();
      const versions = new Map<string, number>();
      const used: string[] = [];
      const counter = { n: 0 };
      let fallbacks = 0;
      try {
        for (let round = 0; round < 40; round++) {
          const batch = randomBatch(random, versions, used, counter);
          const [mine, theirs] = await Promise.all([store.commit(batch), reference.commit(batch)]);
          assert.deepEqual(
            mine.map(comparable),
            theirs.map(comparable),
            `round ${round}: ${JSON.stringify(batch.map((s) => [s.ref.id, s.eventId, s.expectedVersion, s.kind]))}`,
          );
          if (theirs.some((outcome) => outcome.kind === CommitOutcomeKind.Failed)) fallbacks++;
          for (const entity of await reference.listEntities("tally", { limit: 100 }))
            versions.set(entity.id, entity.version);
        }
        assert.deepEqual(await everything(store), await everything(reference));
        // The seed should have exercised the step-by-step path as well.
        assert.ok(fallbacks > 0 || used.length !== new Set(used).size);
      } finally {
        await store.close();
      }
    });
  });
}
