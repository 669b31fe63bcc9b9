import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigurationError, StoreUnavailableError } from "@drover/core";
import { CliError, ExitCode, exitCodeOf } from "./exit-code.js";
import { diffJson } from "./format.js";

describe("diffJson", () => {
  it("names each changed, removed and added member by its path", () => {
    assert.deepEqual(
      diffJson(
        { status: "authorizing", amount: 5, verifiedBy: "ops_7", nested: { a: [1, 2] } },
        { status: "awaiting_verification", amount: 5, nested: { a: [1, 3, 4] }, extra: true },
      ),
      [
        "+ extra: true",
        "~ nested.a[1]: 2 → 3",
        "+ nested.a[2]: 4",
        '~ status: "authorizing" → "awaiting_verification"',
        '- verifiedBy: "ops_7"',
      ],
    );
  });

  it("is empty for equal values, whatever the key order", () => {
    assert.deepEqual(diffJson({ a: 1, b: [{ c: 2, d: 3 }] }, { b: [{ d: 3, c: 2 }], a: 1 }), []);
  });

  it("shows a whole value that changed type", () => {
    assert.deepEqual(diffJson([1], { a: 1 }), ['~ (value): [1] → {"a":1}']);
  });
});

describe("exitCodeOf", () => {
  it("maps configuration errors to 2 and store failures (and the unknown) to 3", () => {
    assert.equal(exitCodeOf(new CliError("x", ExitCode.Rejected)), 1);
    assert.equal(exitCodeOf(new ConfigurationError("x")), 2);
    assert.equal(exitCodeOf(new StoreUnavailableError("x")), 3);
    assert.equal(exitCodeOf(new Error("x")), 3);
  });
});
