// `drover upgrade` at the App level: counters written by older code (MemoryStore), checked
// and rewritten by newer code, output and exit codes as the command prints them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { UpgradeReport } from "@drover/core";
import { runCli } from "../cli.js";
import { ExitCode } from "../exit-code.js";
import { appOf, captureIo, storeWithCounters } from "../test-support/capture.js";
import { counterConfig } from "../test-support/counter-config.js";
import { counterMachine } from "../test-support/counter-machine.js";
import { upgrade } from "./upgrade.js";

const v1 = counterMachine({ version: 1 });
const v2 = counterMachine({ version: 2 });
const v3 = counterMachine({ version: 3 });

describe("drover upgrade (App over MemoryStore)", () => {
  it("dry run: counts the entities at v1 that v2 reads, writes nothing, exit 0", async () => {
    const store = await storeWithCounters(v1, [1, 2, 3]);
    const io = captureIo();
    const code = await upgrade({ app: appOf(store, v2), machine: v2, json: false, io });
    assert.equal(code, ExitCode.Ok, io.out());
    assert.equal(
      io.out(),
      [
        "3 entities at v1 → v2 ok",
        "counter: 3 entities, 0 unreadable, 0 divergences",
        "dry run, nothing written: drover upgrade counter --apply rewrites 3 states at v2",
        "",
      ].join("\n"),
    );
    assert.equal(io.err(), "", "no progress bar when stderr is not a terminal");
    assert.deepEqual(await store.countStateVersions("counter"), [{ stateVersion: 1, count: 3 }]);
  });

  it("a migration that throws on one entity: that entity is unreadable, in detail, exit 1", async () => {
    const store = await storeWithCounters(v1, [1, 13, 3]);
    const broken = counterMachine({ version: 2, failOnCount: 13 });
    const io = captureIo();
    const code = await upgrade({ app: appOf(store, broken), machine: broken, json: false, io });
    assert.equal(code, ExitCode.Rejected);
    const out = io.out();
    assert.match(out, /^3 entities at v1 → v2: 1 unreadable\n/);
    assert.match(out, /\ncounter: 3 entities, 1 unreadable, 1 divergence\n/);
    assert.match(out, /\nfailures \(2\):\n {2}counter c_1 stored at v1: unreadable: .*cannot label a count of 13/);
    // The journal's second entry recorded that state: replaying from it fails the same way.
    assert.match(
      out,
      /\n {2}counter c_1 version 2 \(Add, event [^)]+\): the state recorded before it cannot be read \(migration_failed: stored at v1, the code is at v2\)/,
    );
    assert.match(out, /dry run, nothing written: fix the migrations or the code, then run it again\n$/);
    assert.doesNotMatch(out, /c_0|c_2/);
  });

  it("--apply rewrites every older state at the current version; a second run rewrites nothing", async () => {
    const store = await storeWithCounters(v1, [1, 2, 3]);
    const app = appOf(store, v2);
    const io = captureIo();
    assert.equal(await upgrade({ app, machine: v2, apply: true, batchSize: 2, json: false, io }), ExitCode.Ok);
    assert.equal(
      io.out(),
      "3 entities at v1 → v2 ok\ncounter: 3 entities, 0 unreadable, 0 divergences, 3 rewritten, 0 moved on (run again)\n",
    );
    assert.deepEqual(await store.countStateVersions("counter"), [{ stateVersion: 2, count: 3 }]);
    const entity = await app.getEntity({ machine: "counter", id: "c_1" });
    assert.deepEqual([entity?.state, entity?.version], [{ count: 2, label: "unlabelled" }, 2]);

    const again = captureIo();
    assert.equal(await upgrade({ app, machine: v2, apply: true, json: true, io: again }), ExitCode.Ok);
    const report = JSON.parse(again.out()) as UpgradeReport;
    assert.deepEqual(
      [report.ok, report.applied, report.entities, report.rewritten, report.movedOn],
      [true, true, 3, 0, 0],
    );
    assert.deepEqual(report.byVersion, [{ stateVersion: 2, entities: 3, readable: 3, unreadable: 0 }]);
  });

  it("--json prints the report of a dry run; states newer than the code are unreadable", async () => {
    const store = await storeWithCounters(v3, [5]);
    const io = captureIo();
    assert.equal(await upgrade({ app: appOf(store, v2), machine: v2, json: true, io }), ExitCode.Rejected);
    const report = JSON.parse(io.out()) as UpgradeReport;
    assert.deepEqual(
      [report.machine, report.version, report.applied, report.ok, report.unreadable],
      ["counter", 2, false, false, 1],
    );
    assert.equal(report.failures[0]?.kind, "unreadable");
    const text = captureIo();
    await upgrade({ app: appOf(store, v2), machine: v2, json: false, io: text });
    assert.match(text.out(), /^1 entity at v3, newer than the code \(v2\): 1 unreadable\n/);
  });

  it("draws a progress bar on a terminal, and says when there is nothing stored", async () => {
    const store = await storeWithCounters(v1, [1, 2]);
    const io = captureIo(true);
    assert.equal(await upgrade({ app: appOf(store, v2), machine: v2, json: false, io }), ExitCode.Ok);
    assert.match(io.err(), /checking \[#+\] 2\/2/);
    const empty = captureIo();
    const fresh = await storeWithCounters(v1, []);
    assert.equal(await upgrade({ app: appOf(fresh, v2), machine: v2, json: false, io: empty }), ExitCode.Ok);
    assert.match(empty.out(), /^no counter entities stored\ncounter: 0 entities, 0 unreadable, 0 divergences\n/);
  });

  it("refuses --dry-run with --apply, a bad --batch-size and an unknown machine (exit 2)", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "drover-upgrade-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const CONFIG = counterConfig(dir, { version: 2 });
    const both = captureIo();
    assert.equal(await runCli(["upgrade", "counter", "--dry-run", "--apply", "--config", CONFIG], both), 2);
    assert.match(both.err(), /'--dry-run' cannot be used with option '--apply'/);
    const batch = captureIo();
    assert.equal(await runCli(["upgrade", "counter", "--batch-size", "0", "--config", CONFIG], batch), 2);
    assert.match(batch.err(), /--batch-size must be at least 1/);
    const unknown = captureIo();
    assert.equal(await runCli(["upgrade", "counterz", "--config", CONFIG], unknown), 2);
    assert.match(unknown.err(), /^drover: unknown machine "counterz"; this config has: counter\n$/);
  });
});
