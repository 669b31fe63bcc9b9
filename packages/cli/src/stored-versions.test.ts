import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Logger } from "@drover/core";
import { CliError, ExitCode } from "./exit-code.js";
import { checkStoredVersions } from "./stored-versions.js";
import { appOf, storeWithCounters } from "./test-support/capture.js";
import { counterMachine } from "./test-support/counter-machine.js";

const v1 = counterMachine({ version: 1 });
const v2 = counterMachine({ version: 2 });
const v3 = counterMachine({ version: 3 });

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (_fields, message) => warnings.push(message) };
}

describe("checkStoredVersions (drover serve at start)", () => {
  it("warns per machine how many entities are stored at older versions, and starts", async () => {
    const store = await storeWithCounters(v1, [1, 2]);
    const logger = recordingLogger();
    const found = await checkStoredVersions(appOf(store, v2), [v2], { allowNewer: false, logger });
    assert.deepEqual(found, [{ machine: "counter", version: 2, older: 2, newer: 0 }]);
    assert.deepEqual(logger.warnings, [
      "2 counter entities are stored at older state versions than v2 (migrated as they are read); check them with drover upgrade counter --dry-run",
    ]);
  });

  it("says nothing when every entity is at the code's version", async () => {
    const store = await storeWithCounters(v2, [1]);
    const logger = recordingLogger();
    await checkStoredVersions(appOf(store, v2), [v2], { allowNewer: false, logger });
    assert.deepEqual(logger.warnings, []);
  });

  it("refuses to start (exit 3) when an entity is stored at a newer version, unless allowed", async () => {
    const store = await storeWithCounters(v3, [1]);
    const logger = recordingLogger();
    await assert.rejects(
      checkStoredVersions(appOf(store, v2), [v2], { allowNewer: false, logger }),
      (error: unknown) =>
        error instanceof CliError &&
        error.exitCode === ExitCode.Infrastructure &&
        /^refusing to start: entities are stored at state versions newer than this code \(1 counter \(code at v2\)\); .*--allow-newer-states/.test(
          error.message,
        ),
    );
    const allowed = await checkStoredVersions(appOf(store, v2), [v2], { allowNewer: true, logger });
    assert.deepEqual(allowed, [{ machine: "counter", version: 2, older: 0, newer: 1 }]);
    assert.match(logger.warnings.at(-1) ?? "", /^1 counter entity is stored at state versions newer than v2; /);
  });
});
