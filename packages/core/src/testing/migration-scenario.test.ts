import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UnreadableReason } from "../evolution.js";
import { doorsV2 } from "../test-support/door-versions.js";
import { migrationScenario } from "./scenario.js";

describe("migrationScenario (given a stored state, it migrates to…, then…)", () => {
  it("migrates a state stored at an older version and decides the next event on it", () => {
    migrationScenario(doorsV2(), "d_1")
      .storedAt(1, { status: "closed" })
      .migratesTo({ status: "closed", rings: 0 })
      .when({ type: "Ring", loud: true })
      .accepted({ status: "open", rings: 1 });
  });

  it("takes a state at the current version as it is, and events after the migration", () => {
    const then = migrationScenario(doorsV2(), "d_1")
      .storedAt(2, { status: "open", rings: 4 })
      .given({ type: "Ring", loud: false })
      .when({ type: "Ring", loud: true });
    assert.deepEqual(then.state, { status: "open", rings: 6 });
  });

  it("fails with the migration's message when the migrated state is not the expected one", () => {
    assert.throws(
      () => migrationScenario(doorsV2(), "d_1").storedAt(1, { status: "closed" }).migratesTo({ rings: 1 }),
      /state migrated from version 1/,
    );
  });

  it("asserts a state the code cannot read, with its reason, and fails a step on it", () => {
    const broken = doorsV2({ migration: (state) => ({ ...state, rings: "many" }) });
    const migrated = migrationScenario(broken, "d_1").storedAt(1, { status: "closed" });
    migrated.unreadable(UnreadableReason.SchemaRefused);
    assert.throws(
      () => migrated.when({ type: "Ring", loud: true }),
      /stored at version 1 is unreadable: .*does not fit the schema/,
    );
    migrationScenario(doorsV2(), "d_1").storedAt(3, { status: "closed" }).unreadable(UnreadableReason.NewerVersion);
    assert.throws(
      () => migrationScenario(doorsV2(), "d_1").storedAt(1, { status: "closed" }).unreadable(),
      /expected to be unreadable/,
    );
  });
});
