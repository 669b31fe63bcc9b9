// Black-box tests of schema versions through the `drover` binary on SQLite: counters written
// by v1 code, checked and rewritten by `drover upgrade` with v2 code, shown by `inspect`, and
// `drover serve` warning about older states and refusing newer ones.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { counterConfig } from "./test-support/counter-config.js";
import { assertOneLine, BIN, drover, ROOT } from "./test-support/run-drover.js";

const dir = mkdtempSync(join(tmpdir(), "drover-versions-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = `sqlite:${join(dir, "counters.db")}`;
const v1 = counterConfig(dir, { version: 1 });
const v2 = counterConfig(dir, { version: 2 });
const broken = counterConfig(dir, { version: 2, failOnCount: 13 });

/** `drover serve` until its output matches `ready` (then SIGTERM) or it exits; its exit code and output. */
async function serveUntil(args: readonly string[], env: Record<string, string>, ready: RegExp) {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--data-dir", dir, "--db", db, ...args], {
    cwd: ROOT,
    env: { ...process.env, DROVER_LOG_LEVEL: "warn", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!ready.test(stdout) && child.exitCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (child.exitCode === null) child.kill("SIGTERM");
  return { code: await exited, stdout, stderr };
}

describe("drover upgrade, inspect and serve with versioned states (SQLite)", () => {
  it("v1 code writes three counters", () => {
    for (const [id, n] of [
      ["c_a", 1],
      ["c_b", 13],
      ["c_c", 3],
    ] as const) {
      assert.equal(drover(["send", "counter", id, '{"type":"Start"}', "--db", db, "--config", v1]).code, 0);
      const added = drover(["send", "counter", id, JSON.stringify({ type: "Add", n }), "--db", db, "--config", v1]);
      assert.equal(added.code, 0, added.stdout + added.stderr);
    }
  });

  it("upgrade --dry-run with v2 code counts them, writes nothing (exit 0); a broken migration is exit 1", () => {
    const dry = drover(["upgrade", "counter", "--dry-run", "--db", db, "--config", v2]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(
      dry.stdout,
      [
        "3 entities at v1 → v2 ok",
        "counter: 3 entities, 0 unreadable, 0 divergences",
        "dry run, nothing written: drover upgrade counter --apply rewrites 3 states at v2",
        "",
      ].join("\n"),
    );
    assert.equal(dry.stderr, "", "no progress bar when stderr is not a terminal");
    const bad = drover(["upgrade", "counter", "--db", db, "--config", broken]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stdout, /^3 entities at v1 → v2: 1 unreadable\n/);
    assert.match(bad.stdout, /\n {2}counter c_b stored at v1: unreadable: .*cannot label a count of 13/);
    const json = drover(["upgrade", "counter", "--db", db, "--config", broken, "--json"]);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { ok: boolean; unreadable: number; applied: boolean };
    assert.deepEqual([report.ok, report.unreadable, report.applied], [false, 1, false]);
    const both = drover(["upgrade", "counter", "--dry-run", "--apply", "--db", db, "--config", v2]);
    assert.equal(both.code, 2);
    assertOneLine(both, /'--dry-run' cannot be used with option '--apply'/);
  });

  it("inspect shows the stored version and the code's", () => {
    const text = drover(["inspect", "counter", "c_a", "--db", db, "--config", v2]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\nstate stored at v1 \(the code is at v2: migrated on the next event/);
    const json = JSON.parse(drover(["inspect", "counter", "c_a", "--db", db, "--config", v2, "--json"]).stdout);
    assert.equal(json.stateVersion, 1);
  });

  it("serve with v2 code warns how many counters are stored at older versions, and starts", async () => {
    const served = await serveUntil(["--config", v2], {}, /listening on/);
    assert.equal(served.code, 0, served.stdout + served.stderr);
    assert.match(
      served.stdout,
      /3 counter entities are stored at older state versions than v2 .*drover upgrade counter --dry-run/,
    );
  });

  it("upgrade --apply rewrites them at v2 (exit 0); a second run rewrites nothing", () => {
    const applied = drover(["upgrade", "counter", "--apply", "--batch-size", "2", "--db", db, "--config", v2]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(
      applied.stdout,
      "3 entities at v1 → v2 ok\ncounter: 3 entities, 0 unreadable, 0 divergences, 3 rewritten, 0 moved on (run again)\n",
    );
    const again = drover(["upgrade", "counter", "--apply", "--db", db, "--config", v2, "--json"]);
    assert.equal(again.code, 0);
    assert.deepEqual(JSON.parse(again.stdout).rewritten, 0);
    const entity = JSON.parse(drover(["inspect", "counter", "c_b", "--db", db, "--config", v2, "--json"]).stdout);
    assert.deepEqual([entity.stateVersion, entity.state], [2, { count: 13, label: "unlabelled" }]);
  });

  it("serve with the v1 code refuses to start on states newer than it (exit 3), unless allowed", async () => {
    const refused = await serveUntil(["--config", v1], {}, /listening on/);
    assert.equal(refused.code, 3, refused.stdout + refused.stderr);
    assertOneLine(
      refused,
      /^drover: refusing to start: entities are stored at state versions newer than this code \(3 counter \(code at v1\)\); .*--allow-newer-states/,
    );
    assert.doesNotMatch(refused.stdout, /listening on/);
    for (const [args, env] of [
      [["--allow-newer-states"], {}],
      [[], { DROVER_ALLOW_NEWER_STATES: "1" }],
    ] as const) {
      const allowed = await serveUntil(["--config", v1, ...args], env, /listening on/);
      assert.equal(allowed.code, 0, allowed.stdout + allowed.stderr);
      assert.match(
        allowed.stdout,
        /3 counter entities are stored at state versions newer than v1; they answer unreadable/,
      );
    }
  });
});
