import { createHash } from "node:crypto";
import { ConfigurationError } from "@drover/core";

/** PostgreSQL's longest identifier, in bytes (NAMEDATALEN - 1). */
const MAX_IDENTIFIER_BYTES = 63;

/** A name as PostgreSQL reads it, quoted: `my "odd" schema` → `"my ""odd"" schema"`. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string literal (standard_conforming_strings, the default since PostgreSQL 9.1). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Refuse a schema name PostgreSQL would truncate or cannot store. */
export function checkSchemaName(schema: unknown): string {
  if (
    typeof schema !== "string" ||
    schema.length === 0 ||
    schema.includes("\u0000") ||
    Buffer.byteLength(schema) > MAX_IDENTIFIER_BYTES
  ) {
    throw new ConfigurationError(
      `PostgresStore schema must be a name of 1 to ${MAX_IDENTIFIER_BYTES} bytes, got ${JSON.stringify(schema)}`,
    );
  }
  return schema;
}

/**
 * The LISTEN/NOTIFY channel of a schema: `drover_<schema>`, or a hash of it when that would be
 * longer than an identifier may be (the server would truncate it on LISTEN but refuse it in
 * pg_notify, and the two would never meet).
 */
export function channelFor(schema: string): string {
  const plain = `drover_${schema}`;
  if (Buffer.byteLength(plain) <= MAX_IDENTIFIER_BYTES) return plain;
  return `drover_${createHash("sha256").update(schema).digest("hex").slice(0, 40)}`;
}

/** A text truncated to at most `max` bytes of UTF-8, never inside a character. */
export function truncateBytes(text: string, max: number): string {
  let out = "";
  for (const char of text) {
    if (Buffer.byteLength(out + char) > max) break;
    out += char;
  }
  return out;
}

/** A signed 32-bit hash of a text, stable across processes (for advisory lock keys). */
export function hash32(text: string): number {
  return createHash("sha256").update(text).digest().readInt32BE(0);
}

/** The seed of the entity advisory lock keys of a schema: locks of different schemas do not collide. */
export function entityLockSeed(schema: string): number {
  return hash32(`drover entity locks ${schema}`);
}

/** The seed of the concurrency slots' advisory lock keys of a schema (see `drover_acquire_slot`). */
export function slotLockSeed(schema: string): number {
  return hash32(`drover slot locks ${schema}`);
}
