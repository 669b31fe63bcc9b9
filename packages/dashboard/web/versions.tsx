// Schema versions for people: the version an entity's state is stored at beside the one the
// running code reads and writes, and a machine's entities counted by stored version.
import type { MachineSummary } from "@drover/http/wire";

/** How a stored state version stands to the running code's: a smart enum. */
export const VersionStanding = {
  /** At the code's version (or the code's version is not known yet). */
  Current: "current",
  /** Older: migrated on the entity's next event, or by `drover upgrade --apply`. */
  Older: "older",
  /** Newer: written by newer code; this code answers its events `state_unreadable`. */
  Newer: "newer",
} as const;
export type VersionStanding = (typeof VersionStanding)[keyof typeof VersionStanding];

/** Where `stored` stands to `code` (`undefined`: not loaded). */
export function standingOf(stored: number, code: number | undefined): VersionStanding {
  if (code === undefined || stored === code) return VersionStanding.Current;
  return stored < code ? VersionStanding.Older : VersionStanding.Newer;
}

/**
 * An entity's stored state version: `v2` at the code's version, `stored at v1 · code v2`
 * when it differs (marked: older is migrated on the next event, newer cannot be read).
 */
export function StateVersion({ stored, code }: { stored: number; code: number | undefined }) {
  const standing = standingOf(stored, code);
  if (standing === VersionStanding.Current) return <span>v{stored}</span>;
  const title =
    standing === VersionStanding.Older
      ? "Older than the code: migrated when the next event is processed"
      : "Newer than the code (a rollback?): this code cannot read it, its events answer state_unreadable";
  return (
    <span class={`badge version-${standing}`} title={title}>
      stored at v{stored} · code v{code}
    </span>
  );
}

/** A machine's entities by the state version they are stored at, beside the code's version. */
export function StateVersionCounts({ machine }: { machine: MachineSummary }) {
  return (
    <p class="small version-counts" data-testid={`state-versions-${machine.name}`}>
      <span class="muted">Code v{machine.version}; stored at </span>
      {machine.stateVersions.length === 0 ? <span class="muted">(none yet)</span> : null}
      {machine.stateVersions.map(({ stateVersion, count }, index) => {
        const standing = standingOf(stateVersion, machine.version);
        return (
          <span key={stateVersion}>
            {index === 0 ? null : ", "}
            <span
              class={standing === VersionStanding.Current ? undefined : `badge version-${standing}`}
              title={standing === VersionStanding.Current ? undefined : `${standing} than the code`}
            >
              v{stateVersion}: {count}
            </span>
          </span>
        );
      })}
    </p>
  );
}
