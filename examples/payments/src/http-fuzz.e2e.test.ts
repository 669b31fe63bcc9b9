// Fuzzes the payments server over real HTTP: thousands of random requests (odd JSON bodies,
// ids, headers, credentials) against one running `main.js`, 8 in flight. Every answer must keep
// the contract of every answer (no 5xx, no stack trace or server path, X-Request-Id, 4xx as
// problem+json), no request may do more than its credential allows, and nothing may be
// written but by a 200: at the end, every journal entry of a caller's event is accounted for
// by a 200 answer, one each.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import type { Answer, ServerProcess } from "./test-support/http-harness.js";
import {
  body,
  Client,
  closeRawAgent,
  contractViolations,
  paymentId,
  rawRequest,
  removeDir,
  startServer,
} from "./test-support/http-harness.js";

const RUNS = Number(process.env.DROVER_FUZZ_RUNS ?? 3_000);
const CONCURRENCY = 8;
const TIME_BUDGET_MS = 45_000;
const INTERNAL_EVENTS = new Set(["ProviderAuthorized", "ProviderDeclined", "AuthorizationExpired"]);

// ─── What a fuzzed request is ──────────────────────────────────────────────────────────

/** Which credential a request carries; `rank` is what it may do (-1 nothing, 1 read, 2 write, 3 admin). */
type Credential =
  | { kind: "none" }
  | { kind: "read" | "write" | "admin" }
  | { kind: "raw"; header: string }
  | { kind: "tokenVariant"; variant: "double" | "trailing=" | "lowercase" | "extraSpaces" | "truncated" };

type Body =
  | { kind: "none" }
  | { kind: "json"; value: unknown }
  | { kind: "raw"; text: string }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "deep"; depth: number; open: string; close: string }
  | { kind: "huge"; size: number };

type Route =
  | { kind: "events"; id: string; encoding: "encoded" | "raw" }
  | { kind: "entity"; id: string; encoding: "encoded" | "raw" }
  | { kind: "history"; id: string; encoding: "encoded" | "raw" }
  | { kind: "list"; query: string }
  | { kind: "outbox"; query: string }
  | { kind: "retry"; intentId: string }
  | { kind: "metrics" }
  | { kind: "other"; method: string; path: string };

interface FuzzRequest {
  route: Route;
  body: Body;
  credential: Credential;
  contentType: string | null;
  idempotencyKey: string | null;
  ifMatch: string | null;
  requestId: string | null;
}

/** Header values must be latin1 without control characters (what node:http sends at all). */
function headerSafe(text: string): string {
  const latin1 = Buffer.from(text, "utf8").toString("latin1");
  return [...latin1].filter((char) => char === "\t" || (char >= " " && char !== "\u007f")).join("");
}

/** Keeps `/`, `%`, `.` and printable ASCII as they are; encodes what cannot go on a request line. */
function rawSegment(id: string): string {
  return [...id]
    .map((char) => (/^[\x21-\x7e]$/.test(char) && char !== "?" && char !== "#" ? char : encodeURIComponent(char)))
    .join("");
}

function arbitraries(pool: {
  existing: string[];
  fresh: string[];
  intentIds: string[];
  keyed: [string, unknown, string][];
}) {
  const weird = fc.constantFrom(
    "..",
    ".",
    "%2F",
    "%2e%2e",
    "pay_../..",
    "pay_%2e%2e%2Fx",
    "../../etc/passwd",
    "pay_aaaaaaaaaaaaaaaa%00",
    "pay_aaaaaaaaaaaaaaaa\u0000",
    "pay_𝔘𝔫𝔦𝔠𝔬𝔡𝔢aaaaaaaaaa",
    "pay_ааааааааааааааааа", // Cyrillic a
    "pay_aaaaaaaaaaaaaaa\u200b",
    "",
    " ",
    `pay_${"a".repeat(32)}`,
    `pay_${"a".repeat(33)}`,
    `pay_${"a".repeat(15)}`,
    "__proto__",
    "constructor",
    "outbox",
    "pay_aaaaaaaaaaaaaaaa?x=1",
    "pay_aaaaaaaaaaaaaaaa#frag",
    "%",
    "%%",
    "%E0%A4%A",
  );
  const id = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...pool.existing) },
    { weight: 3, arbitrary: fc.constantFrom(...pool.fresh) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
    { weight: 2, arbitrary: weird },
    { weight: 1, arbitrary: fc.string({ minLength: 60, maxLength: 300 }) },
  );
  const encoding = fc.constantFrom<"encoded" | "raw">("encoded", "encoded", "encoded", "raw");

  const amount = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 1, max: 2_000_000 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<unknown>(0, -1, -0, 1.5, 2 ** 53, 2 ** 53 - 1, 1e21, 1e308, "100", null, true, [], {}),
    },
    { weight: 1, arbitrary: fc.double() },
  );
  const currency = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom<unknown>("EUR", "EUR", "USD", "JPY", "KWD") },
    { weight: 2, arbitrary: fc.constantFrom<unknown>("eur", "XXX", "", 978, null, "EURO") },
  );
  const customerId = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom<unknown>("cus_42", "cus_7", "cus_decline_fuzz") },
    { weight: 1, arbitrary: fc.constantFrom<unknown>("cus_", "cus_ü", 42, "cus_decline", `cus_${"x".repeat(65)}`) },
    { weight: 1, arbitrary: fc.string({ maxLength: 70 }).map((s) => `cus_${s}`) },
  );
  const event = fc.oneof(
    { weight: 3, arbitrary: fc.record({ type: fc.constant("RequestPayment"), amount, currency, customerId }) },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant("VerifyPayment"),
        verifiedBy: fc.oneof(fc.constant("ops_7"), fc.string()),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record(
        { type: fc.constant("CapturePayment"), amount, currency },
        { requiredKeys: ["type", "amount"] },
      ),
    },
    {
      weight: 2,
      arbitrary: fc.record(
        { type: fc.constant("RefundPayment"), amount, currency },
        { requiredKeys: ["type", "amount"] },
      ),
    },
    { weight: 1, arbitrary: fc.constant({ type: "CancelPayment" }) },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constantFrom(...INTERNAL_EVENTS),
        authorizationId: fc.string(),
        reason: fc.string(),
      }),
    },
  );
  const withExtra = fc
    .tuple(event, fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }))
    .map(([e, extra]) => ({ ...extra, ...e }));
  const oddRaw = fc.constantFrom(
    "",
    "{",
    "null",
    "[]",
    '"x"',
    "NaN",
    "Infinity",
    "[1,2",
    "{}",
    '{"__proto__":{"isAdmin":true},"type":"CancelPayment"}',
    '{"constructor":{"prototype":{"x":1}},"type":"CancelPayment"}',
    '\uFEFF{"type":"CancelPayment"}',
    '{"type":"CancelPayment","type":"RequestPayment"}',
    '{"type":"CapturePayment","amount":1e400}',
    '{"type":"CapturePayment","amount":-1e-400}',
    '{"type":"CapturePayment","amount":"\\ud800"}',
    '{"type":"\\u0000"}',
    '{"type":"CancelPayment"}\u0000',
    '{"type":"CancelPayment"} {"type":"CancelPayment"}',
    "\ud800",
    '{"type":"RequestPayment","amount":100,"currency":"EUR","customerId":"cus_\\u0000"}',
    '{"type":"RequestPayment","amount":100000000000000000000000,"currency":"EUR","customerId":"cus_1"}',
  );
  const requestBody: fc.Arbitrary<Body> = fc.oneof(
    { weight: 14, arbitrary: event.map((value) => ({ kind: "json" as const, value })) },
    { weight: 2, arbitrary: withExtra.map((value) => ({ kind: "json" as const, value })) },
    {
      weight: 2,
      arbitrary: fc.jsonValue({ maxDepth: 6, stringUnit: "binary" }).map((value) => ({ kind: "json" as const, value })),
    },
    { weight: 2, arbitrary: oddRaw.map((text) => ({ kind: "raw" as const, text })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ kind: "bytes" as const, bytes })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.integer({ min: 100, max: 30_000 }),
          fc.constantFrom<[string, string]>(["[", "]"], ['{"a":', "}"], ['{"type":"CapturePayment","amount":[', "]}"]),
        )
        .map(([depth, [open, close]]) => ({ kind: "deep" as const, depth, open, close })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(1_000, 60_000, 65_000, 65_536, 65_537, 66_000, 70_000)
        .map((size) => ({ kind: "huge" as const, size })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
  );

  const query = fc.oneof(
    fc.constantFrom("", "limit=1", "limit=100", "limit=0", "limit=101", "limit=-5", "limit=abc", "limit=1&limit=2"),
    fc.constantFrom("cursor=", "cursor=!!", "cursor=cGF5Xw", "cursor=%FF", "status=dead", "status=pending", "x=1"),
    fc.string({ maxLength: 60 }).map((s) => encodeURIComponent(s)),
    fc
      .tuple(fc.integer({ min: -3, max: 200 }), fc.string({ maxLength: 40 }))
      .map(([limit, cursor]) => `limit=${limit}&cursor=${encodeURIComponent(cursor)}`),
  );
  const route: fc.Arbitrary<Route> = fc.oneof(
    { weight: 14, arbitrary: fc.record({ kind: fc.constant("events" as const), id, encoding }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("entity" as const), id, encoding }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("history" as const), id, encoding }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("list" as const), query }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("outbox" as const), query }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("retry" as const),
        intentId: fc.oneof(fc.constantFrom(...pool.intentIds), fc.string({ maxLength: 80 })),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "metrics" as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("other" as const),
        method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"),
        path: fc.oneof(
          fc.constantFrom(
            "/",
            "/v1",
            "/v1/",
            "/v1/payments/",
            "/v1//events",
            "/v1/payments//events",
            "/v1/outbox/",
            "/v1/outbox//retry",
            "/healthz",
            "/openapi.json",
            "/metrics",
            "/v1/payments/pay_aaaaaaaaaaaaaaaa/events/",
            "/V1/PAYMENTS",
            "/v1/payments;x=1",
            "//v1/payments",
            "/v1/./payments",
            "/v1/../v1/payments",
            "*",
          ),
          fc
            .array(fc.string({ maxLength: 12 }), { maxLength: 6 })
            .map((segments) => `/${segments.map((s) => encodeURIComponent(s)).join("/")}`),
        ),
      }),
    },
  );

  const credential: fc.Arbitrary<Credential> = fc.oneof(
    { weight: 10, arbitrary: fc.constant({ kind: "write" as const }) },
    { weight: 3, arbitrary: fc.constant({ kind: "admin" as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: "read" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("tokenVariant" as const),
        variant: fc.constantFrom("double", "trailing=", "lowercase", "extraSpaces", "truncated"),
      }) as fc.Arbitrary<Credential>,
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            "",
            "Bearer",
            "Bearer ",
            "Basic dXNlcjpwYXNz",
            "Bearer drv_",
            "Bearer drv_notAToken",
            `Bearer ${"a".repeat(4000)}`,
            "Bearer =",
            "Bearer a=b",
            "Digest x",
          ),
          fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
          fc.string({ unit: "binary", maxLength: 40 }),
        )
        .map((header) => ({ kind: "raw" as const, header: headerSafe(header) })),
    },
  );
  const contentType = fc.oneof(
    { weight: 12, arbitrary: fc.constant("application/json") },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "application/problem+json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin1",
        "application/json;;",
        "",
        "*/*",
        "application/octet-stream",
      ),
    },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map(headerSafe) },
  );
  const idempotencyKey = fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    { weight: 3, arbitrary: fc.constantFrom("fuzz-key-1", "fuzz-key-2", "fuzz-key-3") },
    { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map(headerSafe) },
    { weight: 1, arbitrary: fc.constantFrom("", " ", "a b", "x".repeat(255), "x".repeat(256), "ünï", "k\t1") },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }).map(headerSafe) },
  );
  const ifMatch = fc.oneof(
    { weight: 8, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 6 }).map((v) => `"${v}"`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "*",
        'W/"1"',
        '"01"',
        '""',
        '"99999999999999999"',
        '"1", "2"',
        "1",
        '"-1"',
        '"9007199254740993"',
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map(headerSafe) },
  );
  const requestId = fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 140 }).map(headerSafe), fc.constant("trace-1.a:b_c")) },
  );

  // Requests with an Idempotency-Key that come back again and again, alone and concurrently.
  const keyed = fc
    .tuple(
      fc.constantFrom(...pool.keyed),
      credential,
      fc.oneof(
        { weight: 4, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom('"0"', '"1"', '"2"') },
      ),
    )
    .map(
      ([[id, event, key], credentialOf, ifMatchOf]): FuzzRequest => ({
        route: { kind: "events", id, encoding: "encoded" },
        body: { kind: "json", value: event },
        credential: credentialOf,
        contentType: "application/json",
        idempotencyKey: key,
        ifMatch: ifMatchOf,
        requestId: null,
      }),
    );
  const random = fc.record({
    route,
    body: requestBody,
    credential,
    contentType,
    idempotencyKey,
    ifMatch,
    requestId,
  }) as fc.Arbitrary<FuzzRequest>;
  // Well-formed events from a valid writer, so that the domain is reached often and writes
  // happen between (and concurrently with) the refused requests.
  const smallAmount = fc.oneof(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom(1, 5_000, 20_000));
  const plausibleEvent = fc.oneof(
    fc.record({
      type: fc.constant("RequestPayment"),
      amount: smallAmount,
      currency: fc.constant("EUR"),
      customerId: fc.constant("cus_42"),
    }),
    fc.record({
      type: fc.constant("RequestPayment"),
      amount: fc.oneof(smallAmount, fc.constant(5_000_000)),
      currency: fc.constantFrom("EUR", "USD", "JPY"),
      customerId: fc.constantFrom("cus_42", "cus_decline_fuzz"),
    }),
    fc.record({ type: fc.constant("CapturePayment"), amount: smallAmount }),
    fc.record({ type: fc.constant("RefundPayment"), amount: smallAmount }),
    fc.record({ type: fc.constant("VerifyPayment"), verifiedBy: fc.constant("ops_fuzz") }),
    fc.constant({ type: "CancelPayment" }),
  );
  const plausible = fc
    .record({
      id: fc.oneof(fc.constantFrom(...pool.fresh), fc.constantFrom(...pool.existing)),
      event: plausibleEvent,
      admin: fc.boolean(),
      key: fc.oneof(
        { weight: 2, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom("a", "b", "c", "-") }) },
      ),
      ifMatch: fc.oneof(
        { weight: 5, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }).map((v) => `"${v}"`) },
      ),
    })
    .map(
      ({ id, event, admin, key, ifMatch: tag }): FuzzRequest => ({
        route: { kind: "events", id, encoding: "encoded" },
        body: { kind: "json", value: event },
        credential: { kind: admin ? "admin" : "write" },
        contentType: "application/json",
        idempotencyKey: key === null ? null : `p-${key}`,
        ifMatch: tag,
        requestId: null,
      }),
    );
  return fc.oneof(
    { weight: 8, arbitrary: random },
    { weight: 1, arbitrary: keyed },
    { weight: 3, arbitrary: plausible },
  );
}

// ─── Sending one ───────────────────────────────────────────────────────────────────────

const routeScope: Record<Route["kind"], number> = {
  events: 2,
  entity: 1,
  history: 1,
  list: 1,
  outbox: 3,
  retry: 3,
  metrics: 1,
  other: 0,
};

function methodAndPath(route: Route): { method: string; path: string } {
  const segment = (id: string, encoding: "encoded" | "raw") =>
    encoding === "encoded" ? encodeURIComponent(id) : rawSegment(id);
  switch (route.kind) {
    case "events":
      return { method: "POST", path: `/v1/payments/${segment(route.id, route.encoding)}/events` };
    case "entity":
      return { method: "GET", path: `/v1/payments/${segment(route.id, route.encoding)}` };
    case "history":
      return { method: "GET", path: `/v1/payments/${segment(route.id, route.encoding)}/history` };
    case "list":
      return { method: "GET", path: `/v1/payments${route.query === "" ? "" : `?${route.query}`}` };
    case "outbox":
      return { method: "GET", path: `/v1/outbox${route.query === "" ? "" : `?${route.query}`}` };
    case "retry":
      return { method: "POST", path: `/v1/outbox/${encodeURIComponent(route.intentId)}/retry` };
    case "metrics":
      return { method: "GET", path: "/metrics" };
    case "other":
      return { method: route.method, path: route.path };
    default: {
      const exhaustive: never = route;
      return exhaustive;
    }
  }
}

function bodyBytes(requestBody: Body): Buffer | undefined {
  switch (requestBody.kind) {
    case "none":
      return undefined;
    case "json":
      return Buffer.from(JSON.stringify(requestBody.value) ?? "null", "utf8");
    case "raw":
      return Buffer.from(requestBody.text, "utf8");
    case "bytes":
      return Buffer.from(requestBody.bytes);
    case "deep":
      return Buffer.from(requestBody.open.repeat(requestBody.depth) + requestBody.close.repeat(requestBody.depth));
    case "huge": {
      const head = '{"type":"CapturePayment","amount":1,"pad":"';
      const tail = '"}';
      return Buffer.from(head + "x".repeat(Math.max(0, requestBody.size - head.length - tail.length)) + tail);
    }
    default: {
      const exhaustive: never = requestBody;
      return exhaustive;
    }
  }
}

interface Sent {
  readonly request: FuzzRequest;
  readonly method: string;
  readonly path: string;
  readonly rank: number;
  readonly answer?: Answer;
  readonly error?: string;
  readonly bytes: number;
}

// ─── The test ──────────────────────────────────────────────────────────────────────────

let server: ServerProcess;

before(async () => {
  server = await startServer({ latencyMs: 1 });
});

after(async () => {
  const status = await server.stop();
  closeRawAgent();
  assert.deepEqual(status, { code: 0, signal: null }, server.output().slice(-5000));
  removeDir(server.dataDir);
});

describe("fuzzing the payments server over HTTP", () => {
  it(`answers ${RUNS} random requests within the contract and writes only what it answered 200 to`, {
    timeout: 120_000,
  }, async (t) => {
    const seed = Number(process.env.DROVER_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    t.diagnostic(`fuzz seed ${seed} (rerun with DROVER_FUZZ_SEED=${seed})`);
    const admin = new Client(server.url, server.tokens.admin);
    const tokens = server.tokens;

    // Payments in several states, and ids that are free to be created.
    // `<id>#<version>` of every 200 processed answer: whether its original came (with the key it
    // carried), and how many replays. Replays may arrive before their original does.
    const processed = new Map<string, { original: boolean; eventId: string | null; replays: number }>();
    const recordProblems: string[] = [];
    let originals = 0;
    const record = (answer: Answer, key: string | null) => {
      const result = body(answer);
      const name = `${String(result.id)}#${String(result.version)}`;
      const replayed = answer.headers["idempotent-replayed"] === "true";
      const seen = processed.get(name) ?? { original: false, eventId: null, replays: 0 };
      if (replayed) {
        processed.set(name, { ...seen, replays: seen.replays + 1 });
        return;
      }
      if (seen.original) recordProblems.push(`two original 200 answers for ${name}`);
      processed.set(name, { ...seen, original: true, eventId: key });
      originals++;
    };
    const existing: string[] = [];
    const setups: [number, string, string][] = [
      [20_000, "EUR", "cus_42"],
      [20_000, "EUR", "cus_42"],
      [50_000, "USD", "cus_42"],
      [1_000, "JPY", "cus_42"],
      [5_000_000, "EUR", "cus_big"],
      [5_000_000, "EUR", "cus_big"],
      [700, "EUR", "cus_decline_setup"],
    ];
    for (const [amount, currency, customerId] of setups) {
      const id = paymentId();
      const answer = await rawRequest(
        server.url,
        "POST",
        `/v1/payments/${id}/events`,
        { authorization: `Bearer ${tokens.write}`, "content-type": "application/json" },
        JSON.stringify({ type: "RequestPayment", amount, currency, customerId }),
      );
      assert.equal(answer.status, 200, answer.text);
      record(answer, null);
      existing.push(id);
    }
    for (const id of existing.slice(0, 4)) await admin.waitForStatus(id, ["authorized"]);
    const captured = await rawRequest(
      server.url,
      "POST",
      `/v1/payments/${existing[0]}/events`,
      { authorization: `Bearer ${tokens.write}`, "content-type": "application/json" },
      JSON.stringify({ type: "CapturePayment", amount: 15_000 }),
    );
    assert.equal(captured.status, 200, captured.text);
    record(captured, null);
    const fresh = Array.from({ length: 150 }, () => paymentId());
    const intentIds = existing.flatMap((id) => [`payments/${id}/1/0`, `payments/${id}/2/0`]);
    const keyed: [string, unknown, string][] = [
      ...fresh
        .slice(0, 6)
        .map((id, i): [string, unknown, string] => [
          id,
          { type: "RequestPayment", amount: 1_000 + i, currency: "EUR", customerId: "cus_42" },
          `fuzz-create-${i}`,
        ]),
      [existing[1] as string, { type: "CapturePayment", amount: 10_000 }, "fuzz-capture-1"],
      [existing[2] as string, { type: "CapturePayment", amount: 60_000 }, "fuzz-capture-too-much"],
      [existing[2] as string, { type: "CancelPayment" }, "fuzz-cancel-2"],
      [existing[4] as string, { type: "VerifyPayment", verifiedBy: "ops_fuzz" }, "fuzz-verify-4"],
      [existing[0] as string, { type: "RefundPayment", amount: 1_000 }, "fuzz-refund-0"],
    ];

    const requests = fc.sample(arbitraries({ existing, fresh, intentIds, keyed }), { numRuns: RUNS, seed });

    // Send them, 8 at a time.
    const sent: Sent[] = [];
    const started = Date.now();
    let next = 0;
    const secrets = [server.dataDir, tokens.admin, tokens.write, tokens.read];
    const worker = async () => {
      while (next < requests.length && Date.now() - started < TIME_BUDGET_MS) {
        const request = requests[next++] as FuzzRequest;
        const { method, path } = methodAndPath(request.route);
        const headers: Record<string, string> = {};
        const credential = request.credential;
        let rank = -1;
        switch (credential.kind) {
          case "none":
            break;
          case "read":
          case "write":
          case "admin":
            headers.authorization = `Bearer ${tokens[credential.kind]}`;
            rank = { read: 1, write: 2, admin: 3 }[credential.kind];
            break;
          case "raw":
            headers.authorization = credential.header;
            break;
          case "tokenVariant": {
            const token = tokens.write;
            const variant = {
              double: `Bearer ${token} ${token}`,
              "trailing=": `Bearer ${token}=`,
              lowercase: `bearer ${token}`,
              extraSpaces: `Bearer    ${token}  `,
              truncated: `Bearer ${token.slice(0, -1)}`,
            }[credential.variant];
            headers.authorization = variant;
            // The scheme is case-insensitive and spaces around are allowed: those still are the write token.
            if (credential.variant === "lowercase" || credential.variant === "extraSpaces") rank = 2;
            break;
          }
          default: {
            const exhaustive: never = credential;
            throw new Error(String(exhaustive));
          }
        }
        if (request.contentType !== null) headers["content-type"] = request.contentType;
        if (request.idempotencyKey !== null) headers["idempotency-key"] = request.idempotencyKey;
        if (request.ifMatch !== null) headers["if-match"] = request.ifMatch;
        if (request.requestId !== null) headers["x-request-id"] = request.requestId;
        for (const [name, value] of Object.entries(headers)) {
          try {
            http.validateHeaderValue(name, value);
          } catch {
            delete headers[name];
          }
        }
        const payload = bodyBytes(request.body);
        try {
          const answer = await rawRequest(server.url, method, path, headers, payload, 20_000);
          sent.push({ request, method, path, rank, answer, bytes: payload?.length ?? 0 });
          if (
            request.route.kind === "events" &&
            answer.status === 200 &&
            typeof answer.json === "object" &&
            (answer.json as { kind?: unknown } | null)?.kind === "processed"
          ) {
            // HTTP drops spaces and tabs around a header value (RFC 9110 §5.5): the server sees the key trimmed.
            const sentKey = headers["idempotency-key"]?.replace(/^[ \t]+|[ \t]+$/g, "");
            record(answer, request.idempotencyKey === null ? null : (sentKey ?? null));
          }
        } catch (error) {
          sent.push({ request, method, path, rank, error: String(error), bytes: payload?.length ?? 0 });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = Date.now() - started;

    // ── Every answer.
    const knownBugs = new Map<string, number>();
    const violations: string[] = [];
    const statuses = new Map<number, number>();
    const describeRequest = (s: Sent) =>
      `${s.method} ${s.path.length > 200 ? `${s.path.slice(0, 200)}…` : s.path} ${JSON.stringify({ ...s.request, body: s.request.body.kind === "json" ? s.request.body : s.request.body.kind }).slice(0, 600)}`;
    for (const s of sent) {
      if (s.answer === undefined) {
        // A body over the limit may be cut off by the server's 413 before it is all sent.
        if (s.bytes > 64 * 1024 && /EPIPE|ECONNRESET|socket hang up/.test(s.error ?? "")) continue;
        violations.push(`no answer (${s.error}) to ${describeRequest(s)}`);
        continue;
      }
      const answer = s.answer;
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const known =
        answer.status === 414 && answer.text.includes("FST_ERR_MAX_PARAM_LENGTH")
          ? "414 FST_ERR_MAX_PARAM_LENGTH (id over 100 characters)"
          : answer.status === 400 && answer.text.includes("FST_ERR_BAD_URL")
            ? "400 FST_ERR_BAD_URL (broken percent-encoding)"
            : answer.status === 431
              ? "431 from Node's HTTP parser"
              : undefined;
      if (known !== undefined) {
        knownBugs.set(known, (knownBugs.get(known) ?? 0) + 1);
        continue;
      }
      const problems =
        s.method === "HEAD"
          ? contractViolations({ ...answer, text: "", json: undefined }, secrets).filter(
              (p) =>
                !p.startsWith("problem member") && !p.startsWith("the error body") && !p.startsWith("problem status"),
            )
          : contractViolations(answer, secrets);
      // A request that gets past authentication must have had a credential strong enough.
      // A path that matches no route (an empty id, a raw id with a slash) needs only some valid
      // token, and then may fail however it fails (404, or 415/413 when the body is read first).
      const route = s.request.route;
      const matches = !("id" in route) || (route.id !== "" && !(route.encoding === "raw" && route.id.includes("/")));
      const kind: Route["kind"] = s.request.route.kind;
      const needs = matches ? routeScope[kind] : kind === "other" ? 0 : 1;
      if (needs > 0 && answer.status < 400 && s.rank < needs) {
        problems.push(`answered ${answer.status} to a credential of rank ${s.rank} on a route that needs ${needs}`);
      }
      if (needs > 0 && s.rank < 0 && answer.status !== 401) problems.push(`no valid token but ${answer.status}`);
      if (matches && needs > 0 && s.rank > 0 && s.rank < needs && answer.status !== 403) {
        problems.push(`insufficient scope but ${answer.status}`);
      }
      if (answer.status === 200 && s.request.route.kind === "events" && body(answer).kind !== "processed") {
        problems.push("a 200 to an event that is not processed");
      }
      if (problems.length > 0)
        violations.push(
          `${problems.join("; ")} — ${answer.status} ${answer.text.slice(0, 300)} — ${describeRequest(s)}`,
        );
    }

    t.diagnostic(
      `${sent.length} requests in ${elapsed} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}; ` +
        `${originals} events applied, ${[...processed.values()].reduce((n, p) => n + p.replays, 0)} replays`,
    );
    for (const [bug, count] of knownBugs) t.diagnostic(`known server bug, seen ${count}×: ${bug}`);
    assert.ok(sent.length >= Math.min(RUNS, 2_000), `only ${sent.length} requests within the time budget`);
    assert.deepEqual(violations.slice(0, 20), [], `${violations.length} violations`);
    assert.deepEqual(recordProblems, []);
    for (const [name, seen] of processed) assert.ok(seen.original, `${name}: replays but no original answer`);
    assert.ok((statuses.get(200) ?? 0) > 50, "the fuzz reached the domain");

    // ── Nothing written but what was answered 200: let the dispatcher settle, then compare
    // the journals of every payment with the 200 answers.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const pending = await rawRequest(server.url, "GET", "/v1/outbox?status=pending&limit=1", {
        authorization: `Bearer ${tokens.admin}`,
      });
      if ((body(pending).items as unknown[]).length === 0) break;
      assert.ok(Date.now() < deadline, "the outbox did not drain");
      await sleep(25);
    }
    const entities = await admin.listAll(100);
    const unaccounted: string[] = [];
    let journaled = 0;
    for (const entity of entities) {
      const history = await admin.history(entity.id);
      assert.equal(history.at(-1)?.version, entity.version, `${entity.id}: history ends at the entity's version`);
      for (const [index, entry] of history.entries()) {
        assert.equal(entry.version, index + 1, `${entity.id}: versions 1, 2, 3…`);
      }
      for (const entry of history) {
        if (INTERNAL_EVENTS.has(entry.event.type)) continue;
        journaled++;
        const seen = processed.get(`${entity.id}#${entry.version}`);
        if (seen === undefined) {
          unaccounted.push(`${entity.id} v${entry.version} ${JSON.stringify(entry.event)} (event id ${entry.eventId})`);
        } else if (seen.eventId !== null) {
          assert.equal(
            entry.eventId,
            seen.eventId,
            `${entity.id} v${entry.version}: the Idempotency-Key is the event id`,
          );
        }
      }
    }
    assert.deepEqual(unaccounted, [], "journal entries no 200 answered for");
    assert.equal(journaled, originals, "one journal entry per original 200, no more, no less");
    const ids = new Set(entities.map((entity) => entity.id));
    for (const name of processed.keys()) assert.ok(ids.has(name.split("#")[0] as string), `${name} is listed`);
  });

  it("answers no request with a bare Fastify/Node error (414, FST_ERR_BAD_URL, 431)", async () => {
    const long = await rawRequest(server.url, "GET", `/v1/payments/${"a".repeat(150)}`, {
      authorization: `Bearer ${server.tokens.read}`,
    });
    assert.deepEqual(contractViolations(long), []);
    const bad = await rawRequest(server.url, "GET", "/v1/payments/%E0%A4%A", {
      authorization: `Bearer ${server.tokens.read}`,
    });
    assert.deepEqual(contractViolations(bad), []);
  });
});
