// A full disk under a running store (issue 21, part 6): commits fail with a
// StoreUnavailableError (the HTTP layer's 503) and nothing is half-written; once space is freed
// the same open store commits again, without a restart. It needs a small file system of its
// own: a tmpfs mounted for the test, so it runs only where mounting is allowed (root in a
// container, CI), and says so when it skips.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { StoreUnavailableError } from "@drover/core";
import { acceptedWrite } from "@drover/core/testing";
import { SqliteStore } from "./sqlite-store.js";

const dir = mkdtempSync(join(tmpdir(), "drover-disk-full-"));
let mounted = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir], { stdio: "ignore" });
  mounted = true;
} catch {
  // Not allowed here: the test is skipped.
}
after(() => {
  if (mounted) execFileSync("umount", [dir], { stdio: "ignore" });
  rmSync(dir, { recursive: true, force: true });
});

/** Fill the file system with one file, until it refuses; returns the file. */
function fill(path: string): string {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, "ENOSPC");
  } finally {
    closeSync(fd);
  }
  return path;
}

describe("a full disk under the SQLite store", () => {
  it("refuses commits as unavailable, keeps what was committed, and commits again once space is freed", {
    skip: mounted ? false : "cannot mount a small tmpfs here (needs root)",
  }, async () => {
    const store = SqliteStore.open({ path: join(dir, "drover.db") });
    try {
      const padding = "x".repeat(4_000);
      const step = (i: number) => acceptedWrite(`t_${i}`, `evt_${i}`, 0, { padding }, [{ type: "Noted" }]);
      assert.equal((await store.commit([step(0)]))[0]?.kind, "committed");
      const filler = fill(join(dir, "filler"));
      let refused: unknown;
      for (let i = 1; i < 200 && refused === undefined; i++) {
        try {
          await store.commit([step(i)]);
        } catch (error) {
          refused = error;
        }
      }
      assert.ok(refused instanceof StoreUnavailableError, `refused with ${String(refused)}`);
      assert.match(refused.message, /disk is full/);
      assert.equal((await store.getEntity({ machine: "tally", id: "t_0" }))?.version, 1, "reads still answer");

      rmSync(filler);
      assert.equal((await store.commit([step(1_000)]))[0]?.kind, "committed", "no restart needed");
      assert.equal((await store.getEntity({ machine: "tally", id: "t_1000" }))?.version, 1);
    } finally {
      await store.close();
    }
  });
});
