import assert from "node:assert/strict";
import { it } from "node:test";
import { globMatcher } from "./glob.js";

/** Each case: what the patterns are, which paths they must match, and which they must not. */
const CASES = [
  {
    name: "matches a plain path as that file or everything under that directory",
    patterns: ["packages/core/src"],
    matches: ["packages/core/src/runtime.ts", "packages/core/src/testing/scenario.ts"],
    misses: ["packages/core/srcs/x.ts", "packages/sqlite/src/x.ts"],
  },
  {
    name: "matches * within a segment and ** across segments",
    patterns: ["packages/*/src/**/*.ts"],
    matches: ["packages/core/src/runtime.ts", "packages/http/src/a/b.ts"],
    misses: ["packages/core/lib/runtime.ts", "examples/payments/src/payments.ts"],
  },
  { name: "matches nothing without patterns", patterns: [], matches: [], misses: ["src/a.ts"] },
];

for (const { name, patterns, matches, misses } of CASES) {
  it(name, () => {
    const match = globMatcher(patterns);
    for (const path of matches) assert.ok(match(path), `${patterns.join(", ")} should match ${path}`);
    for (const path of misses) assert.ok(!match(path), `${patterns.join(", ")} should not match ${path}`);
  });
}
