import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { migrations } from "./migrations.js";

// The SHA-256 of each released migration's SQL for the schema "drover". A schema that has
// applied a migration never runs it again, so changing a released one (for instance through
// the template both function shapes come from) would leave old and new schemas different:
// add a new migration instead, and its hash here once it is released. (Migration 6 was pinned
// when migration 7 was added on top of it; 7 joins the list when it ships.)
const RELEASED: readonly string[] = [
  "0d20a7a8992534a115b084847f0a4435a49e0335bfd726584f3e11c230ad7d6f",
  "503c16c3688b366c838f211ed634d4e8623142c2d18cc7526e1ee0fd10dea7c8",
  "ea7983859f8eb9cf83fecf55306a9d329243878586daf39564346853647a2055",
  "81a9c0211c46c8ce43109e5916205b1082d3668c0bf4c635a1c8bdb65ebb0b90",
  "4e92ce21461163d068f95a7c00f3360ad3909e12048b841ff351872fbb48d6ce",
  "e7b01a13f024c906720636f273346996e58abb39598eebf8f2e7c31d8feb515f",
];

describe("PostgresStore: released migrations", () => {
  it("keep their SQL exactly as released", () => {
    const hashes = migrations.map((m) => createHash("sha256").update(m.sql('"drover"')).digest("hex"));
    assert.deepEqual(hashes.slice(0, RELEASED.length), RELEASED);
  });
});
