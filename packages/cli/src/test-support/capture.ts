import type { AnyMachine, Store } from "@drover/core";
import { App, MemoryStore, RunResultKind, silentLogger } from "@drover/core";
import type { CliIo } from "../commands/context.js";

/** A {@link CliIo} whose output the test reads back; `tty` makes stderr a terminal. */
export function captureIo(tty = false): CliIo & { out(): string; err(): string } {
  const sink = (into: string[], isTTY: boolean) =>
    Object.assign(
      {
        write: (text: string) => {
          into.push(text);
          return true;
        },
      },
      { isTTY },
    ) as unknown as NodeJS.WriteStream;
  const out: string[] = [];
  const err: string[] = [];
  return {
    env: {},
    cwd: process.cwd(),
    stdout: sink(out, false),
    stderr: sink(err, tty),
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

/** An App of `machine` over `store`, never started. */
export function appOf(store: Store, machine: AnyMachine): App {
  return new App({ store, machines: [machine], logger: silentLogger });
}

/**
 * A MemoryStore with counters written by `machine` (older code): one per count in `counts`,
 * each `Start` then one `Add` (so each journal has two entries). Ids are `c_0`, `c_1`, ….
 */
export async function storeWithCounters(machine: AnyMachine, counts: readonly number[]): Promise<MemoryStore> {
  const store = new MemoryStore();
  const app = appOf(store, machine);
  for (const [i, count] of counts.entries()) {
    const ref = { machine: machine.name, id: `c_${i}` };
    for (const event of [{ type: "Start" }, { type: "Add", n: count }]) {
      const result = await app.run(ref, event);
      if (result.kind !== RunResultKind.Processed) throw new Error(`fixture: ${JSON.stringify(result)}`);
    }
  }
  return store;
}
