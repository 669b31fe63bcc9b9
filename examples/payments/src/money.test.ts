import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Currency } from "./money.js";
import {
  add,
  addWithin,
  CURRENCY_EXPONENT,
  Currency as CurrencySchema,
  compare,
  exponentOf,
  format,
  isZero,
  MinorUnits,
  Money,
  majorUnits,
  subtract,
  zero,
} from "./money.js";

const of = (amount: number, currency: Currency = "EUR"): Money => Money.parse({ amount, currency });
const MAX = Number.MAX_SAFE_INTEGER;

describe("Currency", () => {
  it("accepts active ISO 4217 codes", () => {
    for (const code of ["EUR", "USD", "JPY", "BHD", "CLF", "XCG", "ZWG", "SLE", "VED"]) {
      assert.equal(CurrencySchema.safeParse(code).success, true, code);
    }
  });

  it("refuses unknown, lower-case and withdrawn codes", () => {
    for (const code of ["XYZ", "eur", "EURO", "", "HRK", "ANG", "BGN", "CUC", "SLL", "ZWL"]) {
      assert.equal(CurrencySchema.safeParse(code).success, false, code);
    }
  });

  it("refuses codes that have no minor unit, such as gold and the SDR", () => {
    for (const code of ["XAU", "XAG", "XPT", "XPD", "XDR", "XTS", "XXX"]) {
      assert.equal(CurrencySchema.safeParse(code).success, false, code);
    }
  });

  it("knows the zero-decimal currencies", () => {
    for (const code of [
      "BIF",
      "CLP",
      "DJF",
      "GNF",
      "ISK",
      "JPY",
      "KMF",
      "KRW",
      "PYG",
      "RWF",
      "UGX",
      "UYI",
      "VND",
      "VUV",
      "XAF",
      "XOF",
      "XPF",
    ] as const) {
      assert.equal(exponentOf(code), 0, code);
    }
  });

  it("knows the three- and four-decimal currencies", () => {
    for (const code of ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"] as const)
      assert.equal(exponentOf(code), 3, code);
    for (const code of ["CLF", "UYW"] as const) assert.equal(exponentOf(code), 4, code);
  });

  it("gives every other currency two decimals", () => {
    const others = Object.entries(CURRENCY_EXPONENT).filter(
      ([, exponent]) => exponent !== 0 && exponent !== 3 && exponent !== 4,
    );
    assert.ok(others.length > 100);
    for (const [code, exponent] of others) assert.equal(exponent, 2, code);
    assert.equal(exponentOf("EUR"), 2);
  });

  it("lists only three-letter upper-case codes", () => {
    for (const code of Object.keys(CURRENCY_EXPONENT)) assert.match(code, /^[A-Z]{3}$/);
  });
});

describe("MinorUnits", () => {
  it("accepts zero and positive safe integers", () => {
    for (const n of [0, 1, 125_000, MAX]) assert.equal(MinorUnits.safeParse(n).success, true, String(n));
  });

  it("refuses fractions, negatives, unsafe integers and non-numbers", () => {
    for (const n of [0.5, 12.34, -1, MAX + 1, Number.NaN, Number.POSITIVE_INFINITY, "100", null]) {
      assert.equal(MinorUnits.safeParse(n).success, false, String(n));
    }
  });
});

describe("majorUnits", () => {
  it("converts whole units with the currency's exponent", () => {
    assert.equal(majorUnits(10_000, "EUR"), 1_000_000);
    assert.equal(majorUnits(10_000, "JPY"), 10_000);
    assert.equal(majorUnits(10_000, "BHD"), 10_000_000);
    assert.equal(majorUnits(10_000, "CLF"), 100_000_000);
    assert.equal(majorUnits(0, "EUR"), 0);
  });

  it("refuses a fractional or negative count of units", () => {
    assert.throws(() => majorUnits(1.5, "EUR"), RangeError);
    assert.throws(() => majorUnits(-1, "EUR"), RangeError);
  });

  it("refuses a conversion that would not be a safe integer", () => {
    assert.throws(() => majorUnits(Math.floor(MAX / 100) + 1, "EUR"), RangeError);
    assert.equal(majorUnits(Math.floor(MAX / 100), "EUR"), Math.floor(MAX / 100) * 100);
  });
});

describe("add", () => {
  it("adds amounts of one currency", () => {
    assert.deepEqual(add(of(100), of(250)), { ok: true, value: of(350) });
  });

  it("refuses to add different currencies", () => {
    const result = add(of(100, "EUR"), of(100, "USD"));
    assert.equal(result.ok === false && result.error.kind, "currency_mismatch");
  });

  it("refuses a sum beyond the safe integers instead of rounding it", () => {
    const result = add(of(MAX), of(1));
    assert.equal(result.ok === false && result.error.kind, "overflow");
    assert.deepEqual(add(of(MAX - 1), of(1)), { ok: true, value: of(MAX) });
  });
});

describe("subtract", () => {
  it("subtracts amounts of one currency", () => {
    assert.deepEqual(subtract(of(350), of(100)), { ok: true, value: of(250) });
    assert.deepEqual(subtract(of(100), of(100)), { ok: true, value: of(0) });
  });

  it("refuses a result below zero", () => {
    const result = subtract(of(100), of(101));
    assert.equal(result.ok === false && result.error.kind, "negative");
  });

  it("refuses to subtract different currencies", () => {
    const result = subtract(of(100, "GBP"), of(1, "EUR"));
    assert.equal(result.ok === false && result.error.kind, "currency_mismatch");
  });
});

describe("compare", () => {
  it("orders amounts of one currency", () => {
    assert.deepEqual(compare(of(1), of(2)), { ok: true, value: -1 });
    assert.deepEqual(compare(of(2), of(2)), { ok: true, value: 0 });
    assert.deepEqual(compare(of(3), of(2)), { ok: true, value: 1 });
  });

  it("refuses to order different currencies, even when the numbers are equal", () => {
    const result = compare(of(100, "JPY"), of(100, "KRW"));
    assert.equal(result.ok === false && result.error.kind, "currency_mismatch");
  });
});

describe("addWithin", () => {
  it("adds an amount that fits exactly and leaves nothing", () => {
    assert.deepEqual(addWithin(of(300), of(200), of(500)), { ok: true, value: { total: of(500), remaining: of(0) } });
  });

  it("says how much is left when the amount fits with room to spare", () => {
    assert.deepEqual(addWithin(of(0), of(200), of(500)), { ok: true, value: { total: of(200), remaining: of(300) } });
  });

  it("refuses an amount one minor unit above the room left", () => {
    const result = addWithin(of(300), of(201), of(500));
    assert.equal(result.ok === false && result.error.kind, "limit_exceeded");
  });

  it("refuses anything, even nothing, when the base is already above the limit", () => {
    const result = addWithin(of(600), of(1), of(500));
    assert.equal(result.ok === false && result.error.kind, "limit_exceeded");
    const nothing = addWithin(of(600), of(0), of(500));
    assert.equal(nothing.ok === false && nothing.error.message, "6.00 EUR is already above 5.00 EUR");
  });

  it("decides near the largest safe integer without overflowing", () => {
    assert.deepEqual(addWithin(of(MAX - 1), of(1), of(MAX)), { ok: true, value: { total: of(MAX), remaining: of(0) } });
    const result = addWithin(of(MAX), of(MAX), of(MAX));
    assert.equal(result.ok === false && result.error.kind, "limit_exceeded");
  });

  it("refuses an amount in another currency than the base or the limit", () => {
    const a = addWithin(of(0), of(1, "USD"), of(500));
    const b = addWithin(of(0, "USD"), of(1, "USD"), of(500));
    assert.equal(a.ok === false && a.error.kind, "currency_mismatch");
    assert.equal(b.ok === false && b.error.kind, "currency_mismatch");
  });
});

describe("format", () => {
  it("writes money with the currency's decimal places, no float involved", () => {
    assert.equal(format(of(125_000)), "1250.00 EUR");
    assert.equal(format(of(5)), "0.05 EUR");
    assert.equal(format(of(10_000, "JPY")), "10000 JPY");
    assert.equal(format(of(5, "BHD")), "0.005 BHD");
    assert.equal(format(of(1, "CLF")), "0.0001 CLF");
    assert.equal(format(of(MAX)), "90071992547409.91 EUR");
  });
});

describe("zero and isZero", () => {
  it("makes nothing in a currency and recognises it", () => {
    assert.deepEqual(zero("JPY"), of(0, "JPY"));
    assert.equal(isZero(zero("EUR")), true);
    assert.equal(isZero(of(1)), false);
  });
});

describe("money laws", () => {
  const amount = fc.integer({ min: 0, max: MAX });
  const currency = fc.constantFrom<Currency>("EUR", "JPY", "BHD");

  it("undoes an addition with a subtraction", () => {
    fc.assert(
      fc.property(amount, amount, currency, (a, b, c) => {
        const sum = add(of(a, c), of(b, c));
        if (!sum.ok) return sum.error.kind === "overflow" && BigInt(a) + BigInt(b) > BigInt(MAX);
        return JSON.stringify(subtract(sum.value, of(b, c))) === JSON.stringify({ ok: true, value: of(a, c) });
      }),
      { numRuns: 200 },
    );
  });

  it("agrees with addWithin: an amount fits exactly when the sum is at most the limit", () => {
    fc.assert(
      fc.property(amount, amount, amount, (base, extra, limit) => {
        const within = addWithin(of(base), of(extra), of(limit));
        // BigInt only as the test's oracle: the code under test never leaves safe integers.
        const fits = BigInt(base) + BigInt(extra) <= BigInt(limit);
        return within.ok === fits;
      }),
      { numRuns: 200 },
    );
  });

  it("orders amounts antisymmetrically", () => {
    fc.assert(
      fc.property(amount, amount, (a, b) => {
        const ab = compare(of(a), of(b));
        const ba = compare(of(b), of(a));
        return ab.ok && ba.ok && ab.value === -ba.value;
      }),
      { numRuns: 200 },
    );
  });
});
