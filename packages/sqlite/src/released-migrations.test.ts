import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { migrations } from "./migrations.js";

// The SHA-256 of each released migration's SQL. A database that has applied a migration never
// runs it again, so changing a released one would leave old and new databases different:
// add a new migration instead, and its hash here once it is released.
const RELEASED: readonly string[] = [
  "d9464401ae69ab2cb02306d094eaa61c35f37c9e0b610d1b061caca7af95063d",
  "3295664559ec3543b74feb0be69415cb7085d4b5d11750197c52d6b245f52f68",
  "6c1a63ea266831da19e66c67cd62db309292bcb57408f1d6e1cd5ca93c8be838",
  "b65594a5a86a356bf81db25ef3b7d6fe06b987458a156e2b335d63ed22399235",
  "7db97d516ea9bd95aea37da90bbabdb0c03f62ddfaad280053b4c1fa92d244a0",
  "63136352a9283729f9d340aa3099bbf662cf5b2f53b8f88ffc0ccb763d925535",
  "755d367936428f4cfe8ba2f7c9bebc305dc2ad86680043cce7127c38db92b8e1",
];

describe("SqliteStore: released migrations", () => {
  it("keep their SQL exactly as released", () => {
    const hashes = migrations.map((m) => createHash("sha256").update(m.sql).digest("hex"));
    assert.deepEqual(hashes.slice(0, RELEASED.length), RELEASED);
  });
});
