import { ConfigurationError } from "@drover/core";
import type { Random } from "@drover/core/testing";
import { between } from "@drover/core/testing";
import type { CustomerId, PaymentId } from "./ids.js";
import { AuthorizationId } from "./ids.js";
import type { Currency, MinorUnits } from "./money.js";
import { format, money } from "./money.js";

// ─── The port ──────────────────────────────────────────────────────────────────────────

/** What a payment provider is asked to do, a smart enum (also the HTTP paths). */
export const ProviderOperation = {
  Authorize: "authorize",
  Capture: "capture",
  Void: "void",
  Refund: "refund",
} as const;
export type ProviderOperation = (typeof ProviderOperation)[keyof typeof ProviderOperation];

/** Put a hold on the customer's funds. */
export interface AuthorizeRequest {
  readonly paymentId: PaymentId;
  readonly amount: MinorUnits;
  readonly currency: Currency;
  readonly customerId: CustomerId;
}

/** The two answers to an authorization, a smart enum. */
export const AuthorizeOutcome = { Authorized: "authorized", Declined: "declined" } as const;
export type AuthorizeOutcome = (typeof AuthorizeOutcome)[keyof typeof AuthorizeOutcome];

/** The provider held the funds (`authorizationId` names the hold) or refused to. */
export type AuthorizeResult =
  | { readonly outcome: typeof AuthorizeOutcome.Authorized; readonly authorizationId: AuthorizationId }
  | { readonly outcome: typeof AuthorizeOutcome.Declined; readonly reason: string };

/** Take `amount` of a hold; the rest is released. */
export interface CaptureRequest {
  readonly authorizationId: AuthorizationId;
  readonly amount: MinorUnits;
  readonly currency: Currency;
}

/** Release a hold that was not captured. */
export interface VoidRequest {
  readonly authorizationId: AuthorizationId;
}

/** Give `amount` of a capture back. */
export interface RefundRequest {
  readonly authorizationId: AuthorizationId;
  readonly amount: MinorUnits;
  readonly currency: Currency;
}

/** The provider's reference for a capture, void or refund it made. */
export interface ProviderReceipt {
  readonly receiptId: string;
}

/**
 * A payment provider, as the effect handlers see it. Every call takes an idempotency key:
 * the same key with the same request gets the same answer and moves money at most once,
 * however often it is sent. Calls throw {@link ProviderUnavailableError} for transient
 * trouble (retry with the same key) and {@link ProviderRejectedError} for requests the
 * provider will never accept; an aborted `signal` rejects with its reason.
 */
export interface PaymentProvider {
  authorize(key: string, request: AuthorizeRequest, signal?: AbortSignal): Promise<AuthorizeResult>;
  capture(key: string, request: CaptureRequest, signal?: AbortSignal): Promise<ProviderReceipt>;
  void(key: string, request: VoidRequest, signal?: AbortSignal): Promise<ProviderReceipt>;
  refund(key: string, request: RefundRequest, signal?: AbortSignal): Promise<ProviderReceipt>;
}

/** The provider could not be reached or did not answer. Transient: retry with the same key. */
export class ProviderUnavailableError extends Error {
  override readonly name = "ProviderUnavailableError";
}

/** Why the provider refused a request for good, a smart enum. */
export const ProviderErrorCode = {
  /** The idempotency key was used before for a different request. */
  IdempotencyKeyReused: "idempotency_key_reused",
  /** The request was malformed (no idempotency key, a bad field). */
  InvalidRequest: "invalid_request",
  /** No authorization has this id. */
  UnknownAuthorization: "unknown_authorization",
  /** The authorization was voided: nothing can be captured or voided any more. */
  AuthorizationVoided: "authorization_voided",
  /** The authorization was captured already (a second capture, or a void after capture). */
  AlreadyCaptured: "already_captured",
  /** A refund of an authorization that was never captured. */
  NotCaptured: "not_captured",
  /** A capture above the authorized amount. */
  CaptureExceedsAuthorized: "capture_exceeds_authorized",
  /** Refunds would add up to more than was captured. */
  RefundExceedsCaptured: "refund_exceeds_captured",
  /** Another currency than the authorization's. */
  CurrencyMismatch: "currency_mismatch",
} as const;
export type ProviderErrorCode = (typeof ProviderErrorCode)[keyof typeof ProviderErrorCode];

/** The provider refused the request, for good: sending it again will not change the answer. */
export class ProviderRejectedError extends Error {
  override readonly name = "ProviderRejectedError";
  readonly code: ProviderErrorCode;
  /** The provider's explanation, without the code. */
  readonly detail: string;

  constructor(code: ProviderErrorCode, detail: string) {
    super(`the payment provider refused the request (${code}, permanent: retrying will not help): ${detail}`);
    this.code = code;
    this.detail = detail;
  }
}

// ─── Settings ──────────────────────────────────────────────────────────────────────────

/** How the simulated provider behaves; {@link providerSettingsFromEnv} reads them. */
export interface ProviderSettings {
  /** Milliseconds each call takes. **contract** `PAYMENTS_PROVIDER_LATENCY_MS`, default 50. */
  readonly latencyMs: number;
  /** Share of calls, 0 to 1, that fail transiently. **contract** `PAYMENTS_PROVIDER_FAILURE_RATE`, default 0. */
  readonly failureRate: number;
}

const DEFAULT_LATENCY_MS = 50;
const MAX_LATENCY_MS = 60_000;

/**
 * The simulated provider's settings from `PAYMENTS_PROVIDER_LATENCY_MS` and
 * `PAYMENTS_PROVIDER_FAILURE_RATE`; throws a `ConfigurationError` that names the variable
 * and the value for anything else than a whole number of milliseconds and a rate from 0 to 1.
 *
 * @example
 * providerSettingsFromEnv({ PAYMENTS_PROVIDER_FAILURE_RATE: "0.2" }); // { latencyMs: 50, failureRate: 0.2 }
 */
export function providerSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ProviderSettings {
  return { latencyMs: latencyFromEnv(env), failureRate: failureRateFromEnv(env) };
}

function latencyFromEnv(env: Readonly<Record<string, string | undefined>>): number {
  const text = env.PAYMENTS_PROVIDER_LATENCY_MS;
  if (text === undefined || text.trim() === "") return DEFAULT_LATENCY_MS;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > MAX_LATENCY_MS) {
    throw new ConfigurationError(
      `PAYMENTS_PROVIDER_LATENCY_MS must be a whole number of milliseconds from 0 to ${MAX_LATENCY_MS}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

function failureRateFromEnv(env: Readonly<Record<string, string | undefined>>): number {
  const text = env.PAYMENTS_PROVIDER_FAILURE_RATE;
  if (text === undefined || text.trim() === "") return 0;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigurationError(
      `PAYMENTS_PROVIDER_FAILURE_RATE must be a number from 0 to 1 (the share of provider calls that fail transiently, e.g. 0.1), got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

// ─── The ledger ────────────────────────────────────────────────────────────────────────

/** What a ledger entry records, a smart enum. */
export const LedgerOutcome = {
  Authorized: "authorized",
  Declined: "declined",
  Captured: "captured",
  Voided: "voided",
  Refunded: "refunded",
} as const;
export type LedgerOutcome = (typeof LedgerOutcome)[keyof typeof LedgerOutcome];

/** One thing the provider did: made at most once per idempotency key. Plain JSON. */
export interface LedgerEntry {
  /** 1, 2, …: the order the provider did things in. */
  readonly seq: number;
  readonly operation: ProviderOperation;
  readonly outcome: LedgerOutcome;
  /** The idempotency key of the request that did it. */
  readonly key: string;
  readonly paymentId: string;
  /** The authorization made or acted on; `null` for a decline. */
  readonly authorizationId: string | null;
  /** Minor units authorized, captured or refunded; `null` for declines and voids. */
  readonly amount: number | null;
  readonly currency: string | null;
}

/** The provider's books, for assertions: a JSON snapshot. */
export interface ProviderLedger {
  /** Calls received, per operation, whatever became of them. */
  readonly requests: Readonly<Record<ProviderOperation, number>>;
  /** Calls answered from the record of their idempotency key (nothing done again). */
  readonly replays: number;
  /** Calls that failed transiently before anything was done. */
  readonly failedBefore: number;
  /** Calls that did their work, then lost the answer (the caller saw a failure). */
  readonly failedAfter: number;
  /** Calls refused for good ({@link ProviderRejectedError}), replays of a refusal included. */
  readonly refusals: number;
  /** Everything done, in order. */
  readonly entries: readonly LedgerEntry[];
}

/** A ledger's entries of one payment, by what they did. */
export interface PaymentLedger {
  readonly authorizations: LedgerEntry[];
  readonly declines: LedgerEntry[];
  readonly captures: LedgerEntry[];
  readonly voids: LedgerEntry[];
  readonly refunds: LedgerEntry[];
}

/**
 * The ledger's entries grouped by payment.
 *
 * @example
 * ledgerByPayment(provider.ledger()).get("pay_2x8kQm4Lr7Tz9WcB")?.captures.length; // 1
 */
export function ledgerByPayment(ledger: ProviderLedger): Map<string, PaymentLedger> {
  const byPayment = new Map<string, PaymentLedger>();
  for (const entry of ledger.entries) {
    let books = byPayment.get(entry.paymentId);
    if (books === undefined) {
      books = { authorizations: [], declines: [], captures: [], voids: [], refunds: [] };
      byPayment.set(entry.paymentId, books);
    }
    const list = {
      [LedgerOutcome.Authorized]: books.authorizations,
      [LedgerOutcome.Declined]: books.declines,
      [LedgerOutcome.Captured]: books.captures,
      [LedgerOutcome.Voided]: books.voids,
      [LedgerOutcome.Refunded]: books.refunds,
    }[entry.outcome];
    list.push(entry);
  }
  return byPayment;
}

/** The ledger's entries grouped by idempotency key (one each, if the provider keeps its word). */
export function ledgerByKey(ledger: ProviderLedger): Map<string, LedgerEntry[]> {
  const byKey = new Map<string, LedgerEntry[]>();
  for (const entry of ledger.entries) byKey.set(entry.key, [...(byKey.get(entry.key) ?? []), entry]);
  return byKey;
}

// ─── The simulation ────────────────────────────────────────────────────────────────────

/** Waits `ms`, or rejects with `signal.reason` as soon as `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal | undefined) => Promise<void>;

/** What {@link SimulatedProvider} is built with. */
export interface SimulatedProviderOptions {
  /**
   * Milliseconds per call, or a range to draw from: half is spent before the provider acts,
   * half after (an abort in the second half loses an answer whose work was done).
   * Default: `PAYMENTS_PROVIDER_LATENCY_MS`, else 50.
   */
  readonly latencyMs?: number | { readonly min: number; readonly max: number };
  /** Share of calls, 0 to 1, that fail transiently. Default: `PAYMENTS_PROVIDER_FAILURE_RATE`, else 0. */
  readonly failureRate?: number;
  /** Where failures, latencies and ids come from; pass `seededRandom(seed)` to replay a run. */
  readonly random?: Random;
  /** How to wait (inject a fake to test latency without waiting). */
  readonly sleep?: Sleep;
  /** Read for the defaults above instead of `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The prefix of the customer ids the simulated provider declines. **contract** */
export const DECLINED_CUSTOMER_PREFIX = "cus_decline";

interface Hold {
  readonly paymentId: string;
  readonly amount: number;
  readonly currency: Currency;
  captured: number;
  refunded: number;
  voided: boolean;
}

type Answer<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ProviderRejectedError };

interface KeyRecord {
  readonly fingerprint: string;
  readonly summary: string;
  readonly answer: Answer<unknown>;
}

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * An in-process payment provider that behaves like a real one: it takes time, fails now and
 * then, and honours idempotency keys — the same key and request always get the same answer
 * and move money once; the same key with another request is refused
 * (`idempotency_key_reused`). It declines every customer whose id starts with `cus_decline`
 * and authorizes the rest. A transient failure ({@link ProviderUnavailableError}) happens
 * before the call does anything in half of the cases, and after it did its work (a lost
 * answer) in the other half, so callers must retry with the same key. Captures above the
 * hold, refunds above the capture and captures of voided holds are refused for good.
 *
 * Everything it did is in {@link SimulatedProvider.ledger}. Serve it over HTTP with
 * `serveProvider` to keep it out of a process that gets killed.
 *
 * @example
 * const provider = new SimulatedProvider({ latencyMs: 5, failureRate: 0.1, random: seededRandom(7) });
 * const answer = await provider.authorize("payments/pay_2x8kQm4Lr7Tz9WcB/1/0", {
 *   paymentId, amount, currency: "EUR", customerId,
 * });
 * // { outcome: "authorized", authorizationId: "auth_…" } — or a ProviderUnavailableError: retry with the same key
 */
export class SimulatedProvider implements PaymentProvider {
  readonly #latency: { readonly min: number; readonly max: number };
  readonly #failureRate: number;
  readonly #random: Random;
  readonly #sleep: Sleep;
  readonly #keys = new Map<string, KeyRecord>();
  readonly #holds = new Map<string, Hold>();
  readonly #entries: LedgerEntry[] = [];
  readonly #requests: Record<ProviderOperation, number> = { authorize: 0, capture: 0, void: 0, refund: 0 };
  #replays = 0;
  #failedBefore = 0;
  #failedAfter = 0;
  #refusals = 0;
  #ids = 0;

  constructor(options: SimulatedProviderOptions = {}) {
    const env = options.env ?? process.env;
    const latency = options.latencyMs ?? latencyFromEnv(env);
    this.#latency = typeof latency === "number" ? { min: latency, max: latency } : { ...latency };
    const { min, max } = this.#latency;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min || max > MAX_LATENCY_MS) {
      throw new ConfigurationError(
        `latencyMs must be whole milliseconds from 0 to ${MAX_LATENCY_MS} (or a range min ≤ max), got ${JSON.stringify(latency)}`,
      );
    }
    const failureRate = options.failureRate ?? failureRateFromEnv(env);
    if (!Number.isFinite(failureRate) || failureRate < 0 || failureRate > 1) {
      throw new ConfigurationError(`failureRate must be a number from 0 to 1, got ${failureRate}`);
    }
    this.#failureRate = failureRate;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? sleep;
  }

  async authorize(key: string, request: AuthorizeRequest, signal?: AbortSignal): Promise<AuthorizeResult> {
    const { paymentId, amount, currency, customerId } = request;
    return this.#call(
      ProviderOperation.Authorize,
      key,
      [paymentId, amount, currency, customerId],
      `an authorization of ${format(money(amount, currency))} for ${paymentId}`,
      signal,
      (): Answer<AuthorizeResult> => {
        if (customerId.startsWith(DECLINED_CUSTOMER_PREFIX)) {
          const reason = `card declined (the simulated provider declines every ${DECLINED_CUSTOMER_PREFIX}… customer)`;
          this.#record(key, ProviderOperation.Authorize, LedgerOutcome.Declined, paymentId, null, null, null);
          return { ok: true, value: { outcome: AuthorizeOutcome.Declined, reason } };
        }
        const authorizationId = AuthorizationId.parse(this.#newId("auth_"));
        this.#holds.set(authorizationId, { paymentId, amount, currency, captured: 0, refunded: 0, voided: false });
        this.#record(
          key,
          ProviderOperation.Authorize,
          LedgerOutcome.Authorized,
          paymentId,
          authorizationId,
          amount,
          currency,
        );
        return { ok: true, value: { outcome: AuthorizeOutcome.Authorized, authorizationId } };
      },
    );
  }

  async capture(key: string, request: CaptureRequest, signal?: AbortSignal): Promise<ProviderReceipt> {
    const { authorizationId, amount, currency } = request;
    return this.#call(
      ProviderOperation.Capture,
      key,
      [authorizationId, amount, currency],
      `a capture of ${format(money(amount, currency))} on ${authorizationId}`,
      signal,
      () => {
        const hold = this.#holds.get(authorizationId);
        if (hold === undefined) return unknownAuthorization(authorizationId);
        if (hold.voided) return refused(ProviderErrorCode.AuthorizationVoided, `${authorizationId} was voided`);
        if (hold.captured > 0)
          return refused(ProviderErrorCode.AlreadyCaptured, `${authorizationId} was captured already`);
        if (currency !== hold.currency) return currencyMismatch(authorizationId, hold, currency);
        if (amount > hold.amount) {
          return refused(
            ProviderErrorCode.CaptureExceedsAuthorized,
            `cannot capture ${format(money(amount, currency))}: ${authorizationId} holds ${format(money(hold.amount as MinorUnits, currency))}`,
          );
        }
        hold.captured = amount;
        return this.#receipt(key, ProviderOperation.Capture, LedgerOutcome.Captured, hold, authorizationId, amount);
      },
    );
  }

  async void(key: string, request: VoidRequest, signal?: AbortSignal): Promise<ProviderReceipt> {
    const { authorizationId } = request;
    return this.#call(ProviderOperation.Void, key, [authorizationId], `a void of ${authorizationId}`, signal, () => {
      const hold = this.#holds.get(authorizationId);
      if (hold === undefined) return unknownAuthorization(authorizationId);
      if (hold.voided) return refused(ProviderErrorCode.AuthorizationVoided, `${authorizationId} was voided already`);
      if (hold.captured > 0) {
        return refused(ProviderErrorCode.AlreadyCaptured, `${authorizationId} was captured: refund it instead`);
      }
      hold.voided = true;
      return this.#receipt(key, ProviderOperation.Void, LedgerOutcome.Voided, hold, authorizationId, null);
    });
  }

  async refund(key: string, request: RefundRequest, signal?: AbortSignal): Promise<ProviderReceipt> {
    const { authorizationId, amount, currency } = request;
    return this.#call(
      ProviderOperation.Refund,
      key,
      [authorizationId, amount, currency],
      `a refund of ${format(money(amount, currency))} on ${authorizationId}`,
      signal,
      () => {
        const hold = this.#holds.get(authorizationId);
        if (hold === undefined) return unknownAuthorization(authorizationId);
        if (hold.captured === 0) return refused(ProviderErrorCode.NotCaptured, `${authorizationId} was never captured`);
        if (currency !== hold.currency) return currencyMismatch(authorizationId, hold, currency);
        if (amount > hold.captured - hold.refunded) {
          const left = money((hold.captured - hold.refunded) as MinorUnits, currency);
          return refused(
            ProviderErrorCode.RefundExceedsCaptured,
            `cannot refund ${format(money(amount, currency))}: only ${format(left)} of ${authorizationId}'s capture is left`,
          );
        }
        hold.refunded += amount;
        return this.#receipt(key, ProviderOperation.Refund, LedgerOutcome.Refunded, hold, authorizationId, amount);
      },
    );
  }

  /** A snapshot of everything the provider did and was asked. */
  ledger(): ProviderLedger {
    return structuredClone({
      requests: this.#requests,
      replays: this.#replays,
      failedBefore: this.#failedBefore,
      failedAfter: this.#failedAfter,
      refusals: this.#refusals,
      entries: this.#entries,
    });
  }

  /**
   * The life of one call: the request travels (half the latency), may be lost, is answered
   * from its key's record or performed, the answer may be lost, then travels back.
   */
  async #call<T>(
    operation: ProviderOperation,
    key: string,
    request: readonly unknown[],
    summary: string,
    signal: AbortSignal | undefined,
    perform: () => Answer<T>,
  ): Promise<T> {
    this.#requests[operation]++;
    const latency = between(this.#random, this.#latency.min, this.#latency.max);
    const roll = this.#random();
    await this.#sleep(Math.floor(latency / 2), signal);
    if (roll < this.#failureRate / 2) {
      this.#failedBefore++;
      throw new ProviderUnavailableError(
        `the payment provider is unavailable (simulated; ${operation} was not processed): retry with the same idempotency key`,
      );
    }
    // From here to the end of `#answer` nothing awaits: two calls with one key cannot interleave.
    const answer = this.#answer(operation, key, request, summary, perform);
    if (roll < this.#failureRate) {
      this.#failedAfter++;
      throw new ProviderUnavailableError(
        `the payment provider's answer was lost (simulated; ${operation} may have been processed): retry with the same idempotency key`,
      );
    }
    await this.#sleep(latency - Math.floor(latency / 2), signal);
    if (!answer.ok) throw answer.error;
    return answer.value;
  }

  #answer<T>(
    operation: ProviderOperation,
    key: string,
    request: readonly unknown[],
    summary: string,
    perform: () => Answer<T>,
  ): Answer<T> {
    if (!KEY.test(key)) {
      this.#refusals++;
      return refused(ProviderErrorCode.InvalidRequest, "an idempotency key is 1 to 255 printable ASCII characters");
    }
    const fingerprint = JSON.stringify([operation, ...request]);
    const known = this.#keys.get(key);
    if (known !== undefined) {
      if (known.fingerprint !== fingerprint) {
        this.#refusals++;
        return refused(
          ProviderErrorCode.IdempotencyKeyReused,
          `idempotency key ${JSON.stringify(key)} was used for ${known.summary}, not for ${summary}: use a new key for a new request`,
        );
      }
      this.#replays++;
      if (!known.answer.ok) this.#refusals++;
      return known.answer as Answer<T>;
    }
    const answer = perform();
    if (!answer.ok) this.#refusals++;
    this.#keys.set(key, { fingerprint, summary, answer });
    return answer;
  }

  #receipt(
    key: string,
    operation: ProviderOperation,
    outcome: LedgerOutcome,
    hold: Hold,
    authorizationId: string,
    amount: number | null,
  ): Answer<ProviderReceipt> {
    const entry = this.#record(
      key,
      operation,
      outcome,
      hold.paymentId,
      authorizationId,
      amount,
      amount === null ? null : hold.currency,
    );
    return { ok: true, value: { receiptId: `${operation}_${String(entry.seq).padStart(6, "0")}` } };
  }

  #record(
    key: string,
    operation: ProviderOperation,
    outcome: LedgerOutcome,
    paymentId: string,
    authorizationId: string | null,
    amount: number | null,
    currency: string | null,
  ): LedgerEntry {
    const entry = {
      seq: this.#entries.length + 1,
      operation,
      outcome,
      key,
      paymentId,
      authorizationId,
      amount,
      currency,
    };
    this.#entries.push(entry);
    return entry;
  }

  /** A fresh id: random characters, then a sequence number that makes it unique. */
  #newId(prefix: string): string {
    let id = prefix;
    for (let i = 0; i < 12; i++) id += ID_ALPHABET[Math.floor(this.#random() * ID_ALPHABET.length)];
    this.#ids++;
    return `${id}${this.#ids.toString(36)}`;
  }
}

const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

function refused(
  code: ProviderErrorCode,
  detail: string,
): { readonly ok: false; readonly error: ProviderRejectedError } {
  return { ok: false, error: new ProviderRejectedError(code, detail) };
}

function unknownAuthorization(authorizationId: string) {
  return refused(
    ProviderErrorCode.UnknownAuthorization,
    `no authorization has the id ${JSON.stringify(authorizationId)}`,
  );
}

function currencyMismatch(authorizationId: string, hold: Hold, currency: Currency) {
  return refused(ProviderErrorCode.CurrencyMismatch, `${authorizationId} is in ${hold.currency}, not ${currency}`);
}

const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    if (ms <= 0) {
      resolve();
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
