import type * as port from "@drover/core";
import type { Claimed, OutboxRow, TimerRow } from "@drover/core/sql";
import type Database from "better-sqlite3";
import type { ClaimParams } from "./claim-params.js";
import { claimOutboxRows } from "./outbox-claim.js";
import type { Statements } from "./statements.js";

/**
 * The work queue's leases of the `SqliteStore`: claims of outbox rows and timers, their
 * heartbeat, and the release of an earlier incarnation's leases. Claims and renewals run
 * without an fsync of their own (see `workQueueSync`). Synchronous: the store translates errors.
 */
export class SqliteLeases {
  readonly #sql: Statements;
  readonly #relaxed: <T>(work: () => T) => T;
  readonly #claimOutbox: (claim: ClaimParams) => Claimed<OutboxRow<string>>[];
  readonly #claimTimers: (claim: ClaimParams) => Claimed<TimerRow<string>>[];
  readonly #release: (release: port.LeaseRelease) => port.ReleasedLeases;

  constructor(db: Database.Database, sql: Statements, relaxed: <T>(work: () => T) => T) {
    this.#sql = sql;
    this.#relaxed = relaxed;
    // One statement each, but in BEGIN IMMEDIATE: the write lock is taken (or waited for)
    // before anything is read, so two connections never lease the same row.
    const claimOutbox = db.transaction((claim: ClaimParams) => claimOutboxRows(sql, claim)).immediate;
    const claimTimers = db.transaction((claim: ClaimParams) => sql.claimTimers.all(claim)).immediate;
    this.#claimOutbox = (claim) => relaxed(() => claimOutbox(claim));
    this.#claimTimers = (claim) => relaxed(() => claimTimers(claim));
    this.#release = db.transaction(
      (release: port.LeaseRelease): port.ReleasedLeases => ({
        outbox: sql.releaseOutboxLeases.run({ ownerPrefix: release.ownerPrefix, keepPrefix: release.keepPrefix })
          .changes,
        timers: sql.releaseTimerLeases.run({ ownerPrefix: release.ownerPrefix, keepPrefix: release.keepPrefix })
          .changes,
      }),
    ).immediate;
  }

  claimOutbox(claim: ClaimParams): Claimed<OutboxRow<string>>[] {
    return this.#claimOutbox(claim);
  }

  claimTimers(claim: ClaimParams): Claimed<TimerRow<string>>[] {
    return this.#claimTimers(claim);
  }

  renewOutboxLeases(owner: string, intentIds: readonly string[], until: number): string[] {
    return this.#relaxed(() => this.#sql.renewOutboxLeases.all(until, owner, JSON.stringify(intentIds)));
  }

  renewTimerLeases(owner: string, timerIds: readonly string[], until: number): string[] {
    return this.#relaxed(() => this.#sql.renewTimerLeases.all(until, owner, JSON.stringify(timerIds)));
  }

  /** Both tables in one transaction. */
  release(release: port.LeaseRelease): port.ReleasedLeases {
    return this.#release(release);
  }
}
