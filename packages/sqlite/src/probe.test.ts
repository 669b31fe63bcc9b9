// The write probe behind GET /readyz: it commits on a healthy database, leaves nothing
// behind, and fails while the disk is full — shown on a real full disk (a 2 MiB tmpfs,
// mounted when the tests run as root on Linux; skipped elsewhere) — and passes again once
// space is freed, on the same open store.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { StoreUnavailableError } from "@drover/core";
import { acceptedWrite } from "@drover/core/testing";
import Database from "better-sqlite3";
import { SqliteStore } from "./sqlite-store.js";

const root = mkdtempSync(join(tmpdir(), "drover-sqlite-probe-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A tmpfs of `size` mounted at a new folder, or why none can be (not root, not Linux, no mount). */
function smallDisk(size: string): { path: string; unmount(): void } | string {
  const path = mkdtempSync(join(root, "disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", path], { stdio: "pipe" });
  } catch (error) {
    return `cannot mount a tmpfs here (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`;
  }
  return { path, unmount: () => execFileSync("umount", ["-l", path], { stdio: "pipe" }) };
}

/** Fill the file system holding `path` with one file, until it refuses a byte more. */
function fill(path: string): void {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
}

describe("SqliteStore.probe", () => {
  it("commits on a healthy database and changes nothing durable", async () => {
    const path = join(root, "healthy.db");
    const store = SqliteStore.open({ path });
    const before = new Database(path, { readonly: true }).prepare("SELECT * FROM drover_migrations").all();
    await store.probe();
    await store.probe();
    const reader = new Database(path, { readonly: true });
    assert.deepEqual(reader.prepare("SELECT * FROM drover_migrations").all(), before);
    reader.close();
    await store.close();
    await assert.rejects(store.probe(), StoreUnavailableError, "a closed store is not ready");
  });

  const disk = process.platform === "linux" ? smallDisk("2m") : "not Linux";
  it("fails while the disk is full and passes once space is freed, without reopening", {
    skip: typeof disk === "string" ? disk : false,
  }, async () => {
    if (typeof disk === "string") return;
    const store = SqliteStore.open({ path: join(disk.path, "drover.db") });
    try {
      await store.probe();
      const filler = join(disk.path, "filler");
      fill(filler);
      // The WAL may still have room it allocated before: commit until the store cannot, as a
      // server under load would, then the probe must say so too.
      const note = "x".repeat(4000);
      let version = 0;
      for (; version < 2000; version += 1) {
        try {
          await store.commit([acceptedWrite("t_full", `evt_${version + 1}`, version, { note })]);
        } catch (error) {
          assert.ok(error instanceof StoreUnavailableError, String(error));
          break;
        }
      }
      assert.ok(version < 2000, "a commit failed on the full disk");
      const failed = await store.probe().then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(failed instanceof StoreUnavailableError, String(failed));
      assert.match(failed.message, /while probing with a write: .*full.*; the disk is full; free space, then retry/);

      rmSync(filler);
      await store.probe();
      await store.commit([acceptedWrite("t_full", `evt_${version + 1}`, version, { note: "after" })]);
      assert.equal((await store.getEntity({ machine: "tally", id: "t_full" }))?.version, version + 1);
    } finally {
      await store.close();
      disk.unmount();
    }
  });
});
