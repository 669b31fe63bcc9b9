// `drover init <dir>` as a newcomer runs it: the scaffold compiles under strict TypeScript, its
// tests pass, and `drover serve` in it takes an event over HTTP and runs its effect. The
// scaffold's node_modules is this repository's (its @drover/* packages are the workspace's);
// the packed-tarball install is packed.e2e's.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { drover, ROOT } from "./test-support/run-drover.js";
import { Served } from "./test-support/served.js";

const parent = mkdtempSync(join(tmpdir(), "drover-init-"));
after(() => rmSync(parent, { recursive: true, force: true }));

describe("drover init", () => {
  it("scaffolds an application whose tests pass and which serves", async () => {
    const made = drover(["init", "my-subscriptions"], { cwd: parent });
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /created my-subscriptions in/);
    const app = join(parent, "my-subscriptions");
    symlinkSync(join(ROOT, "node_modules"), join(app, "node_modules"), "dir");

    const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], {
      cwd: app,
      encoding: "utf8",
    });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    // Without this test runner's NODE_TEST_CONTEXT, or the child reports to it instead of printing.
    const env = { ...process.env, NODE_TEST_CONTEXT: undefined };
    const tests = spawnSync(process.execPath, ["--test", "dist/"], { cwd: app, encoding: "utf8", env });
    assert.equal(tests.status, 0, tests.stdout + tests.stderr);
    assert.match(tests.stdout, /# pass 4/);

    const admin = "init-e2e-admin-0123456789";
    const served = await Served.start(["--data-dir", join(app, "data")], {
      cwd: app,
      env: { DROVER_ADMIN_TOKEN: admin, DROVER_LOG_LEVEL: "info" },
    });
    try {
      const answer = await fetch(`${served.url}/v1/subscriptions/sub_0123456789/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "Subscribe", plan: "pro", email: "ada@example.com" }),
      });
      assert.equal(answer.status, 200, await answer.text());
      const deadline = Date.now() + 10_000;
      while (!/mail to ada@example.com: Welcome to the pro plan/.test(served.output()) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.match(served.output(), /mail to ada@example.com: Welcome to the pro plan/);
    } finally {
      await served.stop();
    }
  });

  it("refuses a folder that is not empty, and a name npm would refuse (exit 2)", () => {
    const taken = join(parent, "taken");
    drover(["init", "taken"], { cwd: parent });
    writeFileSync(join(taken, "extra.txt"), "x");
    const again = drover(["init", "taken"], { cwd: parent });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^drover: .*taken is not empty; pick a new folder name\n$/);
    const badName = drover(["init", "fresh", "--name", "Not A Name"], { cwd: parent });
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /is not a valid npm package name; pass --name/);
  });
});
