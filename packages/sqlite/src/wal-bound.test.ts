import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { acceptedWrite } from "@drover/core/testing";
import { WAL_SIZE_LIMIT_BYTES } from "./connection.js";
import { SqliteStore } from "./sqlite-store.js";

const dir = mkdtempSync(join(tmpdir(), "drover-wal-bound-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function walSize(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

describe("the SQLite WAL on disk (issue 21, part 6)", () => {
  it("stays below its bound under writes, and is emptied after a quiet second", async () => {
    const path = join(dir, "bounded.db");
    const store = SqliteStore.open({ path, synchronous: "NORMAL" });
    try {
      // ~60 MB of WAL frames in all without a bound: 3,000 steps of a ~2 KB state, one
      // transaction each, with an intent and journal, inbox and outbox rows.
      const padding = "x".repeat(2_000);
      let largest = 0;
      for (let i = 0; i < 3_000; i++) {
        const id = `t_${i % 300}`;
        const version = Math.floor(i / 300);
        const [outcome] = await store.commit([
          acceptedWrite(id, `evt_${i}`, version, { total: i, padding }, [{ type: "Noted", i }]),
        ]);
        assert.equal(outcome?.kind, "committed", `step ${i}`);
        largest = Math.max(largest, walSize(path));
      }
      assert.ok(largest > 0, "the WAL was written");
      assert.ok(
        largest <= WAL_SIZE_LIMIT_BYTES,
        `the WAL reached ${largest} bytes, above its bound of ${WAL_SIZE_LIMIT_BYTES}`,
      );
      // Idle: within a few quiet intervals the WAL is checkpointed and truncated.
      const deadline = Date.now() + 5_000;
      while (walSize(path) > 0) {
        if (Date.now() > deadline) assert.fail(`the WAL still holds ${walSize(path)} bytes after 5 s idle`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Nothing was lost by it.
      assert.equal((await store.getEntity({ machine: "tally", id: "t_299" }))?.version, 10);
    } finally {
      await store.close();
    }
  });
});
