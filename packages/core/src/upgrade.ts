import { toJson } from "./json.js";
import type { AnyMachine } from "./machine.js";
import type { ReadModel, StateRewrite, StoredEntity, UnitOfWork } from "./ports.js";
import type { Divergence } from "./replay.js";
import { replayJournal } from "./replay.js";
import { readState } from "./versions.js";

/** What {@link upgradeMachine} reads from, and writes to when it applies. */
export interface UpgradeStore extends Pick<ReadModel, "listEntities" | "history"> {
  readonly rewriteStates?: UnitOfWork["rewriteStates"];
}

/** How {@link upgradeMachine} runs. */
export interface UpgradeOptions {
  /** Rewrite every readable state stored at an older version (default: a dry run, nothing written). */
  readonly apply?: boolean;
  /** Entities read (and rewritten) per batch (default 200). */
  readonly batchSize?: number;
  /** Failures kept in detail in the report (default 10); all are counted. */
  readonly keepFailures?: number;
  /** Called after each batch with the number of entities checked so far. */
  readonly onProgress?: (checked: number) => void;
}

/** The entities stored at one state version, and how many of them the current code reads. */
export interface VersionTally {
  readonly stateVersion: number;
  readonly entities: number;
  readonly readable: number;
  readonly unreadable: number;
}

/** Why an entity fails an upgrade: a smart enum. */
export const UpgradeFailureKind = { Unreadable: "unreadable", Divergence: "divergence" } as const;
export type UpgradeFailureKind = (typeof UpgradeFailureKind)[keyof typeof UpgradeFailureKind];

/** One entity that fails the upgrade: its state cannot be read, or its journal diverges. */
export type UpgradeFailure =
  | {
      readonly kind: typeof UpgradeFailureKind.Unreadable;
      readonly id: string;
      readonly stateVersion: number;
      readonly message: string;
    }
  | { readonly kind: typeof UpgradeFailureKind.Divergence; readonly id: string; readonly divergence: Divergence };

/** What an upgrade found (and, when applied, did). `ok`: nothing unreadable, no divergence. */
export interface UpgradeReport {
  readonly machine: string;
  /** The state version of the running code. */
  readonly version: number;
  readonly applied: boolean;
  readonly entities: number;
  /** By stored state version, lowest first. */
  readonly byVersion: readonly VersionTally[];
  readonly unreadable: number;
  /** Divergences found replaying the journals (an entity may have several). */
  readonly divergences: number;
  readonly failures: readonly UpgradeFailure[];
  /** States rewritten at the current version (when applied). */
  readonly rewritten: number;
  /** States that moved on while the upgrade ran (a step wrote them first); a next run looks again. */
  readonly movedOn: number;
  readonly ok: boolean;
}

/**
 * Check that every stored entity of `machine` can be read by the current code — its state
 * migrated and parsed, its journal replayed through the current code and schemas — and with
 * `apply`, rewrite each readable state stored at an older version at the current one, a batch
 * per transaction, each row version-checked like a step (an entity a step moved meanwhile is
 * left alone and counted in `movedOn`). Resumable: a rewritten state is at the current version
 * and is not rewritten again. Safe while servers serve.
 *
 * @example
 * const report = await upgradeMachine(store, doors);
 * console.log(`${report.entities} entities, ${report.unreadable} unreadable, ${report.divergences} divergences`);
 */
export async function upgradeMachine(
  store: UpgradeStore,
  machine: AnyMachine,
  options: UpgradeOptions = {},
): Promise<UpgradeReport> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 200));
  const keep = Math.max(0, Math.floor(options.keepFailures ?? 10));
  const rewriteStates = options.apply === true ? store.rewriteStates : undefined;
  if (options.apply === true && rewriteStates === undefined) {
    throw new TypeError("upgradeMachine: applying needs a store that can rewrite states");
  }
  const tallies = new Map<number, { entities: number; readable: number; unreadable: number }>();
  const failures: UpgradeFailure[] = [];
  const fail = (failure: UpgradeFailure) => {
    if (failures.length < keep) failures.push(failure);
  };
  let entities = 0;
  let unreadable = 0;
  let divergences = 0;
  let rewritten = 0;
  let movedOn = 0;
  let after: string | undefined;
  for (;;) {
    const page: StoredEntity[] = await store.listEntities(machine.name, {
      limit: batchSize,
      ...(after === undefined ? {} : { after }),
    });
    if (page.length === 0) break;
    const rewrites: StateRewrite[] = [];
    for (const entity of page) {
      entities++;
      const tally = tallies.get(entity.stateVersion) ?? { entities: 0, readable: 0, unreadable: 0 };
      tallies.set(entity.stateVersion, tally);
      tally.entities++;
      const reading = readState(machine, entity.state, entity.stateVersion);
      if (reading.ok) {
        tally.readable++;
        if (reading.migrated) {
          rewrites.push({
            ref: { machine: entity.machine, id: entity.id },
            version: entity.version,
            state: toJson(reading.value),
            stateName: machine.stateName(reading.value),
            stateVersion: machine.version,
          });
        }
      } else {
        tally.unreadable++;
        unreadable++;
        fail({
          kind: UpgradeFailureKind.Unreadable,
          id: entity.id,
          stateVersion: entity.stateVersion,
          message: reading.message,
        });
      }
      for (const divergence of replayJournal(machine, await store.history(entity))) {
        divergences++;
        fail({ kind: UpgradeFailureKind.Divergence, id: entity.id, divergence });
      }
    }
    if (rewriteStates !== undefined && rewrites.length > 0) {
      const applied = await rewriteStates.call(store, rewrites);
      for (const done of applied) {
        if (done) rewritten++;
        else movedOn++;
      }
    }
    options.onProgress?.(entities);
    after = page.at(-1)?.id;
    if (page.length < batchSize) break;
  }
  const byVersion = [...tallies]
    .map(([stateVersion, tally]) => ({ stateVersion, ...tally }))
    .sort((a, b) => a.stateVersion - b.stateVersion);
  return {
    machine: machine.name,
    version: machine.version,
    applied: rewriteStates !== undefined,
    entities,
    byVersion,
    unreadable,
    divergences,
    failures,
    rewritten,
    movedOn,
    ok: unreadable === 0 && divergences === 0,
  };
}
