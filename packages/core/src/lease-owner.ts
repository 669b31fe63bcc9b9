import { randomBytes } from "node:crypto";
import { ConfigurationError } from "./errors.js";
import type { LeaseRelease } from "./ports.js";

/**
 * A process's identity in leases across restarts: the instance name an operator gives it
 * (stable: the same after a restart, unique among the processes running on one store) and
 * the incarnation, new at each start. Lease owners are `<instance>#<incarnation>:<role>`, so
 * that a restarted process can free, at once, what its previous incarnation held
 * ({@link LeaseIdentity.release}), without touching another instance's leases.
 *
 * @example
 * const identity = LeaseIdentity.of("pay-eu-1");
 * identity.owner("dispatcher"); // "pay-eu-1#m4x2k1p9a3f0:dispatcher"
 * await store.releaseLeases(identity.release);
 */
export class LeaseIdentity {
  readonly instance: string;
  readonly incarnation: string;

  private constructor(instance: string, incarnation: string) {
    this.instance = instance;
    this.incarnation = incarnation;
  }

  /** A fresh incarnation of `instance`; a {@link ConfigurationError} for a name that cannot be one. */
  static of(instance: string): LeaseIdentity {
    return new LeaseIdentity(
      checkInstanceName(instance),
      `${Date.now().toString(36)}${randomBytes(4).toString("hex")}`,
    );
  }

  /** The lease owner of one worker (`dispatcher`, `scheduler`) of this incarnation. */
  owner(role: string): string {
    return `${this.instance}#${this.incarnation}:${role}`;
  }

  /** The leases of this instance's earlier incarnations (see `WorkQueue.releaseLeases`). */
  get release(): LeaseRelease {
    return { ownerPrefix: `${this.instance}#`, keepPrefix: `${this.instance}#${this.incarnation}:` };
  }
}

/**
 * An instance name: 1–200 printable ASCII characters without `#` (which separates it from the
 * incarnation in lease owners, so that no instance's prefix is another's).
 */
export function checkInstanceName(instance: string): string {
  if (!/^[\x21-\x22\x24-\x7e]{1,200}$/.test(instance)) {
    throw new ConfigurationError(
      `an instance name must be 1–200 printable ASCII characters without spaces or "#", got ${JSON.stringify(instance)}`,
    );
  }
  return instance;
}
