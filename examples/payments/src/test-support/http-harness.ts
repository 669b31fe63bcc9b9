// Shared helpers of the black-box HTTP tests (http.e2e.test.ts, http-fuzz.e2e.test.ts): run the
// real payments server (`node examples/payments/dist/main.js`, what `npm start` runs) as a child
// process on a free port with a temporary data directory, hold its tokens, and talk to it over
// real HTTP — `fetch` for ordinary calls, `node:http` for raw paths and headers that `fetch`
// would normalise or refuse. Not a test file itself.

import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { TokenStore } from "@drover/http";
import { serverEnv } from "./server-env.js";

/** The entry point `npm start` runs. */
export const MAIN = fileURLToPath(new URL("../main.js", import.meta.url));

const LISTENING = /drover payments listening on (http:\/\/\S+)/;
const ADMIN_TOKEN = /admin token \(shown once[^)]*\): (drv_[A-Za-z0-9_-]+)/;
const START_DEADLINE_MS = 15_000;
const STOP_DEADLINE_MS = 20_000;

// ─── Temporary directories ─────────────────────────────────────────────────────────────

const dirs = new Set<string>();

/** A fresh temporary data directory, removed by {@link removeDir} or at process exit. */
export function makeDataDir(prefix = "drover-http-e2e-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

// ─── Tokens ────────────────────────────────────────────────────────────────────────────

/** Mints a token with `scopes` into `<dataDir>/tokens.json`, the way `drover token create` does. */
export function mintToken(dataDir: string, scopes: readonly string[], name?: string): string {
  return TokenStore.open(dataDir).create({ scopes, ...(name === undefined ? {} : { name }) }).token;
}

export interface Tokens {
  readonly read: string;
  readonly write: string;
  readonly admin: string;
}

// ─── The server process ────────────────────────────────────────────────────────────────

export interface StartOptions {
  /** Reuse this data directory (a second start); default a new temporary one. */
  readonly dataDir?: string;
  /** Extra environment, e.g. `DROVER_ADMIN_TOKEN`; `undefined` values unset a variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `PAYMENTS_PROVIDER_LATENCY_MS`, default 1. */
  readonly latencyMs?: number;
  /** `PAYMENTS_PROVIDER_FAILURE_RATE`, default 0. */
  readonly failureRate?: number;
  /**
   * Mint read and write tokens (and an admin one if the server printed none and
   * `DROVER_ADMIN_TOKEN` is not set) into the data directory once the server is up. The server
   * re-reads tokens.json when it changes, like it does for `drover token create`. Default true.
   */
  readonly mint?: boolean;
  /** `DROVER_LOG_LEVEL`, default "warn" (request logs cost CPU and fill pipes). */
  readonly logLevel?: string;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** One running `main.js`. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly dataDir: string;
  readonly url: string;
  /** The admin token the server printed on this start, if it printed one. */
  readonly printedToken: string | undefined;
  /** Tokens to call it with (undefined until minted: see {@link StartOptions.mint}). */
  tokens: Tokens;
  readonly exited: Promise<ExitStatus>;
  readonly #output: { text: string };

  constructor(init: {
    child: ChildProcess;
    dataDir: string;
    url: string;
    printedToken: string | undefined;
    tokens: Tokens;
    exited: Promise<ExitStatus>;
    output: { text: string };
  }) {
    this.child = init.child;
    this.dataDir = init.dataDir;
    this.url = init.url;
    this.printedToken = init.printedToken;
    this.tokens = init.tokens;
    this.exited = init.exited;
    this.#output = init.output;
  }

  /** Everything it wrote to stdout and stderr so far. */
  output(): string {
    return this.#output.text;
  }

  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after a deadline. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<ExitStatus> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_DEADLINE_MS);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Starts the payments server on `127.0.0.1:0` and resolves once it printed its address (and
 * its admin token, if it prints one). Rejects with the server's output if it exits first.
 */
export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? makeDataDir();
  const env = serverEnv({
    DROVER_PORT: "0",
    DROVER_HOST: "127.0.0.1",
    DROVER_DATA_DIR: dataDir,
    DROVER_LOG_LEVEL: options.logLevel ?? "warn",
    PAYMENTS_PROVIDER_LATENCY_MS: String(options.latencyMs ?? 1),
    PAYMENTS_PROVIDER_FAILURE_RATE: String(options.failureRate ?? 0),
    ...options.env,
  });
  const child = spawn(process.execPath, [MAIN], { env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  const output = { text: "" };
  const exited = new Promise<ExitStatus>((resolve) => {
    child.on("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  const append = (chunk: Buffer) => {
    output.text += chunk.toString("utf8");
    // Keep memory bounded if a test runs with request logs on.
    if (output.text.length > 4_000_000) output.text = output.text.slice(-2_000_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);

  const deadline = Date.now() + START_DEADLINE_MS;
  let url: string | undefined;
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  while (url === undefined) {
    url = LISTENING.exec(output.text)?.[1];
    if (url !== undefined) break;
    if (exitedEarly) throw new Error(`the server exited before listening:\n${output.text}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the server did not print its address within ${START_DEADLINE_MS} ms:\n${output.text}`);
    }
    await sleep(10);
  }
  // The token line follows the address line at once; give the pipe a moment to deliver it.
  let printedToken = ADMIN_TOKEN.exec(output.text)?.[1];
  for (let waited = 0; printedToken === undefined && waited < 200; waited += 10) {
    await sleep(10);
    printedToken = ADMIN_TOKEN.exec(output.text)?.[1];
  }

  let tokens: Tokens = { read: "", write: "", admin: printedToken ?? options.env?.DROVER_ADMIN_TOKEN ?? "" };
  if (options.mint ?? true) {
    tokens = {
      read: mintToken(dataDir, ["read"], "e2e read"),
      write: mintToken(dataDir, ["write"], "e2e write"),
      admin: tokens.admin === "" ? mintToken(dataDir, ["admin"], "e2e admin") : tokens.admin,
    };
  }
  return new ServerProcess({ child, dataDir, url, printedToken, tokens, exited, output });
}

// ─── Talking to it ─────────────────────────────────────────────────────────────────────

/** An HTTP answer, read completely. Header names are lower case. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** The body parsed as JSON; `undefined` if it is not JSON. */
  readonly json: unknown;
}

export interface CallOptions {
  readonly token?: string | undefined;
  /** A JSON value to send (serialised, with `Content-Type: application/json`). */
  readonly json?: unknown;
  /** A raw body to send as is (set Content-Type yourself in `headers`). */
  readonly body?: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A call with `fetch`. */
export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] = "application/json";
  }
  Object.assign(headers, options.headers ?? {});
  const response = await fetch(new URL(path, base), {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const text = await response.text();
  const answerHeaders: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    answerHeaders[key.toLowerCase()] = value;
  });
  return { status: response.status, headers: answerHeaders, text, json: parseJson(text) };
}

const rawAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * A call with `node:http`: `path` goes on the request line exactly as given (no `..`
 * resolution, no re-encoding), headers exactly as given (arrays send the header twice).
 */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Readonly<Record<string, string | readonly string[]>> = {},
  body?: string | Buffer,
  timeoutMs = 15_000,
): Promise<Answer> {
  const url = new URL(base);
  // Always frame a body: node:http would send a GET's body unframed (no Content-Length, no
  // chunking), and the server would read it as the next request on the connection.
  const framed =
    body === undefined || Object.keys(headers).some((name) => name.toLowerCase() === "content-length")
      ? headers
      : { ...headers, "content-length": String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: framed as http.OutgoingHttpHeaders,
        agent: rawAgent,
        timeout: timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const answerHeaders: Record<string, string> = {};
          for (const [key, value] of Object.entries(response.headers)) {
            if (value !== undefined) answerHeaders[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
          }
          resolve({ status: response.statusCode ?? 0, headers: answerHeaders, text, json: parseJson(text) });
        });
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer to ${method} ${path} within ${timeoutMs} ms`)));
    request.on("error", reject);
    request.end(body);
  });
}

/** Closes the keep-alive sockets of {@link rawRequest} (so the test process can exit). */
export function closeRawAgent(): void {
  rawAgent.destroy();
}

// ─── What every answer must look like ──────────────────────────────────────────────────

// A V8 stack frame ("    at fn (file:line:col)"), a source position, or a path of this machine.
const STACK_FRAME = /\n\s*at\s+\S|\bat\s+\S+\s+\((?:file:|\/|node:)[^)]*:\d+:\d+\)/;
const INTERNALS = [/\/work\//, /node_modules/, /file:\/\//, /\.(?:ts|js):\d+:\d+/, /\bErrorCaptureStackTrace\b/];

/**
 * What the contract says of every answer: an `X-Request-Id`, never a 5xx, and every error an
 * RFC 9457 problem (`application/problem+json` with `type`, `title`, `status`, `detail`,
 * `kind`) with no stack trace or server path in it. Returns the violations (empty: fine).
 * `secrets` are strings that must not appear in the body (the data directory, tokens).
 */
export function contractViolations(answer: Answer, secrets: readonly string[] = []): string[] {
  const problems: string[] = [];
  if (!answer.headers["x-request-id"]) problems.push("no X-Request-Id header");
  if (answer.status >= 500) problems.push(`status ${answer.status}`);
  if (STACK_FRAME.test(answer.text)) problems.push("a stack trace in the body");
  for (const pattern of INTERNALS) if (pattern.test(answer.text)) problems.push(`the body matches ${pattern}`);
  for (const secret of secrets)
    if (secret !== "" && answer.text.includes(secret)) problems.push("a secret in the body");
  if (answer.status >= 400) {
    const type = answer.headers["content-type"] ?? "";
    if (!type.startsWith("application/problem+json")) problems.push(`error content type ${JSON.stringify(type)}`);
    const body = answer.json as Record<string, unknown> | undefined;
    if (body === undefined || body === null || typeof body !== "object") {
      problems.push("the error body is not a JSON object");
    } else {
      for (const member of ["type", "title", "detail", "kind"]) {
        if (typeof body[member] !== "string") problems.push(`problem member ${member} missing`);
      }
      if (body.status !== answer.status) problems.push(`problem status ${String(body.status)} ≠ ${answer.status}`);
      if ("stack" in body) problems.push("problem has a stack member");
    }
  }
  return problems;
}

/** Asserts {@link contractViolations} finds nothing. */
export function assertContract(answer: Answer, what: string, secrets: readonly string[] = []): void {
  const problems = contractViolations(answer, secrets);
  assert.deepEqual(problems, [], `${what}: ${problems.join("; ")}\n${answer.status} ${answer.text.slice(0, 2000)}`);
}

// ─── Payments helpers ──────────────────────────────────────────────────────────────────

/** A fresh, valid payment id (`pay_` + 16–32 url-safe characters). */
export function paymentId(): string {
  return `pay_${randomBytes(15).toString("base64url")}`; // 20 characters after the prefix
}

/** The JSON object of an answer, for reading members. */
export function body(answer: Answer): Record<string, unknown> {
  assert.ok(
    answer.json !== null && typeof answer.json === "object" && !Array.isArray(answer.json),
    `not a JSON object: ${answer.status} ${answer.text.slice(0, 500)}`,
  );
  return answer.json as Record<string, unknown>;
}

/** Entity as `GET /v1/payments/{id}` answers it. */
export interface EntityJson {
  readonly id: string;
  readonly version: number;
  readonly state: { readonly status: string; readonly [member: string]: unknown };
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Journal entry as `GET /v1/payments/{id}/history` answers it. */
export interface JournalJson {
  readonly version: number;
  readonly eventId: string;
  readonly event: { readonly type: string; readonly [member: string]: unknown };
  readonly state: { readonly status: string; readonly [member: string]: unknown };
  readonly intents: readonly { readonly id: string; readonly intent: { readonly type: string } }[];
  readonly at: string;
}

/** A small client for one server. */
export class Client {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  send(id: string, event: unknown, headers: Readonly<Record<string, string>> = {}, token = this.token) {
    return call(this.url, "POST", `/v1/payments/${encodeURIComponent(id)}/events`, { token, json: event, headers });
  }

  get(path: string, token = this.token) {
    return call(this.url, "GET", path, { token });
  }

  async entity(id: string): Promise<EntityJson | undefined> {
    const answer = await this.get(`/v1/payments/${encodeURIComponent(id)}`);
    if (answer.status === 404) return undefined;
    assert.equal(answer.status, 200, answer.text);
    return answer.json as EntityJson;
  }

  async history(id: string): Promise<JournalJson[]> {
    const answer = await this.get(`/v1/payments/${encodeURIComponent(id)}/history`);
    if (answer.status === 404) return [];
    assert.equal(answer.status, 200, answer.text);
    return (body(answer).entries as JournalJson[]) ?? [];
  }

  /** Polls until the payment's status is one of `statuses`; fails after `timeoutMs`. */
  async waitForStatus(id: string, statuses: readonly string[], timeoutMs = 10_000): Promise<EntityJson> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entity = await this.entity(id);
      if (entity !== undefined && statuses.includes(entity.state.status)) return entity;
      if (Date.now() > deadline) {
        assert.fail(`payment ${id} did not reach ${statuses.join("|")} in ${timeoutMs} ms: ${JSON.stringify(entity)}`);
      }
      await sleep(10);
    }
  }

  /** Every payment, through `limit`/`cursor` pages. */
  async listAll(limit = 100): Promise<EntityJson[]> {
    const all: EntityJson[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10_000; pages++) {
      const query: string = cursor === null ? `limit=${limit}` : `limit=${limit}&cursor=${encodeURIComponent(cursor)}`;
      const answer = await this.get(`/v1/payments?${query}`);
      assert.equal(answer.status, 200, answer.text);
      const page = body(answer) as { items: EntityJson[]; nextCursor: string | null };
      all.push(...page.items);
      cursor = page.nextCursor;
      if (cursor === null) return all;
    }
    assert.fail("listing did not end");
  }
}
