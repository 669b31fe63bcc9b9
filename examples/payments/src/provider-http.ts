import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { AuthorizationId, CustomerId, PaymentId } from "./ids.js";
import { Currency, PositiveMinorUnits } from "./money.js";
import type {
  AuthorizeRequest,
  AuthorizeResult,
  CaptureRequest,
  PaymentProvider,
  ProviderLedger,
  ProviderReceipt,
  RefundRequest,
  VoidRequest,
} from "./provider.js";
import {
  AuthorizeOutcome,
  ProviderErrorCode,
  ProviderOperation,
  ProviderRejectedError,
  ProviderUnavailableError,
} from "./provider.js";

// ─── Wire format ───────────────────────────────────────────────────────────────────────
//
//   POST /authorize | /capture | /void | /refund   JSON body, header Idempotency-Key
//     200 the answer · 400/404/409/422 {code, detail}: refused for good · 503 {code, detail}: retry
//   GET /ledger                                     200 the provider's ledger (for tests)

const AuthorizeBody = z.strictObject({
  paymentId: PaymentId,
  amount: PositiveMinorUnits,
  currency: Currency,
  customerId: CustomerId,
});
const CaptureBody = z.strictObject({
  authorizationId: AuthorizationId,
  amount: PositiveMinorUnits,
  currency: Currency,
});
const VoidBody = z.strictObject({ authorizationId: AuthorizationId });
const RefundBody = CaptureBody;

const AuthorizeAnswer = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal(AuthorizeOutcome.Authorized), authorizationId: AuthorizationId }),
  z.object({ outcome: z.literal(AuthorizeOutcome.Declined), reason: z.string().min(1) }),
]);
const ReceiptAnswer = z.object({ receiptId: z.string().min(1) });
const Problem = z.object({ code: z.string(), detail: z.string() });

/** The code of a 503 answer. */
const UNAVAILABLE = "provider_unavailable";
const MAX_BODY_BYTES = 64 * 1024;

// ─── Server ────────────────────────────────────────────────────────────────────────────

/** Where {@link serveProvider} listens. */
export interface ServeProviderOptions {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
}

/** A running provider server. */
export interface ProviderServer {
  /** e.g. `http://127.0.0.1:41234` */
  readonly url: string;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

/**
 * Serve a provider over HTTP (JSON, `Idempotency-Key` header), so that it can live in
 * another process than the application that calls it — the crash test kills the caller
 * and keeps the provider's ledger. A call keeps running when its client goes away, as a
 * real provider's would: the answer is simply lost.
 *
 * @example
 * const server = await serveProvider(new SimulatedProvider(), { port: 0 });
 * const provider = new HttpProvider({ url: server.url });
 * …
 * await server.close();
 */
export async function serveProvider(
  provider: PaymentProvider & { ledger?(): ProviderLedger },
  options: ServeProviderOptions = {},
): Promise<ProviderServer> {
  const server = createServer((request, response) => {
    response.on("error", () => {}); // the client left; nothing to tell it
    handle(provider, request, response).catch((error: unknown) => {
      reply(response, 500, { code: "internal_error", detail: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(
  provider: PaymentProvider & { ledger?(): ProviderLedger },
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = new URL(request.url ?? "/", "http://provider").pathname;
  if (path === "/ledger") {
    if (request.method !== "GET") return reply(response, 405, problem("invalid_request", "use GET /ledger"));
    if (provider.ledger === undefined)
      return reply(response, 404, problem("invalid_request", "this provider keeps no ledger"));
    return reply(response, 200, provider.ledger());
  }
  const operation = Object.values(ProviderOperation).find((op) => path === `/${op}`);
  if (operation === undefined) {
    return reply(
      response,
      404,
      problem("invalid_request", `no such route ${path}: POST /authorize, /capture, /void, /refund`),
    );
  }
  if (request.method !== "POST") return reply(response, 405, problem("invalid_request", `use POST ${path}`));
  const key = request.headers["idempotency-key"];
  if (typeof key !== "string" || key === "") {
    return reply(response, 400, problem(ProviderErrorCode.InvalidRequest, "the Idempotency-Key header is required"));
  }
  const text = await readBody(request);
  if (text === undefined) {
    return reply(
      response,
      413,
      problem(ProviderErrorCode.InvalidRequest, `a request body is at most ${MAX_BODY_BYTES} bytes`),
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return reply(response, 400, problem(ProviderErrorCode.InvalidRequest, "the request body is not JSON"));
  }
  try {
    return reply(response, 200, await perform(provider, operation, key, body));
  } catch (error) {
    if (error instanceof z.ZodError) {
      const issues = error.issues.map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`).join("; ");
      return reply(response, 400, problem(ProviderErrorCode.InvalidRequest, `invalid ${operation} request: ${issues}`));
    }
    if (error instanceof ProviderRejectedError)
      return reply(response, statusOf(error.code), problem(error.code, error.detail));
    if (error instanceof ProviderUnavailableError) return reply(response, 503, problem(UNAVAILABLE, error.message));
    throw error;
  }
}

function perform(
  provider: PaymentProvider,
  operation: ProviderOperation,
  key: string,
  body: unknown,
): Promise<unknown> {
  switch (operation) {
    case ProviderOperation.Authorize:
      return provider.authorize(key, AuthorizeBody.parse(body));
    case ProviderOperation.Capture:
      return provider.capture(key, CaptureBody.parse(body));
    case ProviderOperation.Void:
      return provider.void(key, VoidBody.parse(body));
    case ProviderOperation.Refund:
      return provider.refund(key, RefundBody.parse(body));
    default: {
      const exhaustive: never = operation;
      return exhaustive;
    }
  }
}

function statusOf(code: ProviderErrorCode): number {
  switch (code) {
    case ProviderErrorCode.InvalidRequest:
      return 400;
    case ProviderErrorCode.UnknownAuthorization:
      return 404;
    case ProviderErrorCode.AuthorizationVoided:
    case ProviderErrorCode.AlreadyCaptured:
    case ProviderErrorCode.NotCaptured:
      return 409;
    case ProviderErrorCode.IdempotencyKeyReused:
    case ProviderErrorCode.CaptureExceedsAuthorized:
    case ProviderErrorCode.RefundExceedsCaptured:
    case ProviderErrorCode.CurrencyMismatch:
      return 422;
    default: {
      const exhaustive: never = code;
      return exhaustive;
    }
  }
}

function problem(code: string, detail: string) {
  return { code, detail };
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

/** The body as text, or `undefined` when it is too large. */
async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

// ─── Client ────────────────────────────────────────────────────────────────────────────

/** What {@link HttpProvider} talks to. */
export interface HttpProviderOptions {
  /** The provider's base URL, e.g. `serveProvider`'s `url`. */
  readonly url: string;
  /** Give up on a call after this many milliseconds (a {@link ProviderUnavailableError}); default 10,000. */
  readonly timeoutMs?: number;
}

/**
 * A {@link PaymentProvider} reached over HTTP, as `serveProvider` serves one. An answer
 * of 503, any other 5xx, a network error or no answer within `timeoutMs` is a
 * {@link ProviderUnavailableError}; a 4xx is a {@link ProviderRejectedError}; aborting the
 * caller's `signal` rejects with its reason.
 *
 * @example
 * const provider = new HttpProvider({ url: "http://127.0.0.1:4100" });
 * await provider.capture(ctx.intentId, { authorizationId, amount, currency }, ctx.signal);
 */
export class HttpProvider implements PaymentProvider {
  readonly #url: string;
  readonly #timeoutMs: number;

  constructor(options: HttpProviderOptions) {
    this.#url = options.url.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async authorize(key: string, request: AuthorizeRequest, signal?: AbortSignal): Promise<AuthorizeResult> {
    return AuthorizeAnswer.parse(await this.#post(ProviderOperation.Authorize, key, request, signal));
  }

  async capture(key: string, request: CaptureRequest, signal?: AbortSignal): Promise<ProviderReceipt> {
    return ReceiptAnswer.parse(await this.#post(ProviderOperation.Capture, key, request, signal));
  }

  async void(key: string, request: VoidRequest, signal?: AbortSignal): Promise<ProviderReceipt> {
    return ReceiptAnswer.parse(await this.#post(ProviderOperation.Void, key, request, signal));
  }

  async refund(key: string, request: RefundRequest, signal?: AbortSignal): Promise<ProviderReceipt> {
    return ReceiptAnswer.parse(await this.#post(ProviderOperation.Refund, key, request, signal));
  }

  /** The provider's ledger (`GET /ledger`), for tests. */
  async ledger(signal?: AbortSignal): Promise<ProviderLedger> {
    return (await this.#send("GET", "/ledger", {}, undefined, signal)) as ProviderLedger;
  }

  async #post(operation: ProviderOperation, key: string, request: object, signal: AbortSignal | undefined) {
    return this.#send("POST", `/${operation}`, { "idempotency-key": key }, JSON.stringify(request), signal);
  }

  async #send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let status: number;
    let text: string;
    try {
      const response = await fetch(this.#url + path, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body }),
        signal: combined,
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) {
        throw new ProviderUnavailableError(
          `the payment provider did not answer ${method} ${path} within ${this.#timeoutMs} ms`,
          {
            cause: error,
          },
        );
      }
      throw new ProviderUnavailableError(`cannot reach the payment provider at ${this.#url}: ${describe(error)}`, {
        cause: error,
      });
    }
    const json = parseJson(text);
    if (status === 200 && json !== undefined) return json;
    const answer = Problem.safeParse(json);
    const detail = answer.success ? answer.data.detail : `HTTP ${status}: ${text.slice(0, 200)}`;
    if (status >= 500 || status === 200) {
      throw new ProviderUnavailableError(`the payment provider answered ${method} ${path} with ${status}: ${detail}`);
    }
    const code = z.enum(ProviderErrorCode).safeParse(answer.data?.code);
    throw new ProviderRejectedError(code.success ? code.data : ProviderErrorCode.InvalidRequest, detail);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}
