import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { main } from "./cli.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

function run(args: readonly string[], cwd: string): { status: number; output: string; errors: string } {
  const lines: string[] = [];
  const problems: string[] = [];
  const status = main(args, cwd, { out: (text) => lines.push(text), err: (text) => problems.push(text) });
  return { status, output: lines.join("\n"), errors: problems.join("\n") };
}

describe("drover-check", () => {
  it("exits 0 on a clean project", () => {
    const { status, output } = run(["--runtime", "src/runtime"], `${FIXTURES}clean`);
    assert.equal(status, 0);
    assert.match(output, /^no findings in \d+ files$/);
  });

  it("exits 1 with findings, and prints them as JSON with --json", () => {
    const { status, output } = run(["--json", "src/lamps.ts"], `${FIXTURES}violations`);
    assert.equal(status, 1);
    const report = JSON.parse(output) as { findings: { rule: string; file: string; line: number }[] };
    assert.deepEqual(
      report.findings.map((f) => [f.rule, f.file, f.line]),
      [
        ["impure-machine", "src/lamps.ts", 1],
        ["bare-enum-literal", "src/lamps.ts", 11],
      ],
    );
  });

  it("exits 2 on a usage error", () => {
    const unknown = run(["--nope"], `${FIXTURES}clean`);
    assert.equal(unknown.status, 2);
    assert.match(unknown.errors, /^drover-check: .*--nope.*\nusage: drover-check/s);
    assert.equal(unknown.output, "");
    assert.equal(run(["--rule", "no-such-rule"], `${FIXTURES}clean`).status, 2);
    const missing = run(["--project", "missing.json"], `${FIXTURES}clean`);
    assert.equal(missing.status, 2);
    assert.match(missing.errors, /no tsconfig at .*missing\.json/);
  });
});
