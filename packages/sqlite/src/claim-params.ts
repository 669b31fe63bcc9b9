import type { ClaimQuery } from "@drover/core";

/** A {@link ClaimQuery} as the claim statements bind it. */
export interface ClaimParams {
  readonly owner: string;
  readonly now: number;
  readonly leaseUntil: number;
  readonly limit: number;
}

/** The claim's parameters, or undefined when it asks for no rows (LIMIT -1 would mean all). */
export function claimParams(query: ClaimQuery): ClaimParams | undefined {
  const limit = Math.floor(query.limit);
  if (!(limit > 0)) return undefined;
  return { owner: query.owner, now: query.now, leaseUntil: query.now + query.leaseMs, limit };
}
