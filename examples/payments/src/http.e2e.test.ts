// Black-box tests of the payments service over real HTTP: the server `npm start` runs
// (examples/payments/dist/main.js) as a child process, spoken to with fetch (and node:http for
// raw paths). Checks the HTTP contract of DESIGN §5 (wire format) and §6 (API, "Running it").
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_RECHECK_MS, TokenStore } from "@drover/http";
import { SqliteStore } from "@drover/sqlite";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { Answer, CallOptions, EntityJson, JournalJson, ServerProcess } from "./test-support/http-harness.js";
import {
  assertContract,
  body,
  Client,
  call,
  closeRawAgent,
  makeDataDir,
  mintToken,
  paymentId,
  rawRequest,
  removeDir,
  startServer,
} from "./test-support/http-harness.js";

const EXTERNAL_EVENTS = ["RequestPayment", "VerifyPayment", "CapturePayment", "RefundPayment", "CancelPayment"];
const INTERNAL_EVENTS = ["ProviderAuthorized", "ProviderDeclined", "AuthorizationExpired"];

let server: ServerProcess;
let admin: Client;

/** A fetch call whose answer must keep the contract of every answer. */
async function req(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const answer = await call(server.url, method, path, options);
  assertContract(answer, `${method} ${path}`, [server.dataDir]);
  return answer;
}

const eventsPath = (id: string) => `/v1/payments/${encodeURIComponent(id)}/events`;
const entityPath = (id: string) => `/v1/payments/${encodeURIComponent(id)}`;

/** POST an event with the write token. */
function send(id: string, event: unknown, headers: Record<string, string> = {}, token = server.tokens.write) {
  return req("POST", eventsPath(id), { token, json: event, headers });
}

function expectProcessed(answer: Answer, version: number, status: string): Record<string, unknown> {
  assert.equal(answer.status, 200, answer.text);
  const result = body(answer);
  assert.equal(result.kind, "processed", answer.text);
  assert.equal(result.version, version, answer.text);
  assert.equal((result.state as { status: string }).status, status, answer.text);
  assert.equal(answer.headers.etag, `"${version}"`);
  assert.equal(answer.headers["idempotent-replayed"], undefined);
  return result;
}

function expectProblem(answer: Answer, status: number, kind: string, reason?: string): Record<string, unknown> {
  assert.equal(answer.status, status, answer.text);
  const problem = body(answer);
  assert.equal(problem.kind, kind, answer.text);
  if (reason !== undefined) assert.equal(problem.reason, reason, answer.text);
  assert.match(String(problem.type), /^https:\/\//);
  return problem;
}

function intentTypes(result: Record<string, unknown>): string[] {
  return (result.intents as { id: string; intent: { type: string } }[]).map((record) => record.intent.type);
}

/** A new payment, polled until the simulated provider authorized it. */
async function authorizedPayment(amount = 20_000, currency = "EUR"): Promise<string> {
  const id = paymentId();
  expectProcessed(await send(id, { type: "RequestPayment", amount, currency, customerId: "cus_42" }), 1, "authorizing");
  await admin.waitForStatus(id, ["authorized"]);
  return id;
}

/** Version and history of a payment: what "nothing written" compares. */
async function snapshot(id: string): Promise<{ version: number | undefined; history: JournalJson[] }> {
  const entity = await admin.entity(id);
  return { version: entity?.version, history: await admin.history(id) };
}

before(async () => {
  server = await startServer();
  admin = new Client(server.url, server.tokens.admin);
});

after(async () => {
  const status = await server.stop();
  assert.deepEqual(status, { code: 0, signal: null }, server.output());
  removeDir(server.dataDir);
  closeRawAgent();
});

// ─── Life cycles ───────────────────────────────────────────────────────────────────────

describe("payment life cycles through the dispatcher and the simulated provider", () => {
  it("authorizes a small payment, captures part of it, refunds it in two steps", async () => {
    const id = paymentId();
    const requested = expectProcessed(
      await send(id, { type: "RequestPayment", amount: 125_000, currency: "EUR", customerId: "cus_42" }),
      1,
      "authorizing",
    );
    assert.equal(requested.id, id);
    assert.deepEqual(requested.state, {
      status: "authorizing",
      amount: 125_000,
      currency: "EUR",
      customerId: "cus_42",
      captured: 0,
      refunded: 0,
      refunds: 0,
    });
    const intents = requested.intents as { id: string; intent: Record<string, unknown> }[];
    assert.deepEqual(intents, [
      {
        id: `payments/${id}/1/0`,
        intent: {
          type: "AuthorizeWithProvider",
          paymentId: id,
          amount: 125_000,
          currency: "EUR",
          customerId: "cus_42",
        },
      },
    ]);

    const authorized = await admin.waitForStatus(id, ["authorized"]);
    assert.equal(authorized.version, 2);
    assert.equal(typeof authorized.state.authorizationId, "string");

    const captured = expectProcessed(await send(id, { type: "CapturePayment", amount: 5_000 }), 3, "captured");
    assert.equal((captured.state as { captured: number }).captured, 5_000);
    assert.deepEqual(intentTypes(captured), ["CancelSchedule", "CaptureWithProvider", "NotifyCustomer"]);

    const partly = expectProcessed(
      await send(id, { type: "RefundPayment", amount: 1_000, currency: "EUR" }),
      4,
      "partially_refunded",
    );
    assert.equal((partly.state as { refunded: number }).refunded, 1_000);
    assert.deepEqual(intentTypes(partly), ["RefundWithProvider", "NotifyCustomer"]);
    const refunded = expectProcessed(await send(id, { type: "RefundPayment", amount: 4_000 }), 5, "refunded");
    assert.deepEqual(
      {
        captured: (refunded.state as { captured: number }).captured,
        refunded: (refunded.state as { refunded: number }).refunded,
      },
      { captured: 5_000, refunded: 5_000 },
    );

    const entity = await req("GET", entityPath(id), { token: server.tokens.read });
    assert.equal(entity.status, 200);
    assert.equal(entity.headers.etag, '"5"');
    const json = body(entity) as unknown as EntityJson;
    assert.equal(json.id, id);
    assert.equal(json.version, 5);
    assert.equal(json.state.status, "refunded");
    assert.ok(Date.parse(json.createdAt) <= Date.parse(json.updatedAt));
    assert.equal(new Date(json.createdAt).toISOString(), json.createdAt);

    const history = await admin.history(id);
    assert.deepEqual(
      history.map((entry) => [entry.version, entry.event.type, entry.state.status]),
      [
        [1, "RequestPayment", "authorizing"],
        [2, "ProviderAuthorized", "authorized"],
        [3, "CapturePayment", "captured"],
        [4, "RefundPayment", "partially_refunded"],
        [5, "RefundPayment", "refunded"],
      ],
    );
    for (let i = 1; i < history.length; i++) {
      assert.ok(Date.parse(history[i - 1]?.at ?? "") <= Date.parse(history[i]?.at ?? ""), "history is oldest first");
    }
    // The provider's answer came back as an event derived from the intent id.
    assert.notEqual(history[1]?.eventId, history[0]?.eventId);
    assert.equal(history[2]?.intents[0]?.id, `payments/${id}/3/0`);
  });

  it("holds a payment above 10,000.00 for verification, then authorizes it", async () => {
    const id = paymentId();
    const held = expectProcessed(
      await send(id, { type: "RequestPayment", amount: 1_000_001, currency: "EUR", customerId: "cus_big" }),
      1,
      "awaiting_verification",
    );
    assert.deepEqual(intentTypes(held), ["RequestVerification"]);
    // It stays held: nothing but an operator moves it on.
    await sleep(100);
    assert.equal((await admin.entity(id))?.state.status, "awaiting_verification");
    expectProblem(await send(id, { type: "CapturePayment", amount: 1 }), 422, "rejected", "invalid_transition");

    const verified = expectProcessed(await send(id, { type: "VerifyPayment", verifiedBy: "ops_7" }), 2, "authorizing");
    assert.equal((verified.state as { verifiedBy: string }).verifiedBy, "ops_7");
    assert.deepEqual(intentTypes(verified), ["AuthorizeWithProvider"]);
    const authorized = await admin.waitForStatus(id, ["authorized"]);
    assert.equal(authorized.version, 3);
    assert.equal(authorized.state.verifiedBy, "ops_7");
  });

  it("draws the verification line at exactly 10,000.00 in the payment's own currency", async () => {
    const cases: [number, string, string][] = [
      [1_000_000, "EUR", "authorizing"], // 10,000.00: not above
      [1_000_001, "EUR", "awaiting_verification"],
      [10_000, "JPY", "authorizing"], // no minor unit: 10,000 yen
      [10_001, "JPY", "awaiting_verification"],
    ];
    for (const [amount, currency, status] of cases) {
      expectProcessed(
        await send(paymentId(), { type: "RequestPayment", amount, currency, customerId: "cus_1" }),
        1,
        status,
      );
    }
  });

  it("declines a cus_decline… customer", async () => {
    const id = paymentId();
    expectProcessed(
      await send(id, { type: "RequestPayment", amount: 999, currency: "USD", customerId: "cus_decline_7" }),
      1,
      "authorizing",
    );
    const declined = await admin.waitForStatus(id, ["declined", "authorized"]);
    assert.equal(declined.state.status, "declined");
    assert.equal(declined.version, 2);
    assert.equal(typeof declined.state.declineReason, "string");
    expectProblem(await send(id, { type: "CapturePayment", amount: 999 }), 422, "rejected", "invalid_transition");
    assert.deepEqual(
      (await admin.history(id)).map((entry) => entry.event.type),
      ["RequestPayment", "ProviderDeclined"],
    );
  });

  it("cancels an authorized payment (voiding the hold)", async () => {
    const id = await authorizedPayment();
    const cancelled = expectProcessed(await send(id, { type: "CancelPayment" }), 3, "cancelled");
    assert.deepEqual(intentTypes(cancelled), ["CancelSchedule", "VoidAuthorization", "NotifyCustomer"]);
    expectProblem(await send(id, { type: "CapturePayment", amount: 1 }), 422, "rejected", "invalid_transition");
    expectProblem(await send(id, { type: "CancelPayment" }), 422, "rejected", "invalid_transition");
  });
});

// ─── Rejections ────────────────────────────────────────────────────────────────────────

describe("rejections: 422 problems with kind rejected and the machine's reason, nothing written", () => {
  const rejected = async (id: string, event: unknown, reason: string) => {
    const before = await snapshot(id);
    const problem = expectProblem(await send(id, event), 422, "rejected", reason);
    assert.equal(problem.version, before.version, "the problem names the version that refused");
    assert.equal(typeof problem.detail, "string");
    assert.deepEqual(await snapshot(id), before, `${reason}: nothing written`);
  };

  it("already_exists, invalid_transition, amount_exceeds_authorized, currency_mismatch, refund_exceeds_captured", async () => {
    const id = await authorizedPayment(20_000, "EUR");
    await rejected(
      id,
      { type: "RequestPayment", amount: 20_000, currency: "EUR", customerId: "cus_42" },
      "already_exists",
    );
    await rejected(id, { type: "VerifyPayment", verifiedBy: "ops_1" }, "invalid_transition");
    await rejected(id, { type: "RefundPayment", amount: 1 }, "invalid_transition");
    await rejected(id, { type: "CapturePayment", amount: 20_001 }, "amount_exceeds_authorized");
    await rejected(id, { type: "CapturePayment", amount: 100, currency: "USD" }, "currency_mismatch");
    expectProcessed(await send(id, { type: "CapturePayment", amount: 15_000, currency: "EUR" }), 3, "captured");
    await rejected(id, { type: "RefundPayment", amount: 15_001 }, "refund_exceeds_captured");
    await rejected(id, { type: "RefundPayment", amount: 10, currency: "GBP" }, "currency_mismatch");
    await rejected(id, { type: "CancelPayment" }, "invalid_transition");
    await rejected(id, { type: "CapturePayment", amount: 1 }, "invalid_transition");
    expectProcessed(await send(id, { type: "RefundPayment", amount: 15_000 }), 4, "refunded");
    await rejected(id, { type: "RefundPayment", amount: 1 }, "invalid_transition");
  });
});

// ─── Status codes ──────────────────────────────────────────────────────────────────────

describe("the status codes of POST /v1/{machine}/{id}/events", () => {
  it("400 invalid with the schema's issues, nothing written", async () => {
    const id = await authorizedPayment();
    const before = await snapshot(id);
    const bad: unknown[] = [
      { type: "CapturePayment", amount: 1.5 },
      { type: "CapturePayment", amount: -1 },
      { type: "CapturePayment", amount: 0 },
      { type: "CapturePayment", amount: "100" },
      { type: "CapturePayment", amount: 100, currency: "EURO" },
      { type: "CapturePayment", amount: 100, extra: true },
      { type: "CapturePayment" },
      { type: "Teleport" },
      { amount: 100 },
      { type: "VerifyPayment", verifiedBy: "" },
      { type: "RequestPayment", amount: 100, currency: "EUR", customerId: "bob" },
    ];
    for (const event of bad) {
      const problem = expectProblem(await send(id, event), 400, "invalid", "invalid_event");
      const issues = problem.issues as { path: unknown[]; message: string; code: string }[];
      assert.ok(Array.isArray(issues) && issues.length > 0, `issues for ${JSON.stringify(event)}`);
      for (const issue of issues) {
        assert.ok(Array.isArray(issue.path) && typeof issue.message === "string" && typeof issue.code === "string");
      }
    }
    // Bodies that are JSON but no object.
    for (const raw of ["[]", '"CancelPayment"', "42", "null", "true"]) {
      const answer = await req("POST", eventsPath(id), {
        token: server.tokens.write,
        body: raw,
        headers: { "content-type": "application/json" },
      });
      expectProblem(answer, 400, "invalid", "invalid_event");
    }
    assert.deepEqual(await snapshot(id), before);
  });

  it("400 to the events drover sends itself (ProviderAuthorized, ProviderDeclined, AuthorizationExpired)", async () => {
    const authorizing = paymentId();
    // Large: it waits for verification, so no provider answer races the test.
    expectProcessed(
      await send(authorizing, { type: "RequestPayment", amount: 5_000_000, currency: "EUR", customerId: "cus_1" }),
      1,
      "awaiting_verification",
    );
    const authorized = await authorizedPayment();
    const events = [
      { type: "ProviderAuthorized", authorizationId: "auth_forged" },
      { type: "ProviderDeclined", reason: "forged" },
      { type: "AuthorizationExpired" },
    ];
    for (const id of [authorizing, authorized, paymentId()]) {
      const before = await snapshot(id);
      for (const event of events) {
        const problem = expectProblem(await send(id, event), 400, "invalid", "internal_event");
        assert.match(String(problem.detail), new RegExp(event.type));
        // Not even with a key or from an admin.
        expectProblem(
          await send(id, event, { "idempotency-key": `forge-${event.type}` }, server.tokens.admin),
          400,
          "invalid",
          "internal_event",
        );
      }
      assert.deepEqual(await snapshot(id), before);
    }
  });

  it("400 to malformed JSON, an empty body and prototype poisoning", async () => {
    const id = await authorizedPayment();
    const before = await snapshot(id);
    for (const raw of ['{"type":"CancelPayment"', "{type:CancelPayment}", "", "\u0000", '{"type":"CancelPayment"}x']) {
      const answer = await req("POST", eventsPath(id), {
        token: server.tokens.write,
        body: raw,
        headers: { "content-type": "application/json" },
      });
      expectProblem(answer, 400, "invalid", "malformed_request");
    }
    for (const raw of [
      '{"type":"CancelPayment","__proto__":{"isAdmin":true}}',
      '{"type":"CancelPayment","constructor":{"prototype":{"x":1}}}',
    ]) {
      const answer = await req("POST", eventsPath(id), {
        token: server.tokens.write,
        body: raw,
        headers: { "content-type": "application/json" },
      });
      expectProblem(answer, 400, "invalid");
    }
    assert.deepEqual(await snapshot(id), before);
  });

  it("400 to invalid payment ids on every route that takes one", async () => {
    const ids = [
      "pay_short",
      "nope",
      `pay_${"a".repeat(33)}`,
      "pay_aaaaaaaaaaaaaaaa!",
      "pay_aaaaaaaa aaaaaaaa",
      "pay_aaaaaaaaaaaaaaaa/..",
      "pay_ünïcödé_aaaaaaaaaaaa",
      "PAY_AAAAAAAAAAAAAAAA",
      "pay_aaaaaaaaaaaaaaaa\u0000",
      "x".repeat(100), // the longest a path segment may be (see the todo test below)
    ];
    for (const id of ids) {
      for (const [method, path] of [
        ["POST", eventsPath(id)],
        ["GET", entityPath(id)],
        ["GET", `${entityPath(id)}/history`],
      ] as const) {
        const answer = await req(method, path, {
          token: server.tokens.admin,
          ...(method === "POST" ? { json: { type: "CancelPayment" } } : {}),
        });
        expectProblem(answer, 400, "invalid", "invalid_id");
      }
    }
    // Raw paths fetch would normalise: `..` and `%2F` reach the server as they are.
    // (`.` and `..` segments only raw: the WHATWG URL parser would resolve them, `%2E` too.)
    for (const path of [
      "/v1/payments/../events",
      "/v1/payments/./events",
      "/v1/payments/%2E%2E/events",
      "/v1/payments/pay_a%2F..%2F..%2Fb/events",
    ]) {
      const answer = await rawRequest(
        server.url,
        "POST",
        path,
        { authorization: `Bearer ${server.tokens.write}`, "content-type": "application/json" },
        '{"type":"CancelPayment"}',
      );
      assertContract(answer, path);
      expectProblem(answer, 400, "invalid", "invalid_id");
    }
    for (const path of ["/v1/payments/..", "/v1/payments/../history", "/v1/payments/%2e", "/v1/payments/%2F"]) {
      const answer = await rawRequest(server.url, "GET", path, { authorization: `Bearer ${server.tokens.read}` });
      assertContract(answer, path);
      expectProblem(answer, 400, "invalid", "invalid_id");
    }
    assert.equal((await admin.listAll()).filter((entity) => ids.includes(entity.id)).length, 0);
  });

  it("400 invalid_id (not a bare Fastify 414) to ids longer than 100 characters", async () => {
    const id = `pay_${"a".repeat(200)}`;
    for (const [method, path] of [
      ["POST", eventsPath(id)],
      ["GET", entityPath(id)],
      ["GET", `${entityPath(id)}/history`],
    ] as const) {
      const answer = await call(server.url, method, path, {
        token: server.tokens.admin,
        ...(method === "POST" ? { json: { type: "CancelPayment" } } : {}),
      });
      assertContract(answer, `${method} ${path}`);
      expectProblem(answer, 400, "invalid", "invalid_id");
    }
  });

  it("400 problem (not a bare Fastify error) to a path with broken percent-encoding", async () => {
    for (const path of ["/v1/payments/%ZZ", "/v1/payments/%E0%A4%A/events", "/v1/payments/pay_%/history"]) {
      const answer = await rawRequest(server.url, "GET", path, { authorization: `Bearer ${server.tokens.admin}` });
      assertContract(answer, path);
      assert.equal(answer.status, 400);
    }
  });

  it("400 to a malformed Idempotency-Key or If-Match, nothing written", async () => {
    const id = await authorizedPayment();
    const before = await snapshot(id);
    for (const key of ["has space", "x".repeat(256), "tab\there", "ünï"]) {
      const answer = await rawRequest(
        server.url,
        "POST",
        eventsPath(id),
        {
          authorization: `Bearer ${server.tokens.write}`,
          "content-type": "application/json",
          "idempotency-key": Buffer.from(key, "utf8").toString("latin1"),
        },
        '{"type":"CancelPayment"}',
      );
      assertContract(answer, `Idempotency-Key ${JSON.stringify(key)}`);
      expectProblem(answer, 400, "invalid", "invalid_idempotency_key");
    }
    // The header twice is one value with a comma and a space: refused, not split.
    const twice = await rawRequest(
      server.url,
      "POST",
      eventsPath(id),
      {
        authorization: `Bearer ${server.tokens.write}`,
        "content-type": "application/json",
        "idempotency-key": ["a", "b"],
      },
      '{"type":"CancelPayment"}',
    );
    expectProblem(twice, 400, "invalid", "invalid_idempotency_key");
    // (`*`, lists and weak tags are well-formed: see the 412 test.)
    for (const tag of ["2", "W/2", '"02"', '*, "2"', '"2" "3"', '"-1"', '"99999999999999999"', '""', ""]) {
      expectProblem(await send(id, { type: "CancelPayment" }, { "if-match": tag }), 400, "invalid");
    }
    assert.deepEqual(await snapshot(id), before);
  });

  it("404 not_found: an unknown payment, an unknown machine, an unknown route", async () => {
    const unknown = paymentId();
    expectProblem(await send(unknown, { type: "CapturePayment", amount: 1 }), 404, "not_found");
    expectProblem(await send(unknown, { type: "CancelPayment" }), 404, "not_found");
    expectProblem(await req("GET", entityPath(unknown), { token: server.tokens.read }), 404, "not_found");
    expectProblem(await req("GET", `${entityPath(unknown)}/history`, { token: server.tokens.read }), 404, "not_found");
    assert.equal(await admin.entity(unknown), undefined, "a 404 creates nothing");
    for (const [method, path] of [
      ["POST", `/v1/refunds/${unknown}/events`],
      ["GET", `/v1/refunds/${unknown}`],
      ["GET", `/v1/refunds/${unknown}/history`],
      ["GET", "/v1/refunds"],
    ] as const) {
      const answer = await req(method, path, {
        token: server.tokens.admin,
        ...(method === "POST" ? { json: { type: "CancelPayment" } } : {}),
      });
      const problem = expectProblem(answer, 404, "not_found", "unknown_machine");
      assert.match(String(problem.detail), /payments/, "it names the machines there are");
    }
    for (const [method, path] of [
      ["GET", "/v1"],
      ["GET", "/v2/payments"],
      ["DELETE", entityPath(unknown)],
      ["PUT", eventsPath(unknown)],
      ["GET", `${eventsPath(unknown)}/more`],
    ] as const) {
      expectProblem(await req(method, path, { token: server.tokens.read }), 404, "not_found");
    }
  });

  it("412 to If-Match on a stale version, 200 on the current one", async () => {
    const id = await authorizedPayment();
    const before = await snapshot(id);
    for (const stale of ['"0"', '"1"', '"3"', '"1000"']) {
      const problem = expectProblem(
        await send(id, { type: "CapturePayment", amount: 100 }, { "if-match": stale }),
        412,
        "conflict",
        "version_mismatch",
      );
      assert.equal(problem.currentVersion, 2);
    }
    // Strong comparison: a weak tag never matches, not even the current version's; nor does a list without it.
    for (const tag of ['W/"2"', '"1", "3"', '"1", W/"2"']) {
      expectProblem(
        await send(id, { type: "CapturePayment", amount: 100 }, { "if-match": tag }),
        412,
        "conflict",
        "version_mismatch",
      );
    }
    assert.deepEqual(await snapshot(id), before);
    expectProcessed(
      await send(id, { type: "CapturePayment", amount: 100 }, { "if-match": ' "1", "2" ' }),
      3,
      "captured",
    );
    // `*`: any version, as long as the payment exists.
    const refunded = await send(id, { type: "RefundPayment", amount: 10 }, { "if-match": "*" });
    assert.deepEqual([refunded.status, body(refunded).kind], [200, "processed"], refunded.text);
    // "0" is the version of a payment that does not exist yet; `*` needs one that exists.
    const fresh = paymentId();
    expectProblem(
      await send(
        fresh,
        { type: "RequestPayment", amount: 100, currency: "EUR", customerId: "cus_1" },
        { "if-match": "*" },
      ),
      412,
      "conflict",
      "version_mismatch",
    );
    assert.equal(await admin.entity(fresh), undefined, "a failed If-Match creates nothing");
    expectProcessed(
      await send(
        fresh,
        { type: "RequestPayment", amount: 100, currency: "EUR", customerId: "cus_1" },
        { "if-match": '"0"' },
      ),
      1,
      "authorizing",
    );
    expectProblem(
      await send(
        fresh,
        { type: "RequestPayment", amount: 100, currency: "EUR", customerId: "cus_1" },
        { "if-match": '"0"' },
      ),
      412,
      "conflict",
      "version_mismatch",
    );
  });

  it("413 to a body over 64 KiB, nothing written", async () => {
    const id = paymentId();
    const event = {
      type: "RequestPayment",
      amount: 100,
      currency: "EUR",
      customerId: "cus_1",
      pad: "x".repeat(70_000),
    };
    expectProblem(await send(id, event), 413, "payload_too_large");
    // Just under the limit is read (and refused by the schema).
    const under = { ...event, pad: "x".repeat(64 * 1024 - 200) };
    expectProblem(await send(id, under), 400, "invalid", "invalid_event");
    assert.equal(await admin.entity(id), undefined);
  });

  it("415 to a body that is not application/json", async () => {
    const id = paymentId();
    const event = JSON.stringify({ type: "RequestPayment", amount: 100, currency: "EUR", customerId: "cus_1" });
    for (const type of [
      "application/xml",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/problem+json",
      "application/jsonx",
      "image/png",
    ]) {
      const answer = await req("POST", eventsPath(id), {
        token: server.tokens.write,
        body: event,
        headers: { "content-type": type },
      });
      expectProblem(answer, 415, "unsupported_media_type");
    }
    assert.equal(await admin.entity(id), undefined);
    // application/json with parameters is JSON.
    expectProcessed(
      await req("POST", eventsPath(id), {
        token: server.tokens.write,
        body: event,
        headers: { "content-type": "Application/JSON; charset=utf-8" },
      }),
      1,
      "authorizing",
    );
  });

  it("415 (not 400) to a text/plain body", async () => {
    const id = paymentId();
    const answer = await req("POST", eventsPath(id), {
      token: server.tokens.write,
      body: JSON.stringify({ type: "RequestPayment", amount: 100, currency: "EUR", customerId: "cus_1" }),
      headers: { "content-type": "text/plain" },
    });
    expectProblem(answer, 415, "unsupported_media_type");
  });

  it("X-Request-Id on every answer: a valid one is echoed, anything else replaced", async () => {
    const echoed = await req("GET", "/healthz", { headers: { "x-request-id": "trace-42.a:b_c" } });
    assert.equal(echoed.headers["x-request-id"], "trace-42.a:b_c");
    for (const given of ["has space", "x".repeat(129), "semi;colon"]) {
      const answer = await req("GET", "/healthz", { headers: { "x-request-id": given } });
      assert.notEqual(answer.headers["x-request-id"], given);
      assert.match(answer.headers["x-request-id"] ?? "", /^[A-Za-z0-9._:-]{1,128}$/);
    }
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await req("GET", "/healthz")).headers["x-request-id"] ?? "");
    assert.equal(ids.size, 5, "fresh ids");
  });

  it("a problem with X-Request-Id even to request headers over Node's 16 KiB limit", async () => {
    const answer = await rawRequest(server.url, "GET", "/v1/payments", {
      authorization: `Bearer ${server.tokens.read}`,
      "x-padding": "a".repeat(20_000),
    });
    assert.equal(answer.status, 431);
    assertContract(answer, "431");
  });
});

// ─── Idempotency ───────────────────────────────────────────────────────────────────────

describe("Idempotency-Key", () => {
  it("20 concurrent identical requests with one key apply once; the rest replay the same body", async () => {
    const id = paymentId();
    const key = `create-${id}`;
    const event = { type: "RequestPayment", amount: 4_200, currency: "EUR", customerId: "cus_42" };
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(id, event, { "idempotency-key": key })));
    for (const answer of answers) assert.equal(answer.status, 200, answer.text);
    const originals = answers.filter((answer) => answer.headers["idempotent-replayed"] === undefined);
    const replays = answers.filter((answer) => answer.headers["idempotent-replayed"] === "true");
    assert.equal(originals.length, 1, "one processed");
    assert.equal(replays.length, 19, "nineteen replays");
    for (const replay of replays) assert.deepEqual(replay.json, originals[0]?.json);
    assert.equal(body(originals[0] as Answer).version, 1);
    const history = await admin.history(id);
    assert.equal(history.filter((entry) => entry.event.type === "RequestPayment").length, 1);
    assert.equal(history[0]?.eventId, key);

    // The same on an existing payment: one capture.
    await admin.waitForStatus(id, ["authorized"]);
    const captures = await Promise.all(
      Array.from({ length: 20 }, () =>
        send(id, { type: "CapturePayment", amount: 4_200 }, { "idempotency-key": `cap-${id}` }),
      ),
    );
    assert.deepEqual(
      captures.map((answer) => answer.status),
      captures.map(() => 200),
    );
    assert.equal(captures.filter((answer) => answer.headers["idempotent-replayed"] === undefined).length, 1);
    for (const answer of captures) assert.deepEqual(answer.json, captures[0]?.json);
    const after = await admin.history(id);
    assert.deepEqual(
      after.map((entry) => entry.event.type),
      ["RequestPayment", "ProviderAuthorized", "CapturePayment"],
    );
    // A late replay still answers the original, with the ETag of that version.
    const late = await send(id, { type: "CapturePayment", amount: 4_200 }, { "idempotency-key": `cap-${id}` });
    assert.equal(late.headers["idempotent-replayed"], "true");
    assert.equal(late.text, captures.find((answer) => answer.headers["idempotent-replayed"] === undefined)?.text);
  });

  it("a replayed 422 keeps its answer even after the payment moved on; the key is bound to its request", async () => {
    const id = await authorizedPayment(10_000);
    const key = `too-much-${id}`;
    const first = await send(id, { type: "CapturePayment", amount: 10_001 }, { "idempotency-key": key });
    expectProblem(first, 422, "rejected", "amount_exceeds_authorized");
    assert.equal(first.headers["idempotent-replayed"], undefined);
    const again = await send(id, { type: "CapturePayment", amount: 10_001 }, { "idempotency-key": key });
    assert.equal(again.status, 422);
    assert.equal(again.headers["idempotent-replayed"], "true");
    assert.equal(again.text, first.text, "the same body");

    expectProcessed(await send(id, { type: "CapturePayment", amount: 10_000 }), 3, "captured");
    const later = await send(id, { type: "CapturePayment", amount: 10_001 }, { "idempotency-key": key });
    assert.equal(later.status, 422);
    assert.equal(later.text, first.text, "still the original answer");

    // Same key, another body / another payment: a reused key, 422 invalid.
    const before = await snapshot(id);
    for (const [target, event] of [
      [id, { type: "CapturePayment", amount: 5 }],
      [id, { type: "RefundPayment", amount: 5 }],
      [paymentId(), { type: "CapturePayment", amount: 10_001 }],
    ] as const) {
      expectProblem(await send(target, event, { "idempotency-key": key }), 422, "invalid", "idempotency_key_reused");
    }
    assert.deepEqual(await snapshot(id), before);

    // The key of a processed event, reused for another body.
    const refundKey = `refund-${id}`;
    expectProcessed(
      await send(id, { type: "RefundPayment", amount: 1 }, { "idempotency-key": refundKey }),
      4,
      "partially_refunded",
    );
    expectProblem(
      await send(id, { type: "RefundPayment", amount: 2 }, { "idempotency-key": refundKey }),
      422,
      "invalid",
      "idempotency_key_reused",
    );
    // The same event with its members in another order is the same request.
    const reordered = await req("POST", eventsPath(id), {
      token: server.tokens.write,
      body: '{"amount":1,"type":"RefundPayment"}',
      headers: { "content-type": "application/json", "idempotency-key": refundKey },
    });
    assert.equal(reordered.status, 200, reordered.text);
    assert.equal(reordered.headers["idempotent-replayed"], "true");
    assert.equal((await snapshot(id)).version, 4);
  });

  it("without a key every request is a new event with a fresh id", async () => {
    const id = await authorizedPayment(10_000);
    expectProcessed(await send(id, { type: "CapturePayment", amount: 10_000 }), 3, "captured");
    expectProcessed(await send(id, { type: "RefundPayment", amount: 100 }), 4, "partially_refunded");
    expectProcessed(await send(id, { type: "RefundPayment", amount: 100 }), 5, "partially_refunded");
    const again = await send(id, { type: "RequestPayment", amount: 10_000, currency: "EUR", customerId: "cus_42" });
    expectProblem(again, 422, "rejected", "already_exists");
    assert.equal(again.headers["idempotent-replayed"], undefined);
    const history = await admin.history(id);
    const ids = history.map((entry) => entry.eventId);
    assert.equal(new Set(ids).size, ids.length, `distinct event ids: ${ids.join(", ")}`);
  });
});

// ─── Reading ───────────────────────────────────────────────────────────────────────────

describe("reading payments", () => {
  it('GET answers the entity with ETag "<version>" and 304 to a matching If-None-Match', async () => {
    const id = await authorizedPayment();
    const answer = await req("GET", entityPath(id), { token: server.tokens.read });
    assert.equal(answer.headers.etag, '"2"');
    assert.deepEqual(Object.keys(body(answer)).sort(), [
      "createdAt",
      "id",
      "state",
      "stateVersion",
      "status",
      "updatedAt",
      "version",
    ]);
    assert.equal(body(answer).status, "authorized", "the state's name, as the payments machine names it");
    assert.equal(body(answer).stateVersion, 2, "written at the payments machine's state version");
    const unchanged = await req("GET", entityPath(id), {
      token: server.tokens.read,
      headers: { "if-none-match": '"2"' },
    });
    assert.equal(unchanged.status, 304);
    assert.equal(unchanged.text, "");
    const changed = await req("GET", entityPath(id), {
      token: server.tokens.read,
      headers: { "if-none-match": '"1"' },
    });
    assert.equal(changed.status, 200);
  });

  it("GET /v1/payments pages through every payment with limit and nextCursor", async () => {
    const created = new Set<string>();
    for (let i = 0; i < 7; i++) {
      const id = paymentId();
      created.add(id);
      expectProcessed(
        await send(id, { type: "RequestPayment", amount: 100 + i, currency: "EUR", customerId: "cus_list" }),
        1,
        "authorizing",
      );
    }
    const everything = await admin.listAll(100);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? "limit=3" : `limit=3&cursor=${encodeURIComponent(cursor)}`;
      const page = body(await req("GET", `/v1/payments?${query}`, { token: server.tokens.read })) as {
        items: EntityJson[];
        nextCursor: string | null;
      };
      assert.ok(page.items.length <= 3);
      if (page.nextCursor !== null) assert.equal(page.items.length, 3, "only the last page is short");
      seen.push(...page.items.map((item) => item.id));
      for (const item of page.items) assert.equal(typeof item.version, "number");
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 1_000);
    assert.equal(new Set(seen).size, seen.length, "no payment twice");
    assert.deepEqual(seen, [...seen].sort(), "in id order");
    assert.deepEqual(new Set(seen), new Set(everything.map((entity) => entity.id)), "every payment");
    for (const id of created) assert.ok(seen.includes(id), `${id} listed`);
    assert.equal(pages, Math.max(1, Math.ceil(everything.length / 3)));
    const first = body(await req("GET", "/v1/payments", { token: server.tokens.read })) as { items: unknown[] };
    assert.equal(first.items.length, Math.min(20, everything.length), "20 by default");

    for (const query of [
      "limit=0",
      "limit=101",
      "limit=-1",
      "limit=abc",
      "limit=1.5",
      "cursor=%21%21",
      "cursor=",
      "sort=id",
    ]) {
      expectProblem(await req("GET", `/v1/payments?${query}`, { token: server.tokens.read }), 400, "invalid");
    }
    assert.equal(
      (body(await req("GET", "/v1/payments?limit=100", { token: server.tokens.read })).items as unknown[]).length,
      Math.min(100, everything.length),
    );
  });
});

// ─── Outbox ────────────────────────────────────────────────────────────────────────────

describe("outbox inspection", () => {
  it("lists pending intents until the dispatcher drained them, and no dead letters", async () => {
    await authorizedPayment();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const pending = body(await req("GET", "/v1/outbox?status=pending", { token: server.tokens.admin }));
      const items = pending.items as { status: string }[];
      for (const item of items) assert.equal(item.status, "pending");
      if (items.length === 0) break;
      assert.ok(Date.now() < deadline, `still pending: ${JSON.stringify(items).slice(0, 500)}`);
      await sleep(20);
    }
    const byDefault = body(await req("GET", "/v1/outbox", { token: server.tokens.admin }));
    assert.ok(Array.isArray(byDefault.items));
    assert.deepEqual(body(await req("GET", "/v1/outbox?status=dead", { token: server.tokens.admin })).items, []);
    for (const query of ["status=done", "status=", "limit=0", "limit=501", "x=1"]) {
      expectProblem(await req("GET", `/v1/outbox?${query}`, { token: server.tokens.admin }), 400, "invalid");
    }
  });

  it("retry: 404 for an unknown intent, 409 for one that is not dead; the id is URL-encoded", async () => {
    const id = await authorizedPayment();
    const done = `payments/${id}/1/0`;
    const notDead = expectProblem(
      await req("POST", `/v1/outbox/${encodeURIComponent(done)}/retry`, { token: server.tokens.admin }),
      409,
      "conflict",
    );
    assert.match(String(notDead.detail), /dead/);
    expectProblem(
      await req("POST", `/v1/outbox/${encodeURIComponent(`payments/${id}/99/0`)}/retry`, {
        token: server.tokens.admin,
      }),
      404,
      "not_found",
    );
    // Not encoded, the slashes make another path: no such route.
    expectProblem(await req("POST", `/v1/outbox/${done}/retry`, { token: server.tokens.admin }), 404, "not_found");
  });
});

// ─── Auth ──────────────────────────────────────────────────────────────────────────────

describe("authentication and scopes", () => {
  it("answers every route × credential with the exact status, and writes nothing on 401/403", async () => {
    const existing = await authorizedPayment();
    const before = await snapshot(existing);
    const { read, write } = server.tokens;
    const adminToken = server.tokens.admin;
    const flipped = `${adminToken.slice(0, -1)}${adminToken.endsWith("A") ? "B" : "A"}`;
    type Credential = { name: string; header: string | undefined; rank: number };
    // rank: -1 no valid token; 1 read; 2 write; 3 admin
    const credentials: Credential[] = [
      { name: "no header", header: undefined, rank: -1 },
      { name: "empty header", header: "", rank: -1 },
      { name: "Basic", header: "Basic dXNlcjpwYXNz", rank: -1 },
      { name: "bare Bearer", header: "Bearer", rank: -1 },
      { name: "two tokens", header: `Bearer ${adminToken} ${adminToken}`, rank: -1 },
      { name: "token without scheme", header: adminToken, rank: -1 },
      { name: "unknown token", header: "Bearer drv_thisIsNotATokenThisServerEverMade", rank: -1 },
      { name: "near-miss admin token", header: `Bearer ${flipped}`, rank: -1 },
      { name: "read", header: `Bearer ${read}`, rank: 1 },
      { name: "write", header: `Bearer ${write}`, rank: 2 },
      { name: "write, lower-case scheme", header: `bearer ${write}`, rank: 2 },
      { name: "admin", header: `Bearer ${adminToken}`, rank: 3 },
    ];
    const createdByMatrix: { id: string; credential: Credential }[] = [];
    type Route = { name: string; needs: number; method: string; path: () => string; body?: () => unknown; ok: number };
    const routes: Route[] = [
      {
        name: "POST events",
        needs: 2,
        method: "POST",
        path: () => {
          const id = paymentId();
          createdByMatrix.push({ id, credential: current });
          return eventsPath(id);
        },
        body: () => ({ type: "RequestPayment", amount: 100, currency: "EUR", customerId: "cus_auth" }),
        ok: 200,
      },
      {
        name: "POST events to an existing payment",
        needs: 2,
        method: "POST",
        path: () => eventsPath(existing),
        body: () => ({ type: "CapturePayment", amount: 1_000_000 }),
        ok: 422,
      },
      { name: "GET entity", needs: 1, method: "GET", path: () => entityPath(existing), ok: 200 },
      { name: "GET history", needs: 1, method: "GET", path: () => `${entityPath(existing)}/history`, ok: 200 },
      { name: "GET list", needs: 1, method: "GET", path: () => "/v1/payments?limit=2", ok: 200 },
      { name: "GET outbox", needs: 3, method: "GET", path: () => "/v1/outbox?status=dead", ok: 200 },
      {
        name: "POST outbox retry",
        needs: 3,
        method: "POST",
        path: () => "/v1/outbox/payments%2Fnone%2F1%2F0/retry",
        ok: 404,
      },
      { name: "GET metrics", needs: 1, method: "GET", path: () => "/metrics", ok: 200 },
      { name: "unknown route", needs: 1, method: "GET", path: () => "/v1/payments/x/y/z", ok: 404 },
      { name: "healthz", needs: 0, method: "GET", path: () => "/healthz", ok: 200 },
      { name: "openapi", needs: 0, method: "GET", path: () => "/openapi.json", ok: 200 },
      { name: "dashboard", needs: 0, method: "GET", path: () => "/", ok: 200 },
    ];
    let current = credentials[0] as Credential;
    const failures: string[] = [];
    for (const route of routes) {
      for (const credential of credentials) {
        current = credential;
        const expected =
          route.needs === 0 ? route.ok : credential.rank < 0 ? 401 : credential.rank < route.needs ? 403 : route.ok;
        const path = route.path();
        const answer = await req(route.method, path, {
          headers: credential.header === undefined ? {} : { authorization: credential.header },
          ...(route.body === undefined ? {} : { json: route.body() }),
        });
        if (answer.status !== expected) {
          failures.push(
            `${route.name} with ${credential.name}: expected ${expected}, got ${answer.status} ${answer.text.slice(0, 200)}`,
          );
          continue;
        }
        if (expected === 401) {
          assert.match(answer.headers["www-authenticate"] ?? "", /^Bearer realm="drover"/);
          expectProblem(answer, 401, "unauthorized");
          assert.ok(!answer.text.includes(adminToken) && !answer.text.includes(read));
        }
        if (expected === 403) {
          const scope = ["", "read", "write", "admin"][route.needs];
          assert.equal(
            answer.headers["www-authenticate"],
            `Bearer realm="drover", error="insufficient_scope", scope="${scope}"`,
          );
          expectProblem(answer, 403, "forbidden");
        }
      }
    }
    assert.deepEqual(failures, []);
    // Nothing written by a refused request.
    for (const { id, credential } of createdByMatrix) {
      const exists = (await admin.entity(id)) !== undefined;
      assert.equal(exists, credential.rank >= 2, `${credential.name}: payment ${exists ? "created" : "not created"}`);
    }
    assert.deepEqual(await snapshot(existing), before);
  });

  it("takes a token minted while it runs at its next request, and refuses it once revoked", async () => {
    const store = TokenStore.open(server.dataDir);
    const minted = store.create({ scopes: ["read"], name: "short-lived" });
    assert.equal((await req("GET", "/v1/payments?limit=1", { token: minted.token })).status, 200);
    assert.equal(store.revoke(minted.id), true);
    // The server looks at the file again at most DEFAULT_RECHECK_MS after its last look.
    await sleep(DEFAULT_RECHECK_MS + 50);
    expectProblem(await req("GET", "/v1/payments?limit=1", { token: minted.token }), 401, "unauthorized");
  });
});

// ─── Metrics and OpenAPI ───────────────────────────────────────────────────────────────

describe("/metrics and /openapi.json", () => {
  it("exposes events, step latency, outbox depth and dispatcher attempts in Prometheus text", async () => {
    await authorizedPayment();
    const answer = await req("GET", "/metrics", { token: server.tokens.read });
    assert.equal(answer.status, 200);
    assert.match(answer.headers["content-type"] ?? "", /^text\/plain/);
    const text = answer.text;
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    assert.ok(value(/^drover_events_total\{machine="payments",kind="processed"\} (\d+)$/m) > 10, text.slice(0, 3000));
    assert.ok(value(/^drover_events_total\{machine="payments",kind="rejected"\} (\d+)$/m) > 0);
    assert.ok(value(/^drover_events_total\{machine="payments",kind="invalid"\} (\d+)$/m) > 0);
    assert.ok(value(/^drover_events_total\{machine="payments",kind="duplicate"\} (\d+)$/m) > 0);
    assert.ok(value(/^drover_events_total\{machine="payments",kind="not_found"\} (\d+)$/m) > 0);
    assert.match(text, /^# TYPE drover_step_duration_seconds histogram$/m);
    assert.ok(value(/^drover_step_duration_seconds_count\{machine="payments"\} (\d+)$/m) > 10);
    assert.match(text, /^# TYPE drover_outbox_intents gauge$/m);
    assert.ok(value(/^drover_outbox_intents\{status="done"\} (\d+)$/m) > 0);
    assert.ok(
      value(
        /^drover_dispatcher_attempts_total\{machine="payments",intent="AuthorizeWithProvider",outcome="done"\} (\d+)$/m,
      ) > 0,
    );
    // A machine name typed by a caller never becomes a label.
    assert.doesNotMatch(text, /machine="refunds"/);
  });

  it("serves a valid OpenAPI 3.1 document with every route, scope and external event type", async () => {
    const answer = await req("GET", "/openapi.json");
    assert.equal(answer.status, 200);
    const document = body(answer);
    const validator = new Validator();
    const result = await validator.validate(document);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2)?.slice(0, 3000));
    assert.equal(validator.version, "3.1");
    assert.match(String(document.openapi), /^3\.1\./);

    type Operation = {
      "x-drover-scope"?: string;
      security?: unknown[];
      requestBody?: unknown;
      responses: Record<string, unknown>;
    };
    const paths = document.paths as Record<string, Record<string, Operation>>;
    const expected: [string, string, string | null][] = [
      ["/v1/payments/{id}/events", "post", "write"],
      ["/v1/payments/{id}", "get", "read"],
      ["/v1/payments/{id}/history", "get", "read"],
      ["/v1/payments", "get", "read"],
      ["/v1/outbox", "get", "admin"],
      ["/v1/outbox/{intentId}/retry", "post", "admin"],
      ["/metrics", "get", "read"],
      ["/healthz", "get", null],
      ["/openapi.json", "get", null],
    ];
    for (const [path, method, scope] of expected) {
      const operation = paths[path]?.[method];
      assert.ok(operation, `${method.toUpperCase()} ${path} is described`);
      if (scope === null) assert.deepEqual(operation.security, [], `${path} is open`);
      else assert.equal(operation["x-drover-scope"], scope, `${path} needs ${scope}`);
    }
    const events = paths["/v1/payments/{id}/events"]?.post as Operation;
    const request = JSON.stringify(events.requestBody);
    const schemas = (document.components as { schemas: Record<string, unknown> }).schemas;
    const bodySchemas = JSON.stringify(
      [...request.matchAll(/#\/components\/schemas\/([^"]+)/g)].map((match) => schemas[match[1] as string]),
    );
    for (const type of EXTERNAL_EVENTS)
      assert.match(bodySchemas + request, new RegExp(`"${type}"`), `${type} documented`);
    for (const type of INTERNAL_EVENTS)
      assert.doesNotMatch(request, new RegExp(type), `${type} not accepted from callers`);
    for (const status of ["200", "400", "401", "403", "404", "409", "412", "413", "422"]) {
      assert.ok(status in events.responses, `events answer ${status} documented`);
    }
  });
});

// ─── Running it: tokens, restarts, dead letters, SIGTERM ───────────────────────────────

describe("running it: the admin token, restarts and dead letters", () => {
  it("prints an admin token on first start only, keeps it hashed in a 0600 tokens.json, revives dead letters", async () => {
    const dataDir = makeDataDir();
    try {
      const first = await startServer({ dataDir, mint: false });
      const token = first.printedToken;
      assert.ok(token !== undefined && /^drv_[A-Za-z0-9_-]{20,}$/.test(token), first.output());
      const file = join(dataDir, "tokens.json");
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const stored = fs.readFileSync(file, "utf8");
      assert.ok(!stored.includes(token), "no plaintext token on disk");
      assert.ok(!stored.includes(token.slice(4)), "not even without its prefix");
      assert.ok(stored.includes(createHash("sha256").update(token).digest("hex")), "its SHA-256 is stored");
      const records = (JSON.parse(stored) as { tokens: { scopes: string[] }[] }).tokens;
      assert.deepEqual(
        records.map((record) => record.scopes),
        [["admin"]],
      );
      const firstClient = new Client(first.url, token);
      assert.equal((await call(first.url, "GET", "/v1/outbox", { token })).status, 200);

      // A payment authorized by the first process's (in-memory) provider.
      const id = paymentId();
      const requested = await call(first.url, "POST", eventsPath(id), {
        token,
        json: { type: "RequestPayment", amount: 5_000, currency: "EUR", customerId: "cus_42" },
      });
      assert.equal(requested.status, 200, requested.text);
      await firstClient.waitForStatus(id, ["authorized"]);
      assert.deepEqual(await first.stop(), { code: 0, signal: null }, first.output());
      assert.equal(first.output().split(token).length - 1, 1, "printed exactly once");

      const second = await startServer({ dataDir, mint: false });
      try {
        assert.equal(second.printedToken, undefined, "no token on the second start");
        assert.doesNotMatch(second.output(), /admin token/);
        const client = new Client(second.url, token);
        assert.equal((await client.entity(id))?.state.status, "authorized", "the first start's token and data stay");

        // The second process's provider never saw this authorization: its capture is refused
        // for good (unknown_authorization) and dead-lettered at once.
        const capture = await call(second.url, "POST", eventsPath(id), {
          token,
          json: { type: "CapturePayment", amount: 5_000 },
        });
        assert.equal(capture.status, 200, capture.text);
        const intentId = (body(capture).intents as { id: string; intent: { type: string } }[]).find(
          (record) => record.intent.type === "CaptureWithProvider",
        )?.id;
        assert.ok(intentId !== undefined);
        const dead = await waitForDead(second.url, token, intentId, 1);
        assert.equal(dead.status, "dead");
        assert.equal(dead.machine, "payments");
        assert.equal(dead.entityId, id);
        assert.match(String(dead.lastError), /unknown_authorization/);
        assert.equal((dead.intent as { type: string }).type, "CaptureWithProvider");
        const pending = body(await call(second.url, "GET", "/v1/outbox?status=pending", { token })).items as {
          intentId: string;
        }[];
        assert.ok(!pending.some((row) => row.intentId === intentId));

        const retried = await call(second.url, "POST", `/v1/outbox/${encodeURIComponent(intentId)}/retry`, { token });
        assertContract(retried, "retry");
        assert.equal(retried.status, 200, retried.text);
        assert.equal(body(retried).intentId, intentId);
        assert.ok(["pending", "dead"].includes(String(body(retried).status)));
        // The dispatcher ran it again (and the provider refused it again).
        await waitForDeadAttempts(second.url, token, 2);
        const readToken = mintToken(dataDir, ["read"]);
        for (const scoped of [readToken, mintToken(dataDir, ["write"])]) {
          assert.equal(
            (await call(second.url, "POST", `/v1/outbox/${encodeURIComponent(intentId)}/retry`, { token: scoped }))
              .status,
            403,
          );
        }
        assert.deepEqual(await second.stop(), { code: 0, signal: null }, second.output());
        assert.doesNotMatch(second.output(), /admin token/);
      } finally {
        await second.stop();
      }
    } finally {
      removeDir(dataDir);
    }
  });

  it("generates no token when DROVER_ADMIN_TOKEN is set, and accepts that one as admin", async () => {
    const envToken = "e2e-admin-token-from-the-environment_0123456789";
    const started = await startServer({ env: { DROVER_ADMIN_TOKEN: envToken }, mint: false });
    try {
      assert.equal(started.printedToken, undefined);
      assert.doesNotMatch(started.output(), /admin token/);
      const file = join(started.dataDir, "tokens.json");
      if (fs.existsSync(file)) {
        assert.deepEqual((JSON.parse(fs.readFileSync(file, "utf8")) as { tokens: unknown[] }).tokens, []);
        assert.ok(!fs.readFileSync(file, "utf8").includes(envToken));
      }
      assert.equal((await call(started.url, "GET", "/v1/outbox", { token: envToken })).status, 200);
      assert.equal((await call(started.url, "GET", "/v1/outbox", { token: `${envToken}x` })).status, 401);
    } finally {
      assert.deepEqual(await started.stop(), { code: 0, signal: null });
      removeDir(started.dataDir);
    }
  });

  it("on SIGTERM finishes the requests in flight, takes no new ones, and exits 0", async () => {
    // Tokens minted before the first start: then the server generates none.
    const dataDir = makeDataDir();
    const write = mintToken(dataDir, ["write"]);
    const running = await startServer({ dataDir, mint: false });
    try {
      assert.equal(running.printedToken, undefined, "tokens exist: none generated");
      const ids = Array.from({ length: 5 }, () => paymentId());
      const url = new URL(running.url);
      // Each request gets a connection of its own, used once already (so the server surely
      // accepted it), then sends its headers and a part of its body, and waits: it is in flight.
      const inFlight = await Promise.all(
        ids.map(async (id) => {
          const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
          await new Promise<void>((resolve, reject) => {
            http
              .get({ host: url.hostname, port: url.port, path: "/healthz", agent }, (response) => {
                response.resume();
                response.on("end", () => resolve());
              })
              .on("error", reject);
          });
          const payload = Buffer.from(
            JSON.stringify({ type: "RequestPayment", amount: 100, currency: "EUR", customerId: "cus_term" }),
          );
          let finish: () => void = () => {};
          const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
            const request = http.request(
              {
                host: url.hostname,
                port: url.port,
                method: "POST",
                path: eventsPath(id),
                agent,
                headers: {
                  authorization: `Bearer ${write}`,
                  "content-type": "application/json",
                  "content-length": payload.length,
                },
              },
              (response) => {
                let text = "";
                response.on("data", (chunk: Buffer) => {
                  text += chunk.toString();
                });
                response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
                response.on("error", reject);
              },
            );
            request.on("error", reject);
            request.write(payload.subarray(0, 10));
            finish = () => request.end(payload.subarray(10));
          });
          return { answer, finish: () => finish(), agent };
        }),
      );
      await sleep(200);
      running.child.kill("SIGTERM");
      // Soon it takes no new requests: the listener closes (or answers 503 while closing).
      let refused: number | string = 200;
      for (let waited = 0; refused === 200 && waited < 10_000; waited += 25) {
        refused = await call(running.url, "GET", "/healthz").then(
          (answer) => answer.status,
          () => "refused",
        );
        if (refused === 200) await sleep(25);
      }
      assert.ok(refused === "refused" || refused === 503, `a new request got ${refused}`);
      assert.equal(running.child.exitCode, null, "still draining");
      for (const request of inFlight) request.finish();
      const answers = await Promise.all(inFlight.map((request) => request.answer));
      for (const answer of answers) assert.equal(answer.status, 200, answer.text);
      for (const request of inFlight) request.agent.destroy();
      assert.deepEqual(await running.exited, { code: 0, signal: null }, running.output());
      // What they answered is in the database.
      const store = SqliteStore.open({ path: join(dataDir, "drover.db") });
      try {
        for (const id of ids)
          assert.equal((await store.getEntity({ machine: "payments", id }))?.version !== undefined, true);
      } finally {
        await store.close();
      }
    } finally {
      await running.stop();
      removeDir(dataDir);
    }
  });
});

async function waitForDead(
  url: string,
  token: string,
  intentId: string,
  attempts: number,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await call(url, "GET", "/v1/outbox?status=dead", { token });
    assertContract(answer, "GET /v1/outbox?status=dead");
    const row = (body(answer).items as Record<string, unknown>[]).find((item) => item.intentId === intentId);
    if (row !== undefined && Number(row.attempts) >= attempts) return row;
    assert.ok(Date.now() < deadline, `no dead letter ${intentId}: ${answer.text.slice(0, 1000)}`);
    await sleep(20);
  }
}

/** Waits until the dispatcher reported `count` dead outcomes in /metrics. */
async function waitForDeadAttempts(url: string, token: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = (await call(url, "GET", "/metrics", { token })).text;
    const dead = Number(
      /^drover_dispatcher_attempts_total\{[^}]*intent="CaptureWithProvider"[^}]*outcome="dead"\} (\d+)$/m.exec(
        text,
      )?.[1] ?? 0,
    );
    if (dead >= count) return;
    assert.ok(Date.now() < deadline, `expected ${count} dead attempts:\n${text}`);
    await sleep(20);
  }
}
