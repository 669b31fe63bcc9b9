import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { randomIds, uuidv7 } from "./clock.js";

describe("uuidv7", () => {
  it("is a version 7, RFC 9562 variant UUID", () => {
    assert.match(uuidv7(), /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("sorts by time", () => {
    const ids = [1, 2, 1000, 1_700_000_000_000, 1_700_000_000_001].map((ms) => uuidv7(ms));
    assert.deepEqual([...ids].sort(), ids);
  });

  it("makes distinct event ids, also across refills of its random pool (4,096 ids each)", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => randomIds.next()));
    assert.equal(ids.size, 10_000);
  });

  it("keeps random bits random when the time is the same", () => {
    const at = 1_700_000_000_000;
    const tails = new Set(Array.from({ length: 5_000 }, () => uuidv7(at).slice(14)));
    assert.equal(tails.size, 5_000);
  });
});
