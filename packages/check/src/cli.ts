import { parseArgs } from "node:util";
import { runChecks } from "./check.js";
import { formatFindings, formatSummary } from "./format.js";
import { DEFAULT_IO_MODULES } from "./io-modules.js";
import { ProjectError } from "./project.js";
import { RULE_IDS, type RuleId } from "./rule-id.js";

const USAGE = `usage: drover-check [--project tsconfig.json] [--json] [--runtime GLOB]… [--io-module NAME]…
                    [--rule RULE]… [--include-tests] [PATH…]

Checks a TypeScript project for drover's cognitive rules: ${RULE_IDS.join(", ")}.
PATHs (files or directories) limit where findings are reported; default: the project's
non-test sources. --runtime marks code that must not branch on domain fields; --io-module
adds a module machines may not import. Exit status: 0 clean, 1 findings, 2 usage error or
the project could not be checked.`;

/** Where the command writes: findings and reports to `out`, problems to `err`. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Runs the command line in `cwd`; returns the exit status. */
export function main(argv: readonly string[], cwd: string, { out, err }: Output): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    err(`drover-check: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const rules = values.rule ?? [];
  const unknown = rules.filter((rule) => !(RULE_IDS as readonly string[]).includes(rule));
  if (unknown.length > 0) {
    err(`drover-check: unknown rule ${unknown.join(", ")}; the rules are ${RULE_IDS.join(", ")}`);
    return 2;
  }
  try {
    const report = runChecks({
      root: cwd,
      tsconfig: values.project ?? "tsconfig.json",
      files: positionals,
      includeTests: values["include-tests"] ?? false,
      runtime: values.runtime ?? [],
      ioModules: [...DEFAULT_IO_MODULES, ...(values["io-module"] ?? [])],
      ...(rules.length > 0 ? { rules: rules as RuleId[] } : {}),
    });
    if (values.json) out(JSON.stringify(report, null, 2));
    else out([formatFindings(report), formatSummary(report)].filter((text) => text !== "").join("\n"));
    return report.findings.length === 0 ? 0 : 1;
  } catch (error) {
    // A project that cannot be loaded is a usage error; anything else is a bug worth its stack.
    err(`drover-check: ${error instanceof ProjectError ? error.message : ((error as Error).stack ?? String(error))}`);
    return 2;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      project: { type: "string", short: "p" },
      json: { type: "boolean" },
      runtime: { type: "string", multiple: true },
      "io-module": { type: "string", multiple: true },
      rule: { type: "string", multiple: true },
      "include-tests": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}
