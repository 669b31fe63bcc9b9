import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SCENARIO_EPOCH, scenario } from "./scenario.js";
import { TallyId, TallyRejection, tallyMachine } from "./tally-machine.js";

const tally = scenario(tallyMachine, TallyId.parse("t_kit"));

describe("scenario (given/when/then)", () => {
  it("checks an accepted event's state and intents", () => {
    tally
      .given({ type: "Open" })
      .when({ type: "Add", n: 4 })
      .accepted({ total: 4, adds: 1 })
      .intents([{ type: "Noted", tally: TallyId.parse("t_kit"), n: 4, total: 4 }])
      .intents(["Noted"]);
  });

  it("checks a rejection's reason", () => {
    tally.given({ type: "Open" }, { type: "Close" }).when({ type: "Add", n: 1 }).rejected(TallyRejection.Closed);
  });

  it("checks not found", () => {
    tally.when({ type: "Add", n: 1 }).notFound();
  });

  it("gives each step a later time, or the time you name", () => {
    const nine = tally.given({ type: "Open" }, ...Array.from({ length: 9 }, () => ({ type: "Add" as const, n: 1 })));
    const timed = nine.when({ type: "Add", n: 1 }, { at: SCENARIO_EPOCH + 5_000_000 });
    assert.deepEqual(timed.outcome.kind === "accepted" && timed.outcome.intents[1], {
      type: "Schedule",
      at: SCENARIO_EPOCH + 5_000_000 + 60_000,
      event: { type: "Close" },
    });
  });

  it("fails with a clear message when the answer is not the expected one", () => {
    assert.throws(
      () => tally.given({ type: "Open" }).when({ type: "Add", n: 1 }).rejected(TallyRejection.Closed),
      /expected Add to be rejected with closed, but it was accepted/,
    );
    assert.throws(
      () => tally.given({ type: "Open" }, { type: "Close" }).when({ type: "Close" }).accepted(),
      /expected Close to be accepted, but it was rejected \(closed/,
    );
    assert.throws(() => tally.when({ type: "Open" }).intents(["Noted"]), /intents after Open/);
  });

  it("fails when a given event is not accepted", () => {
    assert.throws(
      () => tally.given({ type: "Add", n: 1 }).when({ type: "Open" }),
      /given event #1 \(Add\) was not accepted/,
    );
  });

  it("fails when a test sends an event the schema refuses", () => {
    assert.throws(() => tally.when({ type: "Add", n: -1 }), /does not match the tally event schema: n:/);
  });

  it("exposes the state after the given events", () => {
    assert.deepEqual(tally.given({ type: "Open" }, { type: "Add", n: 2 }).state, { open: true, total: 2, adds: 1 });
    assert.equal(tally.state, undefined);
  });
});
