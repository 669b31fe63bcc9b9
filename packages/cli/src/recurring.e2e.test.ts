// `schedules` in drover.config: `drover serve` sends the events on their cron schedule (here
// every second), each occurrence with its instant in its event id; a schedule that is not a
// cron expression stops serve in one line naming it (exit 2).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { drover } from "./test-support/run-drover.js";
import { Served } from "./test-support/served.js";

const dir = mkdtempSync(join(tmpdir(), "drover-recurring-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(cron: string): string {
  const path = join(dir, `drover.config.${cron.replace(/\W+/g, "_")}.mjs`);
  const machine = JSON.stringify(new URL("./test-support/counter-machine.js", import.meta.url).href);
  writeFileSync(
    path,
    [
      `import { counterMachine } from ${machine};`,
      "export default {",
      '  name: "ticks",',
      "  machines: [counterMachine({ version: 1 })],",
      `  schedules: [{ name: "tick", cron: ${JSON.stringify(cron)}, machine: "counter", id: "c_tick", event: { type: "Add", n: 1 } }],`,
      "};",
      "",
    ].join("\n"),
  );
  return path;
}

describe("schedules in the config", () => {
  it("are sent by drover serve, each occurrence under an event id naming its instant", async () => {
    const every = config("* * * * * *");
    const db = `sqlite:${join(dir, "ticks.db")}`;
    assert.equal(drover(["send", "counter", "c_tick", '{"type":"Start"}', "--db", db, "--config", every]).code, 0);
    const served = await Served.start(["--config", every, "--db", db, "--data-dir", join(dir, "data")], {
      env: { DROVER_ADMIN_TOKEN: "recurring-admin-0123456789" },
    });
    try {
      // The catch-up fires at once on start; then one a second. Wait for two, at most 10 s.
      const deadline = Date.now() + 10_000;
      let count = 0;
      while (count < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const answer = await fetch(`${served.url}/v1/counter/c_tick`, {
          headers: { authorization: "Bearer recurring-admin-0123456789" },
        });
        count = ((await answer.json()) as { state: { count: number } }).state.count;
      }
      assert.ok(count >= 2, `count ${count}`);
    } finally {
      await served.stop();
    }
    const history = drover(["history", "counter", "c_tick", "--db", db, "--config", every, "--json"]);
    assert.equal(history.code, 0, history.stderr);
    const { entries } = JSON.parse(history.stdout) as { entries: { eventId: string }[] };
    const ids = entries.slice(1).map((entry) => entry.eventId);
    assert.ok(ids.length >= 2);
    for (const id of ids) assert.match(id, /^cron\/tick\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    assert.equal(new Set(ids).size, ids.length, "each occurrence once");
  });

  it("refuse to serve a schedule that is not a cron expression, naming it (exit 2)", () => {
    const ran = drover(["serve", "--port", "0", "--config", config("every day"), "--data-dir", join(dir, "bad")]);
    assert.equal(ran.code, 2, ran.stderr);
    assert.match(ran.stderr, /^drover: schedule tick: "every day" is not a valid cron schedule .*\n$/);
  });
});
