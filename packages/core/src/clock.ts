import { randomFillSync } from "node:crypto";
import type { Clock, IdGenerator } from "./ports.js";

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

// Random bits for ids come from a pooled buffer refilled 4,096 ids at a time: one system
// call per id (randomBytes(16)) cost ~10 µs here, ~10% of a batched step; pooled, 1.6 µs.
// The bits are the same CSPRNG's (node's own randomUUID pools its entropy the same way).
const POOL = Buffer.alloc(16 * 4096);
let poolOffset = POOL.length;

/**
 * A UUID version 7 (RFC 9562): 48 bits of milliseconds, then randomness. Ids made later sort
 * later, so they land at the end of the inbox's index instead of scattering writes over it.
 *
 * @example
 * uuidv7(); // "019abc12-3def-7a01-8b2c-4d5e6f708192"
 */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset + 16 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const bytes = POOL.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Fresh event ids: `evt_` and a time-ordered UUID v7. */
export const randomIds: IdGenerator = { next: () => `evt_${uuidv7()}` };
