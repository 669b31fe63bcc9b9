import type { CheckReport } from "./check.js";

/**
 * The findings as text, one per line: `file:line:column  rule  message` ("" when there are none).
 *
 * @example
 * const report = runChecks({ root: "." });
 * formatFindings(report);
 * // src/payments.ts:42:7  impure-machine  `handle` of machine "payments" uses `Date.now`; …
 */
export function formatFindings(report: CheckReport): string {
  return report.findings
    .map((finding) => `${finding.file}:${finding.line}:${finding.column}  ${finding.rule}  ${finding.message}`)
    .join("\n");
}

/**
 * One line saying how it went: `2 findings in 12 files`, `no findings in 12 files`.
 *
 * @example
 * formatSummary(runChecks({ root: "." })); // "no findings in 84 files"
 */
export function formatSummary(report: CheckReport): string {
  const count = report.findings.length;
  const files = `${report.filesChecked} file${report.filesChecked === 1 ? "" : "s"}`;
  return count === 0 ? `no findings in ${files}` : `${count} finding${count === 1 ? "" : "s"} in ${files}`;
}
