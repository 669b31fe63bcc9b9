import assert from "node:assert/strict";
import { it } from "node:test";
import { globMatcher } from "./glob.js";

it("matches a plain path as that file or everything under that directory", () => {
  const match = globMatcher(["packages/core/src"]);
  assert.ok(match("packages/core/src/runtime.ts"));
  assert.ok(match("packages/core/src/testing/scenario.ts"));
  assert.ok(!match("packages/core/srcs/x.ts"));
  assert.ok(!match("packages/sqlite/src/x.ts"));
});

it("matches * within a segment and ** across segments", () => {
  const match = globMatcher(["packages/*/src/**/*.ts"]);
  assert.ok(match("packages/core/src/runtime.ts"));
  assert.ok(match("packages/http/src/a/b.ts"));
  assert.ok(!match("packages/core/lib/runtime.ts"));
  assert.ok(!match("examples/payments/src/payments.ts"));
});

it("matches nothing without patterns", () => {
  assert.ok(!globMatcher([])("src/a.ts"));
});
