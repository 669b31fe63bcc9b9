import type { CheckReport } from "./check.js";

/**
 * The findings as text, one per line: `file:line:column  rule  message`, then a summary line.
 *
 * @example
 * formatFindings(report);
 * // src/payments.ts:42:7  impure-machine  `handle` of machine "payments" uses `Date.now`; …
 * // 1 finding in 12 files
 */
export function formatFindings(report: CheckReport): string {
  const lines = report.findings.map(
    (finding) => `${finding.file}:${finding.line}:${finding.column}  ${finding.rule}  ${finding.message}`,
  );
  const count = report.findings.length;
  const files = `${report.filesChecked} file${report.filesChecked === 1 ? "" : "s"}`;
  lines.push(count === 0 ? `no findings in ${files}` : `${count} finding${count === 1 ? "" : "s"} in ${files}`);
  return lines.join("\n");
}
