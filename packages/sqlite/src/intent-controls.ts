import type { PausedIntentType, SlotRequest, TokenRequest } from "@drover/core";
import type Database from "better-sqlite3";

/** A token bucket as stored: tokens (fractional) as of `updated_at`. */
interface BucketRow {
  readonly tokens: number;
  readonly updated_at: number;
}

/**
 * The intent controls (`IntentControls` of `@drover/core`) of the `SqliteStore`, kept in the file so that every
 * process on it shares them: paused intent types (the claim reads them, outbox-claim.ts),
 * concurrency slots and token buckets. Slots and buckets are read and written in one
 * `BEGIN IMMEDIATE` transaction each, so that two connections never both take the last slot
 * or token. Synchronous: the store translates errors.
 */
export class SqliteIntentControls {
  readonly #pause: Database.Statement<[intentType: string, pausedAt: number]>;
  readonly #resume: Database.Statement<[intentType: string]>;
  readonly #paused: Database.Statement<[], { intent_type: string; paused_at: number }>;
  readonly acquire: (request: SlotRequest) => boolean;
  readonly release: (key: string, holder: string) => void;
  readonly take: (request: TokenRequest) => number;

  /**
   * `durability` wraps slot and bucket writes (see `workQueueSync`): one lost to a power cut
   * only lets an effect run once more than its limit says, once; pauses keep the connection's.
   */
  constructor(db: Database.Database, durability: <T>(work: () => T) => T) {
    this.#pause = db.prepare(
      "INSERT INTO paused_intent_types (intent_type, paused_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
    );
    this.#resume = db.prepare("DELETE FROM paused_intent_types WHERE intent_type = ?");
    this.#paused = db.prepare("SELECT intent_type, paused_at FROM paused_intent_types ORDER BY intent_type");

    const expire = db.prepare<[key: string, now: number]>(
      "DELETE FROM intent_slots WHERE slot_key = ? AND lease_until <= ?",
    );
    const holders = db.prepare<[holder: string, key: string], { n: number; mine: number }>(
      "SELECT count(*) AS n, count(*) FILTER (WHERE holder = ?) AS mine FROM intent_slots WHERE slot_key = ?",
    );
    const hold = db.prepare<[key: string, holder: string, owner: string, leaseUntil: number]>(
      `INSERT INTO intent_slots (slot_key, holder, owner, lease_until) VALUES (?, ?, ?, ?)
       ON CONFLICT (slot_key, holder) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until`,
    );
    const free = db.prepare<[key: string, holder: string]>(
      "DELETE FROM intent_slots WHERE slot_key = ? AND holder = ?",
    );
    const acquire = db.transaction((request: SlotRequest): boolean => {
      expire.run(request.key, request.now);
      const { n, mine } = holders.get(request.holder, request.key) ?? { n: 0, mine: 0 };
      if (mine === 0 && n >= request.limit) return false;
      hold.run(request.key, request.holder, request.owner, request.now + request.leaseMs);
      return true;
    }).immediate;
    this.acquire = (request) => durability(() => acquire(request));
    this.release = (key, holder) => durability(() => free.run(key, holder));

    const bucket = db.prepare<[key: string], BucketRow>(
      "SELECT tokens, updated_at FROM token_buckets WHERE bucket_key = ?",
    );
    const store = db.prepare<[key: string, tokens: number, updatedAt: number]>(
      `INSERT INTO token_buckets (bucket_key, tokens, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (bucket_key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
    );
    // The arithmetic of the MemoryStore's buckets, in JavaScript, so that both answer alike.
    const take = db.transaction((request: TokenRequest): number => {
      const burst = Math.max(1, request.burst ?? request.perSecond);
      const row = bucket.get(request.key) ?? { tokens: burst, updated_at: request.now };
      const tokens = Math.min(
        burst,
        row.tokens + (Math.max(0, request.now - row.updated_at) * request.perSecond) / 1000,
      );
      // A caller whose clock is behind does not move the refill time back (see the MemoryStore).
      const updatedAt = Math.max(row.updated_at, request.now);
      if (tokens >= 1) {
        store.run(request.key, tokens - 1, updatedAt);
        return 0;
      }
      store.run(request.key, tokens, updatedAt);
      return Math.ceil(((1 - tokens) * 1000) / request.perSecond);
    }).immediate;
    this.take = (request) => durability(() => take(request));
  }

  /** `false` if it was paused already. */
  pause(intentType: string, now: number): boolean {
    return this.#pause.run(intentType, now).changes > 0;
  }

  /** `false` if it was not paused. */
  resume(intentType: string): boolean {
    return this.#resume.run(intentType).changes > 0;
  }

  /** By name (SQLite's binary order of the text). */
  paused(): PausedIntentType[] {
    return this.#paused.all().map((row) => ({ intentType: row.intent_type, pausedAt: row.paused_at }));
  }
}
