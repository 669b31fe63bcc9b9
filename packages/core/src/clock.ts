import { randomBytes } from "node:crypto";
import type { Clock, IdGenerator } from "./ports.js";

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A UUID version 7 (RFC 9562): 48 bits of milliseconds, then randomness. Ids made later sort
 * later, so they land at the end of the inbox's index instead of scattering writes over it.
 */
export function uuidv7(now: number = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Fresh event ids: `evt_` and a time-ordered UUID v7. */
export const randomIds: IdGenerator = { next: () => `evt_${uuidv7()}` };
