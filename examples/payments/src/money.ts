import { z } from "zod";

/**
 * Every active ISO 4217 currency (list one as published 2026-01-01) with its minor-unit
 * exponent: how many decimal places its minor unit is (cents: 2, fils: 3, none: 0).
 *
 * Left out on purpose: the codes whose minor unit ISO lists as "N.A." (precious metals
 * XAU/XAG/XPD/XPT, bond-market units XBA–XBD, XDR, XSU, XUA, the test code XTS and XXX),
 * because "minor units" mean nothing for them. Withdrawn codes (ANG, BGN, CUC, HRK, SLL,
 * ZWL…) are refused like any other unknown code.
 */
// biome-ignore format: a table of codes reads best in alphabetical rows
export const CURRENCY_EXPONENT = {
  AED: 2, AFN: 2, ALL: 2, AMD: 2, AOA: 2, ARS: 2, AUD: 2, AWG: 2, AZN: 2,
  BAM: 2, BBD: 2, BDT: 2, BHD: 3, BIF: 0, BMD: 2, BND: 2, BOB: 2, BOV: 2, BRL: 2, BSD: 2,
  BTN: 2, BWP: 2, BYN: 2, BZD: 2,
  CAD: 2, CDF: 2, CHE: 2, CHF: 2, CHW: 2, CLF: 4, CLP: 0, CNY: 2, COP: 2, COU: 2, CRC: 2,
  CUP: 2, CVE: 2, CZK: 2,
  DJF: 0, DKK: 2, DOP: 2, DZD: 2,
  EGP: 2, ERN: 2, ETB: 2, EUR: 2,
  FJD: 2, FKP: 2,
  GBP: 2, GEL: 2, GHS: 2, GIP: 2, GMD: 2, GNF: 0, GTQ: 2, GYD: 2,
  HKD: 2, HNL: 2, HTG: 2, HUF: 2,
  IDR: 2, ILS: 2, INR: 2, IQD: 3, IRR: 2, ISK: 0,
  JMD: 2, JOD: 3, JPY: 0,
  KES: 2, KGS: 2, KHR: 2, KMF: 0, KPW: 2, KRW: 0, KWD: 3, KYD: 2, KZT: 2,
  LAK: 2, LBP: 2, LKR: 2, LRD: 2, LSL: 2, LYD: 3,
  MAD: 2, MDL: 2, MGA: 2, MKD: 2, MMK: 2, MNT: 2, MOP: 2, MRU: 2, MUR: 2, MVR: 2, MWK: 2,
  MXN: 2, MXV: 2, MYR: 2, MZN: 2,
  NAD: 2, NGN: 2, NIO: 2, NOK: 2, NPR: 2, NZD: 2,
  OMR: 3,
  PAB: 2, PEN: 2, PGK: 2, PHP: 2, PKR: 2, PLN: 2, PYG: 0,
  QAR: 2,
  RON: 2, RSD: 2, RUB: 2, RWF: 0,
  SAR: 2, SBD: 2, SCR: 2, SDG: 2, SEK: 2, SGD: 2, SHP: 2, SLE: 2, SOS: 2, SRD: 2, SSP: 2,
  STN: 2, SVC: 2, SYP: 2, SZL: 2,
  THB: 2, TJS: 2, TMT: 2, TND: 3, TOP: 2, TRY: 2, TTD: 2, TWD: 2, TZS: 2,
  UAH: 2, UGX: 0, USD: 2, USN: 2, UYI: 0, UYU: 2, UYW: 4, UZS: 2,
  VED: 2, VES: 2, VND: 0, VUV: 0,
  WST: 2,
  XAD: 2, XAF: 0, XCD: 2, XCG: 2, XOF: 0, XPF: 0,
  YER: 2,
  ZAR: 2, ZMW: 2, ZWG: 2,
} as const satisfies Readonly<Record<string, 0 | 2 | 3 | 4>>;

type CurrencyCode = keyof typeof CURRENCY_EXPONENT;

/**
 * An active ISO 4217 currency code, e.g. `"EUR"`. The type is the closed union of the codes,
 * so a `Currency` value is valid by construction; parse unknown text with the schema.
 *
 * @example
 * Currency.parse("JPY"); // "JPY"
 * Currency.safeParse("XYZ").success; // false
 */
export const Currency = z.enum(Object.keys(CURRENCY_EXPONENT) as [CurrencyCode, ...CurrencyCode[]]);
export type Currency = z.infer<typeof Currency>;

/** How many decimal places a currency's minor unit has: 0 (JPY), 2 (EUR), 3 (BHD), 4 (CLF). */
export type CurrencyExponent = (typeof CURRENCY_EXPONENT)[Currency];

/** The minor-unit exponent of `currency`. */
export function exponentOf(currency: Currency): CurrencyExponent {
  return CURRENCY_EXPONENT[currency];
}

/**
 * A count of a currency's minor units (cents, fils, yen): a safe integer, zero or more.
 * There are no fractional amounts anywhere; 12.50 EUR is `1250`.
 *
 * @example
 * MinorUnits.parse(1250);
 * MinorUnits.safeParse(12.5).success; // false
 */
export const MinorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).brand<"MinorUnits">();
export type MinorUnits = z.infer<typeof MinorUnits>;

/** {@link MinorUnits} above zero: what a payment, capture or refund amount must be. */
export const PositiveMinorUnits = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).brand<"MinorUnits">();

/** Zero minor units, in any currency. */
export const NO_MINOR_UNITS = 0 as MinorUnits;

/**
 * An amount of one currency: integer minor units and an ISO 4217 code.
 *
 * @example
 * Money.parse({ amount: 125000, currency: "EUR" }); // 1,250.00 EUR
 */
export const Money = z.strictObject({ amount: MinorUnits, currency: Currency });
export type Money = z.infer<typeof Money>;

/** Build a {@link Money} from values already parsed. */
export function money(amount: MinorUnits, currency: Currency): Money {
  return { amount, currency };
}

/** Nothing, in `currency`. */
export function zero(currency: Currency): Money {
  return { amount: NO_MINOR_UNITS, currency };
}

/** Why money arithmetic refused to answer: a smart enum. */
export const MoneyErrorKind = {
  /** The operands are in different currencies; there is no exchange rate here. */
  CurrencyMismatch: "currency_mismatch",
  /** The result would not be a safe integer. */
  Overflow: "overflow",
  /** The result would be below zero. */
  Negative: "negative",
  /** The sum would go above the limit it was asked to stay within. */
  LimitExceeded: "limit_exceeded",
} as const;
export type MoneyErrorKind = (typeof MoneyErrorKind)[keyof typeof MoneyErrorKind];

/** What went wrong, with a sentence for humans. */
export interface MoneyError<Kind extends MoneyErrorKind = MoneyErrorKind> {
  readonly kind: Kind;
  readonly message: string;
}

/** The answer of a money operation: a value, or a typed error. Never an exception. */
export type MoneyResult<T, Kind extends MoneyErrorKind = MoneyErrorKind> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: MoneyError<Kind> };

/** The order of two amounts: -1 (less), 0 (equal), 1 (greater). */
export type Ordering = -1 | 0 | 1;

/**
 * `a + b`, in their common currency.
 *
 * @example
 * const eur = (amount: number) => Money.parse({ amount, currency: "EUR" });
 * add(eur(100), eur(250)); // { ok: true, value: { amount: 350, currency: "EUR" } }
 * add(eur(100), Money.parse({ amount: 100, currency: "USD" })); // { ok: false, error: { kind: "currency_mismatch", … } }
 */
export function add(a: Money, b: Money): MoneyResult<Money, "currency_mismatch" | "overflow"> {
  if (a.currency !== b.currency) return mismatch(a, b);
  // Compare against the headroom instead of summing, so the check itself cannot overflow.
  if (b.amount > Number.MAX_SAFE_INTEGER - a.amount) {
    return failure(MoneyErrorKind.Overflow, `${format(a)} + ${format(b)} is too large to count exactly`);
  }
  return ok(money((a.amount + b.amount) as MinorUnits, a.currency));
}

/** `a − b`, in their common currency; refused when `b` is more than `a`. */
export function subtract(a: Money, b: Money): MoneyResult<Money, "currency_mismatch" | "negative"> {
  if (a.currency !== b.currency) return mismatch(a, b);
  if (b.amount > a.amount) return failure(MoneyErrorKind.Negative, `${format(a)} − ${format(b)} is below zero`);
  return ok(money((a.amount - b.amount) as MinorUnits, a.currency));
}

/** The order of `a` and `b`, which must share a currency. */
export function compare(a: Money, b: Money): MoneyResult<Ordering, "currency_mismatch"> {
  if (a.currency !== b.currency) return mismatch(a, b);
  return ok(a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : 0);
}

/** What {@link addWithin} answers: the new total and what is left below the limit. */
export interface Allotment {
  readonly total: Money;
  readonly remaining: Money;
}

/**
 * `base + amount`, unless that would go above `limit` — the check behind "refund at most
 * what was captured". Decided as `amount > limit − base`, so it cannot overflow; a `base`
 * already above `limit` is refused whatever is added.
 *
 * @example
 * const eur = (amount: number) => Money.parse({ amount, currency: "EUR" });
 * addWithin(eur(300), eur(200), eur(500)); // ok: total 500, remaining 0
 * addWithin(eur(300), eur(201), eur(500)); // error limit_exceeded
 */
export function addWithin(
  base: Money,
  amount: Money,
  limit: Money,
): MoneyResult<Allotment, "currency_mismatch" | "limit_exceeded"> {
  if (amount.currency !== base.currency) return mismatch(amount, base);
  if (amount.currency !== limit.currency) return mismatch(amount, limit);
  // `base` above `limit` already breaks it, whatever is added (even nothing).
  const room = base.amount > limit.amount ? -1 : limit.amount - base.amount;
  if (amount.amount > room) {
    return failure(
      MoneyErrorKind.LimitExceeded,
      room < 0
        ? `${format(base)} is already above ${format(limit)}`
        : `${format(amount)} is more than the ${format(money(room as MinorUnits, limit.currency))} left of ${format(limit)}`,
    );
  }
  return ok({
    total: money((base.amount + amount.amount) as MinorUnits, base.currency),
    remaining: money((room - amount.amount) as MinorUnits, base.currency),
  });
}

/** True when `m` is nothing at all. */
export function isZero(m: Money): boolean {
  return m.amount === 0;
}

/**
 * Whole major units (euros, yen, dinars) in minor units, using the currency's exponent:
 * 10,000 EUR is 1,000,000 cents, 10,000 JPY is 10,000 yen, 10,000 BHD is 10,000,000 fils.
 * Meant for constants in code: `n` must be a non-negative safe integer whose conversion
 * stays a safe integer, or this throws a `RangeError` (a bug, not an input error).
 *
 * @example
 * majorUnits(10_000, "EUR"); // 1_000_000
 */
export function majorUnits(n: number, currency: Currency): MinorUnits {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`majorUnits takes a non-negative whole number of ${currency}, got ${n}`);
  }
  const scale = 10 ** exponentOf(currency);
  if (n > Math.floor(Number.MAX_SAFE_INTEGER / scale)) {
    throw new RangeError(`${n} ${currency} is too large to count exactly in minor units`);
  }
  return (n * scale) as MinorUnits;
}

/**
 * Money as text, with the currency's decimal places and no float on the way: `"1250.00 EUR"`,
 * `"10000 JPY"`, `"0.500 BHD"`. For messages and logs, not for parsing.
 */
export function format(m: Money): string {
  const places = exponentOf(m.currency);
  if (places === 0) return `${m.amount} ${m.currency}`;
  const digits = String(m.amount).padStart(places + 1, "0");
  return `${digits.slice(0, -places)}.${digits.slice(-places)} ${m.currency}`;
}

function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

function failure<Kind extends MoneyErrorKind>(
  kind: Kind,
  message: string,
): { readonly ok: false; readonly error: MoneyError<Kind> } {
  return { ok: false, error: { kind, message } };
}

function mismatch(a: Money, b: Money) {
  return failure(MoneyErrorKind.CurrencyMismatch, `cannot combine ${a.currency} with ${b.currency}`);
}
