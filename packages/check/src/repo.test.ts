import assert from "node:assert/strict";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { runChecks } from "./check.js";
import { formatFindings } from "./format.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));

/** What `npm run check` checks (keep in step with the root package.json). */
const REPO_CHECK = {
  root: REPO,
  files: ["packages", "examples"],
  runtime: ["packages/core/src", "packages/sqlite/src", "packages/postgres/src", "packages/http/src"],
} as const;

it("finds nothing in the drover repo itself", () => {
  const report = runChecks(REPO_CHECK);
  assert.ok(report.filesChecked > 50, `only ${report.filesChecked} files checked`);
  assert.deepEqual(report.findings, [], formatFindings(report));
});
