import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CliError } from "./exit-code.js";
import { serverLogger } from "./log-format.js";

const LOG_FORMAT = fileURLToPath(new URL("./log-format.js", import.meta.url));

/** One info line written by `serverLogger` in a child process whose stdout is a pipe. */
function lineWith(env: Record<string, string>): string {
  const script = `import { serverLogger } from ${JSON.stringify(LOG_FORMAT)}; serverLogger(process.env, process.stdout.isTTY === true).info({ id: 7 }, "hello");`;
  const ran = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  assert.equal(ran.status, 0, ran.stderr);
  return ran.stdout;
}

describe("the server's log format", () => {
  it("is JSON lines when stdout is not a terminal, and readable lines when DROVER_LOG_FORMAT=pretty", () => {
    const json = JSON.parse(lineWith({ DROVER_LOG_FORMAT: "" })) as { msg: string; id: number; level: number };
    assert.deepEqual([json.msg, json.id, json.level], ["hello", 7, 30]);
    const pretty = lineWith({ DROVER_LOG_FORMAT: "pretty" });
    assert.match(pretty, /INFO.*: hello/);
    assert.match(pretty, /id: 7/);
    assert.throws(() => JSON.parse(pretty));
  });

  it("refuses a format it does not know, naming the choices", () => {
    assert.throws(
      () => serverLogger({ DROVER_LOG_FORMAT: "xml" }, false),
      (error: unknown) => {
        assert.ok(error instanceof CliError);
        assert.match(error.message, /DROVER_LOG_FORMAT must be pretty or json, got "xml"/);
        return true;
      },
    );
  });
});
