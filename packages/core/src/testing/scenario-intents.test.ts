// Then.intents: an expected intent is its type, or its type and the members to check.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { scenario } from "./scenario.js";
import { tallyMachine } from "./tally-machine.js";

const added = scenario(tallyMachine, "t_intents").given({ type: "Open" }).when({ type: "Add", n: 4 });

describe("Then.intents", () => {
  it("checks the members an expected intent names, and only those", () => {
    added
      .intents([{ type: "Noted", n: 4 }])
      .intents([{ type: "Noted", total: 4, tally: "t_intents" }])
      .intents([{ type: "Noted", tally: "t_intents", n: 4, total: 4 }])
      .intents(["Noted"]);
  });

  it("fails on a member of another value, and on a missing or an extra intent", () => {
    assert.throws(() => added.intents([{ type: "Noted", n: 5 }]), /intents after Add were \[\{"type":"Noted"/);
    assert.throws(() => added.intents([]), /number of intents after Add/);
    assert.throws(() => added.intents([{ type: "Noted" }, "Noted"]), /intents after Add/);
    assert.throws(() => added.intents([{ type: "Schedule" }]), /intents after Add/);
  });

  it("checks the members' names against the intent's type", () => {
    // @ts-expect-error: a Noted intent has no member `amount`
    assert.throws(() => added.intents([{ type: "Noted", amount: 4 }]), /intents after Add/);
    // @ts-expect-error: a Schedule intent has no member `n`
    assert.throws(() => added.intents([{ type: "Schedule", n: 4 }]), /intents after Add/);
    // @ts-expect-error: "Logged" is not an intent type of the tally machine
    assert.throws(() => added.intents(["Logged"]), /intents after Add/);
  });
});
