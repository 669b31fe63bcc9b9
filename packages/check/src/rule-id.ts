/** The checks `drover-check` runs, a smart enum. Each is documented in the package README. */
export const RuleId = {
  /** A machine's `create`/`handle` (or what they call) is async, returns a promise, does I/O or reads the clock, randomness or the environment. */
  ImpureMachine: "impure-machine",
  /** An effect handler, or configured runtime code, branches on domain data. */
  DomainBranching: "domain-branching",
  /** A bare string literal where a smart-enum member belongs. */
  BareEnumLiteral: "bare-enum-literal",
  /** A domain signature takes a bare `string`/`number` where a value object exists. */
  BarePrimitive: "bare-primitive",
} as const;
export type RuleId = (typeof RuleId)[keyof typeof RuleId];

/** Every rule id, in the order they are documented. */
export const RULE_IDS: readonly RuleId[] = Object.values(RuleId);
