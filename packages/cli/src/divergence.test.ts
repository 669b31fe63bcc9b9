// How `drover replay` prints each divergence kind, from divergences core's replay really finds
// (counters written by one version of the code, replayed by another or by a broken variant).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AnyMachine } from "@drover/core";
import { accept, RunResultKind } from "@drover/core";
import { z } from "zod";
import { replay } from "./commands/replay.js";
import { ExitCode } from "./exit-code.js";
import { describeEntity, describeResult, exitCodeOfResult } from "./format.js";
import { appOf, captureIo, storeWithCounters } from "./test-support/capture.js";
import { counterMachine } from "./test-support/counter-machine.js";

const v2 = counterMachine({ version: 2 });

async function replayed(machine: AnyMachine, writtenBy: AnyMachine = v2): Promise<string> {
  const store = await storeWithCounters(writtenBy, [4]);
  const io = captureIo();
  assert.equal(
    await replay({ app: appOf(store, machine), machine, id: undefined, json: false, io }),
    ExitCode.Rejected,
  );
  return io.out();
}

describe("drover replay: the divergence kinds of versioned code", () => {
  it("unreadable: a recorded state newer than the code", async () => {
    const out = await replayed(v2, counterMachine({ version: 3 }));
    assert.match(
      out,
      /^counter c_0 version 2 \(Add, event [^)]+\): the state recorded before it cannot be read \(newer_version: stored at v3, the code is at v2\): /m,
    );
  });

  it("event_refused: a recorded event the current event schema refuses", async () => {
    const strict = { ...v2, schemas: { ...v2.schemas, event: z.strictObject({ type: z.literal("Start") }) } };
    const out = await replayed(strict);
    assert.match(
      out,
      /^counter c_0 version 2 \(Add, event [^)]+\): the recorded event no longer fits the event schema: .+\n {4}event as migrated: \{"type":"Add","n":4\}$/m,
    );
  });

  it("state_refused and intent_refused: the current code decides what its own schemas refuse", async () => {
    const sloppy = { ...v2, handle: () => accept({ count: "many" }, { type: "Ping" }) } as unknown as AnyMachine;
    const out = await replayed(sloppy);
    assert.match(
      out,
      /^counter c_0 version 2 \(Add, [^)]+\): the current code decides a state its own state schema refuses: .+\n {4}state decided: \{"count":"many"\}$/m,
    );
    assert.match(
      out,
      /^counter c_0 version 2 \(Add, [^)]+\): the current code decides an intent its own intent schema refuses\n {4}\{"type":"Ping"\}: .+$/m,
    );
    assert.match(out, /: the intents differ \(recorded → now\)\n {4}\+ \[0\]: \{"type":"Ping"\}/);
  });
});

describe("versions in inspect and send output", () => {
  const entity = {
    machine: "counter",
    id: "c_0",
    version: 2,
    state: { count: 4 },
    stateName: null,
    stateVersion: 1,
    createdAt: 0,
    updatedAt: 0,
  };

  it("inspect shows the stored state version, and the code's when they differ", () => {
    assert.match(describeEntity(entity, 1), /\nstate stored at v1\n/);
    assert.match(describeEntity(entity, 2), /\nstate stored at v1 \(the code is at v2: migrated on the next event/);
    assert.match(
      describeEntity({ ...entity, stateVersion: 3 }, 2),
      /\nstate stored at v3 \(newer than the code, at v2/,
    );
  });

  it("an unreadable result names the entity and both versions, exit 3", () => {
    const result = {
      kind: RunResultKind.Unreadable,
      machine: "counter",
      id: "c_0",
      eventId: "e1",
      subject: "state",
      reason: "newer_version",
      storedVersion: 3,
      expectedVersion: 2,
      message: "counter/c_0: the state is stored at version 3, newer than this code's version 2",
      issues: [],
    } as const;
    assert.equal(exitCodeOfResult(result), ExitCode.Infrastructure);
    assert.equal(
      describeResult(result, v2),
      "unreadable (newer_version): counter/c_0: the state is stored at version 3, newer than this code's version 2; nothing written",
    );
  });
});
