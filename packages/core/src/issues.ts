import type { z } from "zod";

/** One problem found by a schema: where, and what. */
export interface Issue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly code: string;
}

/** Turn a zod error into drover's plain, JSON-able issues. */
export function toIssues(error: z.ZodError): Issue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((key) => (typeof key === "number" ? key : String(key))),
    message: issue.message,
    code: issue.code,
  }));
}

/** One line summarising issues: `n: Too small: expected number to be >=1`. */
export function describeIssues(issues: readonly Issue[]): string {
  return issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ` : "") + issue.message).join("; ");
}
