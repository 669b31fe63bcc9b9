// The OpenAPI document is precise enough for a typed client: openapi-typescript turns the
// payments service's /openapi.json into `paths` types, and a client script written against them
// with openapi-fetch compiles — except the lines marked `// @ts-expect-error`, each a mistake a
// caller could make (an unknown event type, a field of the wrong type, a missing field, an
// event only drover may send…), which must fail to compile, and fail for the reason they name.
// The same script then runs against the real server.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { App, MemoryStore, silentLogger } from "@drover/core";
import { buildServer, TokenStore } from "@drover/http";
import type { FastifyInstance } from "fastify";
import type { OpenAPI3 } from "openapi-typescript";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { PaymentStatus, payments } from "./payments.js";

/** What each marked line of the client script gets wrong, and what the compiler must say about it. */
const MISTAKES = {
  "unknown event type": /'"Fly"' is not assignable/,
  "amount as text": /'string' is not assignable to type 'number'/,
  "missing customerId": /'customerId' is missing/,
  "internal event": /'"ProviderAuthorized"' is not assignable/,
  "field the event does not have": /'reason' does not exist/,
  "unknown currency": /'"XXX"' is not assignable/,
  "no body": /Property 'body' is missing/,
  "amount is a number": /'number' is not assignable to type 'string'/,
  "authorizationId only once authorized": /Property 'authorizationId' does not exist/,
  "unknown status": /'"paid"' is not comparable/,
} as const satisfies Record<string, RegExp>;
type Mistake = keyof typeof MISTAKES;

const wrong = (mistake: Mistake) => `// @ts-expect-error ${mistake}`;
const statusUnion = Object.values(PaymentStatus)
  .map((status) => JSON.stringify(status))
  .join(" | ");
const events = '"/v1/payments/{id}/events"';

/** The client a caller writes: a function per use, and the mistakes it must not be able to make. */
const CLIENT = `import createClient from "openapi-fetch";
import type { components, paths } from "./drover-api.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

export type PaymentState = components["schemas"]["payments.State"];
assertType<Equal<PaymentState["status"], ${statusUnion}>>();

export function paymentsClient(baseUrl: string, token: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: "Bearer " + token } });
}
export type PaymentsClient = ReturnType<typeof paymentsClient>;

/** (a) Request a payment: the answer is the processed step, typed. */
export async function requestPayment(client: PaymentsClient, id: string, idempotencyKey: string) {
  const { data, error, response } = await client.POST(${events}, {
    params: { path: { id }, header: { "Idempotency-Key": idempotencyKey } },
    body: { type: "RequestPayment", amount: 125000, currency: "EUR", customerId: "cus_42" },
  });
  if (error !== undefined) throw new Error(response.status + " " + error.kind + ": " + error.title);
  assertType<Equal<typeof data.kind, "processed">>();
  assertType<Equal<typeof data.version, number>>();
  assertType<Equal<typeof data.state.status, PaymentState["status"]>>();
  const intents: string[] = data.intents.map((record) => record.intent.type);
  return { kind: data.kind, version: data.version, status: data.state.status, intents };
}

/** (b) Read the payment back: its state's fields with their types. */
export async function readPayment(client: PaymentsClient, id: string) {
  const { data, error, response } = await client.GET("/v1/payments/{id}", { params: { path: { id } } });
  if (error !== undefined) throw new Error(response.status + " " + error.kind + ": " + error.title);
  const state = data.state;
  assertType<Equal<typeof state.amount, number>>();
  assertType<Equal<typeof state.captured, number>>();
  assertType<Equal<typeof state.status, ${statusUnion}>>();
  const amount: number = state.amount;
  ${wrong("amount is a number")}
  const asText: string = state.amount;
  ${wrong("authorizationId only once authorized")}
  const unsure = state.authorizationId;
  const authorizationId = state.status === "authorized" ? state.authorizationId : null;
  assertType<Equal<typeof authorizationId, string | null>>();
  // The states are told apart by status: a switch over it is exhaustive.
  let settled: boolean;
  switch (state.status) {
    case "awaiting_verification":
    case "authorizing":
    case "authorized":
      settled = false;
      break;
    case "captured":
    case "partially_refunded":
    case "refunded":
    case "declined":
    case "cancelled":
    case "expired":
    case "failed":
      settled = true;
      break;
    ${wrong("unknown status")}
    case "paid":
      settled = true;
      break;
    default: {
      const exhaustive: never = state;
      throw new Error("unknown state " + JSON.stringify(exhaustive));
    }
  }
  return { amount, status: state.status, currency: state.currency, version: data.version, settled, unsure };
}

/** The document itself, typed as an OpenAPI document rather than an object without members. */
export async function readDocument(client: PaymentsClient) {
  const { data, error } = await client.GET("/openapi.json");
  if (error !== undefined) throw new Error("no document");
  assertType<Equal<typeof data.openapi, string>>();
  const title: string = data.info.title;
  return { openapi: data.openapi, title, paths: Object.keys(data.paths) };
}

/** Calls that must not compile; never run. */
export async function mistakes(client: PaymentsClient, id: string) {
  const params = { path: { id } };
  await client.POST(${events}, {
    params,
    ${wrong("unknown event type")}
    body: { type: "Fly" },
  });
  await client.POST(${events}, {
    params,
    ${wrong("amount as text")}
    body: { type: "RequestPayment", amount: "12", currency: "EUR", customerId: "cus_42" },
  });
  await client.POST(${events}, {
    params,
    ${wrong("missing customerId")}
    body: { type: "RequestPayment", amount: 1200, currency: "EUR" },
  });
  await client.POST(${events}, {
    params,
    ${wrong("internal event")}
    body: { type: "ProviderAuthorized", authorizationId: "auth_1" },
  });
  await client.POST(${events}, {
    params,
    ${wrong("field the event does not have")}
    body: { type: "CancelPayment", reason: "changed my mind" },
  });
  await client.POST(${events}, {
    params,
    ${wrong("unknown currency")}
    body: { type: "CapturePayment", amount: 100, currency: "XXX" },
  });
  ${wrong("no body")}
  await client.POST(${events}, { params });
}
`;

const MARKER = "// @ts-expect-error ";

let server: FastifyInstance;
let baseUrl: string;
let token: string;
let root: string;
let dir: string;
let outDir: string;
let program: ts.Program;
let compiled: readonly ts.Diagnostic[];

/** The payments package's compiler options (strict…), emitting plain JS into `outDir`. */
function compilerOptions(): ts.CompilerOptions {
  const configPath = fileURLToPath(new URL("../tsconfig.json", import.meta.url));
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic },
  );
  if (parsed === undefined) throw new Error(`cannot read ${configPath}`);
  return {
    ...parsed.options,
    composite: false,
    incremental: false,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    noEmit: false,
    rootDir: dir,
    outDir,
  };
}

function onUnRecoverableConfigFileDiagnostic(diagnostic: ts.Diagnostic): never {
  throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
}

function show(diagnostics: readonly ts.Diagnostic[]): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => dir,
    getNewLine: () => "\n",
  });
}

/** The 1-based line of a diagnostic in its file. */
function lineOf(diagnostic: ts.Diagnostic): number {
  if (diagnostic.file === undefined || diagnostic.start === undefined) return 0;
  return diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1;
}

before(async () => {
  const app = new App({ store: new MemoryStore(), machines: [payments], logger: silentLogger });
  root = mkdtempSync(join(tmpdir(), "drover-typed-client-"));
  const tokens = TokenStore.open(join(root, "tokens"));
  token = tokens.create({ scopes: ["write", "read"], name: "typed client" }).token;
  server = await buildServer({ app, tokens });
  baseUrl = await server.listen({ host: "127.0.0.1", port: 0 });

  // What a caller does: `npx openapi-typescript <url>/openapi.json -o drover-api.ts`.
  const answer = await fetch(`${baseUrl}/openapi.json`);
  assert.equal(answer.status, 200);
  const document = (await answer.json()) as OpenAPI3;
  const types = astToString(await openapiTS(document, { silent: true }));

  dir = join(root, "client");
  outDir = join(dir, "out");
  mkdirSync(outDir, { recursive: true });
  // The script imports openapi-fetch as a caller's project would: from its node_modules.
  const fetchEntry = fileURLToPath(import.meta.resolve("openapi-fetch"));
  const nodeModules = fetchEntry.slice(0, fetchEntry.lastIndexOf(`${sep}openapi-fetch${sep}`));
  symlinkSync(nodeModules, join(dir, "node_modules"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  writeFileSync(join(dir, "drover-api.ts"), types);
  writeFileSync(join(dir, "client.ts"), CLIENT);

  program = ts.createProgram([join(dir, "client.ts")], compilerOptions());
  compiled = ts.getPreEmitDiagnostics(program);
});

after(async () => {
  await server?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

describe("a client generated from /openapi.json with openapi-typescript and openapi-fetch", () => {
  it("compiles, strict, with every line marked @ts-expect-error failing", () => {
    assert.equal(compiled.length, 0, `the client does not compile:\n${show(compiled)}`);
  });

  it("refuses each marked line for the reason its mark names, and nothing else", () => {
    const source = CLIENT.split("\n");
    const marks = new Map<number, Mistake>();
    source.forEach((line, index) => {
      const at = line.indexOf(MARKER);
      if (at >= 0) marks.set(index + 2, line.slice(at + MARKER.length).trim() as Mistake);
    });
    assert.deepEqual([...marks.values()].sort(), Object.keys(MISTAKES).sort(), "one mark per mistake");

    // The same script with the marks made plain comments (same lines): the errors they hid.
    const unmarked = join(dir, "client.ts");
    writeFileSync(unmarked, CLIENT.replaceAll(MARKER, "// expected: "));
    const again = ts.createProgram([unmarked], compilerOptions(), undefined, program);
    const diagnostics = ts.getPreEmitDiagnostics(again);
    writeFileSync(unmarked, CLIENT);

    const stray = diagnostics.filter((diagnostic) => !marks.has(lineOf(diagnostic)));
    assert.deepEqual(stray, [], `errors on lines not marked:\n${show(stray)}`);
    for (const [line, mistake] of marks) {
      const messages = diagnostics
        .filter((diagnostic) => lineOf(diagnostic) === line)
        .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
      assert.ok(
        messages.some((message) => MISTAKES[mistake].test(message)),
        `line ${line} (${mistake}) should fail with ${MISTAKES[mistake]}, got:\n${messages.join("\n") || "(no error)"}`,
      );
    }
  });

  it("sends a RequestPayment and reads the payment back over HTTP", async () => {
    const emitted = program.emit();
    assert.equal(emitted.diagnostics.length, 0, show(emitted.diagnostics));
    const client = (await import(pathToFileURL(join(outDir, "client.js")).href)) as ClientModule;
    const api = client.paymentsClient(baseUrl, token);
    const id = "pay_typedClient000001";

    const processed = await client.requestPayment(api, id, "typed-client-1");
    assert.deepEqual(processed, {
      kind: "processed",
      version: 1,
      status: "authorizing",
      intents: ["AuthorizeWithProvider"],
    });

    const read = await client.readPayment(api, id);
    assert.equal(read.amount, 125_000);
    assert.equal(typeof read.amount, "number");
    assert.equal(read.status, "authorizing");
    assert.equal(read.currency, "EUR");
    assert.equal(read.version, 1);
    assert.equal(read.settled, false);
    assert.equal(read.unsure, undefined, "no authorizationId before the provider authorized");

    // The same call again is a duplicate: the stored answer, typed the same.
    assert.deepEqual(await client.requestPayment(api, id, "typed-client-1"), processed);

    const document = await client.readDocument(api);
    assert.equal(document.openapi, "3.1.0");
    assert.equal(document.title, "drover");
    assert.ok(document.paths.includes("/v1/payments/{id}/events"));
  });
});

/** What the emitted client.js exports, as this test uses it. */
interface ClientModule {
  paymentsClient(baseUrl: string, token: string): unknown;
  requestPayment(
    client: unknown,
    id: string,
    idempotencyKey: string,
  ): Promise<{ kind: string; version: number; status: string; intents: string[] }>;
  readDocument(client: unknown): Promise<{ openapi: string; title: string; paths: string[] }>;
  readPayment(
    client: unknown,
    id: string,
  ): Promise<{
    amount: number;
    status: string;
    currency: string;
    version: number;
    settled: boolean;
    unsure: unknown;
  }>;
}
