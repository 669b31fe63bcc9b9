import type { AnyMachine, App, Logger, StateVersionCount } from "@drover/core";
import { CliError, ExitCode } from "./exit-code.js";

/** How {@link checkStoredVersions} treats entities stored by newer code. */
export interface StoredVersionsOptions {
  /** Start anyway (`--allow-newer-states`, `DROVER_ALLOW_NEWER_STATES=1`): those entities answer `unreadable`. */
  readonly allowNewer: boolean;
  readonly logger: Logger;
}

/** What {@link checkStoredVersions} counted for one machine. */
export interface StoredVersions {
  readonly machine: string;
  /** The state version of the running code. */
  readonly version: number;
  /** Entities stored at an older state version: migrated as they are read. */
  readonly older: number;
  /** Entities stored at a newer state version: unreadable by this code (a rollback). */
  readonly newer: number;
}

/**
 * Before `drover serve` takes requests: count, per machine (one query each), the entities
 * stored at another state version than the running code's. Older ones are logged as a
 * warning (they are migrated as they are read; `drover upgrade <machine> --dry-run` checks
 * them all); newer ones, written by newer code, make it refuse to start with a
 * {@link CliError} (exit 3), since every event to them would be refused — unless `allowNewer`.
 *
 * @example
 * await checkStoredVersions(app, config.machines, { allowNewer: false, logger });
 */
export async function checkStoredVersions(
  app: Pick<App, "countStateVersions">,
  machines: readonly AnyMachine[],
  { allowNewer, logger }: StoredVersionsOptions,
): Promise<StoredVersions[]> {
  const found: StoredVersions[] = [];
  for (const machine of machines) {
    const counts = await app.countStateVersions(machine.name);
    const older = sum(counts, (v) => v < machine.version);
    const newer = sum(counts, (v) => v > machine.version);
    found.push({ machine: machine.name, version: machine.version, older, newer });
    if (older > 0) {
      logger.warn(
        { machine: machine.name, version: machine.version, older, byVersion: counts },
        `${older} ${machine.name} entit${older === 1 ? "y is" : "ies are"} stored at older state versions than v${machine.version} (migrated as they are read); check them with drover upgrade ${machine.name} --dry-run`,
      );
    }
    if (newer > 0 && allowNewer) {
      logger.warn(
        { machine: machine.name, version: machine.version, newer, byVersion: counts },
        `${newer} ${machine.name} entit${newer === 1 ? "y is" : "ies are"} stored at state versions newer than v${machine.version}; they answer unreadable until newer code runs (--allow-newer-states)`,
      );
    }
  }
  const ahead = found.filter((f) => f.newer > 0);
  if (ahead.length > 0 && !allowNewer) {
    const which = ahead.map((f) => `${f.newer} ${f.machine} (code at v${f.version})`).join(", ");
    throw new CliError(
      `refusing to start: entities are stored at state versions newer than this code (${which}); deploy the newer code, or pass --allow-newer-states (DROVER_ALLOW_NEWER_STATES=1) to serve the rest`,
      ExitCode.Infrastructure,
    );
  }
  return found;
}

function sum(counts: readonly StateVersionCount[], which: (version: number) => boolean): number {
  return counts.reduce((total, c) => total + (which(c.stateVersion) ? c.count : 0), 0);
}
