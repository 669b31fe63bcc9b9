/**
 * The name of a state when its machine does not say otherwise: its `status` string member,
 * or else its `state` string member; `null` when it has neither (a number, a list, an object
 * without such a member). Stores keep the name a machine gives each state beside it, so lists
 * and counts by state never look inside the JSON and never assume this convention.
 *
 * @example
 * conventionalStateName({ status: "open", visits: 3 }); // "open"
 * conventionalStateName({ state: "idle" });            // "idle"
 * conventionalStateName(42);                           // null
 */
export function conventionalStateName(state: unknown): string | null {
  if (typeof state !== "object" || state === null || Array.isArray(state)) return null;
  const record = state as Readonly<Record<string, unknown>>;
  // drover-check-ignore-next-line domain-branching: the default naming of states, not a rule of any domain
  if (typeof record.status === "string") return record.status;
  if (typeof record.state === "string") return record.state;
  return null;
}

/**
 * The order of entity counts (`EntityCount`) every store answers in: by name, compared as
 * JavaScript compares strings, `null` (states without a name) last.
 *
 * @example
 * counts.sort(byStateName);
 */
export function byStateName(
  a: { readonly stateName: string | null },
  b: { readonly stateName: string | null },
): number {
  if (a.stateName === b.stateName) return 0;
  if (a.stateName === null) return 1;
  if (b.stateName === null) return -1;
  return a.stateName < b.stateName ? -1 : 1;
}
