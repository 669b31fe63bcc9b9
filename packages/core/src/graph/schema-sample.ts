import type { z } from "zod";
import type { Random } from "../random.js";
import { sampleRegex, UnsupportedPatternError } from "./regex-sample.js";

/**
 * Sample values for zod 4 schemas, by walking their definitions (`schema._zod.def`). Used to
 * make events for exploring a machine: every candidate is checked with `safeParse` by the
 * caller, so a sample only needs to be likely valid, not certainly.
 */

/** Thrown when a schema (at `path`) has a shape the sampler cannot produce values for. */
export class SampleError extends Error {
  override readonly name = "SampleError";
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** How optional members are treated in one sample. */
export const OptionalMode = { Omit: "omit", Present: "present", Random: "random" } as const;
export type OptionalMode = (typeof OptionalMode)[keyof typeof OptionalMode];

/** Where a number comes from when a sample sweeps one value across every number field. */
export type Sweep = number | "min" | "max";

/** What one sample is drawn with. */
export interface SampleOptions {
  readonly random: Random;
  /** Numbers worth trying (found in the current state, and derived from it). */
  readonly numbers: readonly number[];
  /** Strings worth trying (found in the current state). */
  readonly strings: readonly string[];
  readonly optional: OptionalMode;
  /** Put this value in every number field that accepts it. */
  readonly sweep?: Sweep;
  /** Valid number pools by schema, to share between samples drawn with the same `numbers`. */
  readonly pools?: Map<unknown, NumberPool>;
}

/** The numbers worth trying for one number schema, and its bounds. */
export interface NumberPool {
  readonly low: number;
  readonly high: number;
  readonly step: number;
  readonly pool: readonly number[];
}

/** What a sample drew: its value, and whether any number field was met (a sweep matters). */
export interface Sample {
  readonly value: unknown;
  readonly hasNumbers: boolean;
}

const OMIT: unique symbol = Symbol("omit");
type Drawn = unknown | typeof OMIT;

interface Def {
  readonly type: string;
  readonly checks?: readonly { readonly _zod: { readonly def: CheckDef } }[];
  readonly [key: string]: unknown;
}
interface CheckDef {
  readonly check: string;
  readonly format?: string;
  readonly pattern?: RegExp;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly length?: number;
  readonly value?: number;
  readonly inclusive?: boolean;
}

/** The definition of a zod 4 schema. */
export function defOf(schema: unknown): Def {
  return (schema as { _zod: { def: Def } })._zod.def;
}

/** Draw one value for `schema`; `path` names it in errors (`events.Stamp.count`). */
export function sample(schema: z.ZodType, path: string, options: SampleOptions): Sample {
  const state = { hasNumbers: false };
  const value = draw(schema, path, options, state);
  return { value: value === OMIT ? undefined : value, hasNumbers: state.hasNumbers };
}

function draw(schema: unknown, path: string, options: SampleOptions, seen: { hasNumbers: boolean }): Drawn {
  const def = defOf(schema);
  const random = options.random;
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
  switch (def.type) {
    case "string":
      return drawString(schema as z.ZodType, def, path, options);
    case "number":
      seen.hasNumbers = true;
      return drawNumber(schema as z.ZodType, def, options);
    case "boolean":
      return random() < 0.5;
    case "null":
      return null;
    case "undefined":
    case "void":
      return OMIT;
    case "any":
    case "unknown":
      return null;
    case "literal":
      return pick(def.values as readonly unknown[]);
    case "enum": {
      const values = enumValues(def);
      const known = options.strings.filter((s) => values.includes(s));
      return known.length > 0 && random() < 0.75 ? pick(known) : pick(values);
    }
    case "object": {
      const shape = def.shape as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [key, member] of Object.entries(shape)) {
        const value = draw(member, `${path}.${key}`, options, seen);
        if (value !== OMIT) out[key] = value;
      }
      return out;
    }
    case "optional":
    case "default":
    case "prefault": {
      const omit =
        options.optional === OptionalMode.Omit || (options.optional === OptionalMode.Random && random() < 0.5);
      return omit ? OMIT : draw(def.innerType, path, options, seen);
    }
    case "nullable":
      return random() < 0.2 ? null : draw(def.innerType, path, options, seen);
    case "nonoptional":
    case "readonly":
    case "catch":
      return draw(def.innerType, path, options, seen);
    case "lazy":
      return draw((def.getter as () => unknown)(), path, options, seen);
    case "pipe":
      return draw(def.in, path, options, seen);
    case "union": {
      const choices = def.options as readonly unknown[];
      const index = Math.floor(random() * choices.length);
      return draw(choices[index], `${path}|${index}`, options, seen);
    }
    case "intersection": {
      const left = draw(def.left, path, options, seen);
      const right = draw(def.right, path, options, seen);
      return isRecord(left) && isRecord(right) ? { ...left, ...right } : left;
    }
    case "array": {
      const { min, max } = lengths(def, 0, 2);
      const count = min + Math.floor(random() * (Math.min(max, min + 2) - min + 1));
      return Array.from({ length: count }, (_, i) => draw(def.element, `${path}[${i}]`, options, seen));
    }
    case "tuple":
      return (def.items as readonly unknown[]).map((item, i) => draw(item, `${path}[${i}]`, options, seen));
    case "record": {
      if (random() < 0.5) return {};
      const key = draw(def.keyType, `${path}{key}`, options, seen);
      return { [String(key)]: draw(def.valueType, `${path}{value}`, options, seen) };
    }
    default:
      throw new SampleError(path, `cannot generate values of a zod "${def.type}" schema`);
  }
}

function drawString(schema: z.ZodType, def: Def, path: string, options: SampleOptions): string {
  const random = options.random;
  const known = options.strings.filter((s) => schema.safeParse(s).success);
  if (known.length > 0 && random() < 0.3) return known[Math.floor(random() * known.length)] ?? "";
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  const pattern = (def.pattern as RegExp | undefined) ?? checks.find((c) => c.pattern !== undefined)?.pattern;
  if (pattern !== undefined) {
    try {
      return sampleRegex(pattern, random);
    } catch (error) {
      if (!(error instanceof UnsupportedPatternError)) throw error;
      const fallback = FORMAT_SAMPLES[String(def.format ?? checks.find((c) => c.format)?.format)];
      if (fallback !== undefined) return fallback;
      throw new SampleError(path, `cannot generate strings matching ${error.message}`);
    }
  }
  const { min, max } = lengths(def, 1, 12);
  const length = min + Math.floor(random() * (Math.min(max, min + 11) - min + 1));
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[Math.floor(random() * ALPHANUMERIC.length)];
  return out;
}

const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyz0123456789";
/** Fixed samples for string formats whose patterns are too rich for the regex sampler. */
const FORMAT_SAMPLES: Readonly<Record<string, string>> = {
  email: "someone@example.com",
  url: "https://example.com/",
  uuid: "0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
  datetime: "2026-01-01T00:00:00Z",
  date: "2026-01-01",
  time: "00:00:00",
};

function drawNumber(schema: z.ZodType, def: Def, options: SampleOptions): number {
  const random = options.random;
  const valid = (n: number) => Number.isFinite(n) && schema.safeParse(n).success;
  const cached = options.pools?.get(schema);
  const { low, high, step, pool } = cached ?? numberPool(schema, def, options.numbers);
  if (cached === undefined) options.pools?.set(schema, { low, high, step, pool });
  if (options.sweep !== undefined) {
    const wanted = options.sweep === "min" ? low : options.sweep === "max" ? high : options.sweep;
    if (wanted === low || wanted === high || pool.includes(wanted) || valid(wanted)) return wanted;
  }
  if (pool.length > 0 && random() < 0.7) return pool[Math.floor(random() * pool.length)] ?? low;
  const span = Math.min(high, low + 10_000) - low;
  const drawn = low + Math.floor((random() * span) / step) * step;
  return valid(drawn) ? drawn : (pool[0] ?? low);
}

function numberPool(schema: z.ZodType, def: Def, numbers: readonly number[]): NumberPool {
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  const integer = checks.some((c) => c.check === "number_format" && c.format !== "float32" && c.format !== "float64");
  let low = -1_000_000;
  let high = 1_000_000;
  let step = integer ? 1 : 0.5;
  for (const c of checks) {
    if (c.check === "greater_than" && c.value !== undefined) low = c.inclusive ? c.value : c.value + step;
    if (c.check === "less_than" && c.value !== undefined) high = c.inclusive ? c.value : c.value - step;
    if (c.check === "multiple_of" && c.value !== undefined) step = c.value;
  }
  const valid = (n: number) => Number.isFinite(n) && schema.safeParse(n).success;
  const pool = [...new Set([low, low + step, high, high - step, 0, 1, ...numbers])].filter(valid);
  return { low: valid(low) ? low : (pool[0] ?? low), high: valid(high) ? high : (pool.at(-1) ?? high), step, pool };
}

function lengths(def: Def, defaultMin: number, defaultExtra: number): { min: number; max: number } {
  let min: number | undefined;
  let max: number | undefined;
  for (const { _zod } of def.checks ?? []) {
    const c = _zod.def;
    if (c.check === "min_length" && c.minimum !== undefined) min = c.minimum;
    if (c.check === "max_length" && c.maximum !== undefined) max = c.maximum;
    if (c.check === "length_equals" && c.length !== undefined) min = max = c.length;
  }
  const lo = min ?? Math.min(defaultMin, max ?? defaultMin);
  return { min: lo, max: max ?? lo + defaultExtra };
}

const ENUM_VALUES = new WeakMap<Def, readonly unknown[]>();

function enumValues(def: Def): readonly unknown[] {
  let values = ENUM_VALUES.get(def);
  if (values === undefined) {
    values = Object.values(def.entries as Record<string, unknown>);
    ENUM_VALUES.set(def, values);
  }
  return values;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
