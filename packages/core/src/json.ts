import { createHash } from "node:crypto";

/** A value that survives a JSON round trip unchanged. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/**
 * JSON text with object keys sorted, so that equal values give equal text whatever the
 * order their keys were written in. Used for fingerprints and for comparing decisions.
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? "undefined";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object" && value.constructor === Object) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    }
    return sorted;
  }
  return value;
}

/** A short, stable hash of any JSON-able value (hex sha-256 of its stable text). */
export function fingerprint(value: unknown): string {
  return createHash("sha256").update(stableStringify(value)).digest("hex");
}

/** A deep copy made through JSON, exactly as a store would give it back. */
export function jsonClone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** A value a machine returned, as the stores keep it: through JSON (`undefined` becomes `null`). */
export function toJson(value: unknown): Json {
  return jsonClone(value ?? null) as Json;
}
