import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { CheckReport, Finding } from "./check.js";
import { runChecks } from "./check.js";
import { formatFindings, formatSummary } from "./format.js";
import { ProjectError } from "./project.js";
import { RULE_IDS, RuleId } from "./rule-id.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const VIOLATIONS = join(FIXTURES, "violations");
const CLEAN = join(FIXTURES, "clean");
const PUBLISHED = join(FIXTURES, "published");
const RUNTIME = ["src/runtime"];

/**
 * The findings a fixture announces: `// expect: rule[, rule]` at the end of a line, or
 * `// expect-next-line: rule[, rule]` alone on the line before (for lines the formatter
 * would move a trailing comment off). `// expect-with-tests:` counts only with tests.
 */
function expectedFindings(root: string, withTests = false): string[] {
  const expected: string[] = [];
  for (const file of sourceFiles(join(root, "src"))) {
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((text, index) => {
      const marker = /\/\/ expect(-next-line|-with-tests)?: ([a-z, -]+)$/.exec(text);
      if (marker === undefined || marker === null) return;
      if (marker[1] === "-with-tests" && !withTests) return;
      const line = marker[1] === "-next-line" ? index + 2 : index + 1;
      const path = relative(root, file).split(sep).join("/");
      for (const rule of (marker[2] ?? "").split(",")) expected.push(`${path}:${line} ${rule.trim()}`);
    });
  }
  return expected.sort();
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

const found = (findings: readonly Finding[]) => findings.map((f) => `${f.file}:${f.line} ${f.rule}`).sort();

describe("the violations fixture", () => {
  let report: CheckReport;
  before(() => {
    report = runChecks({ root: VIOLATIONS, runtime: RUNTIME });
  });

  it("reports exactly the seeded violations, with file and line", () => {
    assert.deepEqual(found(report.findings), expectedFindings(VIOLATIONS));
  });

  for (const rule of RULE_IDS) {
    it(`catches ${rule}`, () => {
      const ofRule = report.findings.filter((finding) => finding.rule === rule);
      assert.ok(ofRule.length > 0, `no ${rule} finding`);
      assert.deepEqual(
        found(ofRule),
        expectedFindings(VIOLATIONS).filter((line) => line.endsWith(` ${rule}`)),
      );
    });
  }

  it("names the smart enum member to use", () => {
    const messages = report.findings.map((finding) => `${finding.file}:${finding.line} ${finding.message}`);
    assert.ok(messages.some((m) => m.startsWith("src/client.ts:6 ") && m.includes("RunResultKind.Processed")));
    assert.ok(messages.some((m) => m.startsWith("src/doors.ts:21 ") && m.includes("DoorRejection.AlreadyInstalled")));
  });

  it("names the value object to take", () => {
    const price = report.findings.find((f) => f.rule === RuleId.BarePrimitive && f.message.startsWith("`price"));
    assert.match(price?.message ?? "", /take a Cents/);
  });

  it("says which I/O module a machine's import pulls in, and through which module", () => {
    const audit = report.findings.find((f) => f.file === "src/doors.ts" && f.line === 6);
    assert.match(audit?.message ?? "", /"node:fs" \(via \.\/audit\.js\)/);
  });

  it("reports 1-based columns at the offending expression", () => {
    const random = report.findings.find((f) => f.message.includes("`Math.random`"));
    const text = readFileSync(join(VIOLATIONS, random?.file ?? ""), "utf8").split("\n")[(random?.line ?? 0) - 1] ?? "";
    assert.equal(text.slice((random?.column ?? 0) - 1).slice(0, "Math.random".length), "Math.random");
  });

  it("runs only the rules asked for", () => {
    const only = runChecks({ root: VIOLATIONS, runtime: RUNTIME, rules: [RuleId.BarePrimitive] });
    assert.deepEqual(
      found(only.findings),
      expectedFindings(VIOLATIONS).filter((line) => line.endsWith(` ${RuleId.BarePrimitive}`)),
    );
  });

  it("leaves runtime code alone unless it is configured as such", () => {
    const without = runChecks({ root: VIOLATIONS, files: ["src/runtime"] });
    assert.deepEqual(without.findings, []);
    assert.equal(without.filesChecked, 1);
  });

  it("formats one finding per line, file:line:column, rule, message", () => {
    const lines = formatFindings(report).split("\n");
    assert.equal(lines.length, report.findings.length);
    assert.match(
      lines[0] ?? "",
      /^src\/client\.ts:6:\d+ {2}bare-enum-literal {2}"processed" is RunResultKind\.Processed/,
    );
    assert.equal(formatSummary(report), `${report.findings.length} findings in ${report.filesChecked} files`);
  });
});

describe("the clean fixture", () => {
  it("has no findings", () => {
    const report = runChecks({ root: CLEAN, runtime: RUNTIME });
    assert.deepEqual(report.findings, []);
    assert.equal(formatFindings(report), "");
    assert.equal(formatSummary(report), `no findings in ${report.filesChecked} files`);
  });

  it("leaves tests out unless asked, then checks them too", () => {
    const report = runChecks({ root: CLEAN, runtime: RUNTIME, includeTests: true });
    assert.deepEqual(found(report.findings), expectedFindings(CLEAN, true));
    assert.equal(report.findings.length, 1);
  });
});

describe("a project using the published @drover/core (declarations only)", () => {
  it("finds machines, and drover's smart enums, in the .d.ts", () => {
    const report = runChecks({ root: PUBLISHED });
    assert.deepEqual(found(report.findings), expectedFindings(PUBLISHED));
    assert.ok(report.findings.some((finding) => finding.message.includes("RunResultKind.Processed")));
  });
});

describe("options", () => {
  it("refuses a missing tsconfig", () => {
    assert.throws(() => runChecks({ root: CLEAN, tsconfig: "nope.json" }), ProjectError);
  });

  it("refuses a path outside the project", () => {
    assert.throws(() => runChecks({ root: CLEAN, files: ["src/missing.ts"] }), ProjectError);
  });
});
