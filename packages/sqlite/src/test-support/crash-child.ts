/**
 * The victim of crash.test.ts: opens a SqliteStore on the file given as first argument and
 * runs steps through the Runtime, from several concurrent callers, until it is killed.
 * Prints `running` once the first steps are committed. Any unexpected result exits with 1.
 *
 * Usage: node crash-child.js <db-file> <seed>
 */

import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import type { RunResult } from "@drover/core";
import { RunResultKind, Runtime } from "@drover/core";
import { seededRandom } from "@drover/core/testing";
import { SqliteStore } from "../sqlite-store.js";
import { tally } from "./crash-tally.js";

export const ENTITIES = 20;
export const CALLERS = 4;

export function entityId(index: number): string {
  return `c_${String(index).padStart(2, "0")}`;
}

/** A small seeded PRNG, so a run can be replayed from its seed. */
export const prng = seededRandom;

const EXPECTED: readonly RunResult["kind"][] = [
  RunResultKind.Processed,
  RunResultKind.Duplicate,
  RunResultKind.Rejected,
];

function check(result: RunResult, what: string): void {
  if (!EXPECTED.includes(result.kind)) throw new Error(`${what}: unexpected result ${JSON.stringify(result)}`);
}

async function main(path: string, seed: number): Promise<void> {
  const random = prng(seed);
  const store = SqliteStore.open({ path });
  const runtime = new Runtime({ store, machines: [tally] });
  // A fixed event id per entity: after a restart this is a duplicate, not a second creation.
  for (let i = 0; i < ENTITIES; i++) {
    check(
      await runtime.run({ machine: "tally", id: entityId(i) }, { type: "Open" }, { eventId: `open-${entityId(i)}` }),
      "Open",
    );
  }
  let announced = false;
  const caller = async (): Promise<never> => {
    for (let k = 0; ; k++) {
      const ref = { machine: "tally", id: entityId(Math.floor(random() * ENTITIES)) };
      const roll = random();
      const event =
        roll < 0.05
          ? { type: "Open" }
          : roll < 0.1
            ? { type: "Tick" }
            : { type: "Add", n: 1 + Math.floor(random() * 100) };
      const result = await runtime.run(ref, event);
      check(result, `${event.type} on ${ref.id}`);
      // Deliver some events twice: the second must be a duplicate.
      if (result.kind === RunResultKind.Processed && k % 7 === 0) {
        const again = await runtime.run(ref, event, { eventId: result.eventId });
        if (again.kind !== RunResultKind.Duplicate)
          throw new Error(`redelivery was not a duplicate: ${JSON.stringify(again)}`);
      }
      // The store answers synchronously: without a macrotask turn, stdout would never flush.
      await yieldToEventLoop();
      if (!announced) {
        announced = true;
        process.stdout.write("running\n");
      }
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const [path, seed] = process.argv.slice(2);
  if (path === undefined) {
    process.stderr.write("usage: node crash-child.js <db-file> <seed>\n");
    process.exit(2);
  }
  main(path, Number(seed ?? 1)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
