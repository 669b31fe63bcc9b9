import { randomUUID } from "node:crypto";
import type { Clock, IdGenerator } from "./ports.js";

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Random event ids: `evt_` and a UUID v4. */
export const randomIds: IdGenerator = { next: () => `evt_${randomUUID()}` };
