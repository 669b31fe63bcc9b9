export type { CheckOptions, CheckReport, Finding } from "./check.js";
export { runChecks } from "./check.js";
export type { Output as CheckOutput } from "./cli.js";
export { main as checkMain } from "./cli.js";
export { formatFindings, formatSummary } from "./format.js";
export { DEFAULT_IO_MODULES } from "./io-modules.js";
export { ProjectError } from "./project.js";
export { RULE_IDS, RuleId } from "./rule-id.js";
