import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { AnyMachine, Store } from "@drover/core";
import { MemoryStore } from "@drover/core";
import { buildServer } from "./server.js";
import { countersApp, countersV1, countersV2, countersV3 } from "./test-support/counters.js";
import { TokenStore } from "./tokens.js";
import type { EntityBody, HistoryBody, MachinesBody, UnreadableProblemBody } from "./wire.js";

const root = mkdtempSync(join(tmpdir(), "drover-http-versions-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A server of one deploy of `counters` on `store`, and a way to call it as admin. */
async function deploy(machine: AnyMachine, store: Store) {
  const tokens = TokenStore.open(mkdtempSync(join(root, "t-")));
  const token = tokens.create({ scopes: ["admin"] }).token;
  const server = await buildServer({ app: countersApp(machine, store), tokens });
  after(() => server.close());
  const call = (method: "GET" | "POST", url: string, body?: unknown) =>
    server.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  return { call };
}

/** A store with `c_a` written by `machine`: started, then bumped once (entity version 2). */
async function storeWrittenBy(machine: AnyMachine): Promise<Store> {
  const store = new MemoryStore();
  const { call } = await deploy(machine, store);
  assert.equal((await call("POST", "/v1/counters/c_a/events", { type: "Start" })).statusCode, 200);
  assert.equal((await call("POST", "/v1/counters/c_a/events", { type: "Bump" })).statusCode, 200);
  return store;
}

describe("HTTP: states stored by older and newer code", () => {
  it("serves a state stored at v1 with v2 code: the event migrates it and the next read is at v2", async () => {
    const store = await storeWrittenBy(countersV1);
    const { call } = await deploy(countersV2(), store);
    const before = (await call("GET", "/v1/counters/c_a")).json<EntityBody>();
    assert.deepEqual([before.version, before.stateVersion, before.state], [2, 1, { n: 1 }]);

    const bumped = await call("POST", "/v1/counters/c_a/events", { type: "Bump" });
    assert.equal(bumped.statusCode, 200);
    const read = (await call("GET", "/v1/counters/c_a")).json<EntityBody>();
    assert.deepEqual([read.version, read.stateVersion, read.state], [3, 2, { n: 2, unit: "items" }]);
    const listed = (await call("GET", "/v1/counters")).json<{ items: EntityBody[] }>();
    assert.deepEqual(
      listed.items.map((item) => [item.id, item.stateVersion]),
      [["c_a", 2]],
    );

    const history = (await call("GET", "/v1/counters/c_a/history")).json<HistoryBody>();
    assert.deepEqual(
      history.entries.map((entry) => [entry.version, entry.stateVersion, entry.eventVersion]),
      [
        [1, 1, 1],
        [2, 1, 1],
        [3, 2, 1],
      ],
    );
  });

  it("answers 503 state_unreadable, writing nothing, when the migration throws", async () => {
    const store = await storeWrittenBy(countersV1);
    const { call } = await deploy(
      countersV2(() => {
        throw new Error("no unit for this counter");
      }),
      store,
    );
    const answer = await call("POST", "/v1/counters/c_a/events", { type: "Bump" });
    assert.equal(answer.statusCode, 503);
    assert.match(String(answer.headers["content-type"]), /^application\/problem\+json/);
    assert.equal(answer.headers["retry-after"], undefined, "a deploy, not a second, fixes it");
    const problem = answer.json<UnreadableProblemBody>();
    assert.equal(problem.kind, "state_unreadable");
    assert.equal(problem.title, "State Unreadable");
    assert.equal(problem.type, "https://drover.dev/problems/migration-failed");
    assert.deepEqual(
      [problem.machine, problem.id, problem.reason, problem.storedVersion, problem.expectedVersion, problem.issues],
      ["counters", "c_a", "migration_failed", 1, 2, []],
    );
    assert.equal(typeof problem.eventId, "string");
    assert.match(problem.detail, /counters\/c_a/);
    assert.match(problem.detail, /version 1 to 2/);
    assert.match(problem.detail, /no unit for this counter/);
    assert.equal(JSON.stringify(problem).includes("    at "), false, "no stack");

    const read = (await call("GET", "/v1/counters/c_a")).json<EntityBody>();
    assert.deepEqual([read.version, read.stateVersion, read.state], [2, 1, { n: 1 }]);
    const history = (await call("GET", "/v1/counters/c_a/history")).json<HistoryBody>();
    assert.equal(history.entries.length, 2);
  });

  it("answers 503 state_unreadable with reason newer_version for a state written by newer code", async () => {
    const store = await storeWrittenBy(countersV3);
    const { call } = await deploy(countersV2(), store);
    const answer = await call("POST", "/v1/counters/c_a/events", { type: "Bump" });
    assert.equal(answer.statusCode, 503);
    const problem = answer.json<UnreadableProblemBody>();
    assert.deepEqual(
      [problem.kind, problem.reason, problem.storedVersion, problem.expectedVersion, problem.id],
      ["state_unreadable", "newer_version", 3, 2, "c_a"],
    );
    assert.match(problem.detail, /version 3, newer than this code's version 2/);
    const read = (await call("GET", "/v1/counters/c_a")).json<EntityBody>();
    assert.deepEqual([read.version, read.stateVersion], [2, 3]);
  });

  it("answers 503 state_unreadable with reason schema_refused and its issues when the migrated state does not fit", async () => {
    const store = await storeWrittenBy(countersV1);
    const { call } = await deploy(
      countersV2((state) => ({ ...state, unit: "" })),
      store,
    );
    const problem = (await call("POST", "/v1/counters/c_a/events", { type: "Bump" })).json<UnreadableProblemBody>();
    assert.deepEqual([problem.status, problem.reason], [503, "schema_refused"]);
    assert.deepEqual(
      problem.issues.map((issue) => issue.path),
      [["unit"]],
    );
  });

  it("lists each machine's versions and its entities counted by stored state version", async () => {
    const store = await storeWrittenBy(countersV1);
    const { call } = await deploy(countersV2(), store);
    for (const id of ["c_b", "c_c"]) {
      assert.equal((await call("POST", `/v1/counters/${id}/events`, { type: "Start" })).statusCode, 200);
    }
    const [machine] = (await call("GET", "/v1/machines")).json<MachinesBody>().machines;
    assert.ok(machine);
    assert.deepEqual(
      { version: machine.version, eventVersion: machine.eventVersion, total: machine.total },
      { version: 2, eventVersion: 1, total: 3 },
    );
    assert.deepEqual(machine.stateVersions, [
      { stateVersion: 1, count: 1 },
      { stateVersion: 2, count: 2 },
    ]);
  });
});
