import type ts from "typescript";
import type { EffectsInfo, MachineInfo } from "./machines.js";
import type { RuleId } from "./rule-id.js";
import type { SmartEnum } from "./smart-enums.js";
import type { ValueObject } from "./value-objects.js";

/** What every rule gets: the program, what was found in it, and where to report. */
export interface RuleContext {
  readonly checker: ts.TypeChecker;
  /** The files findings are reported in. */
  readonly checked: ReadonlySet<ts.SourceFile>;
  /** The machines of the program's sources (not declaration files, not node_modules; tests only with `includeTests`). */
  readonly machines: readonly MachineInfo[];
  readonly effects: readonly EffectsInfo[];
  /** Smart enums of the user's sources and of the @drover packages. */
  readonly enums: readonly SmartEnum[];
  /** Value objects (branded primitives, closed string unions) of the user's sources. */
  readonly valueObjects: readonly ValueObject[];
  /** Module names (or prefixes ending in `/`) that do I/O. */
  readonly ioModules: readonly string[];
  /** True for files the `runtime` globs select (domain-branching applies to all their code). */
  readonly isRuntime: (file: ts.SourceFile) => boolean;
  /** Reports a finding at `node`, if its file is checked. */
  report(rule: RuleId, node: ts.Node, message: string): void;
}

/** A rule: reads the context, reports findings. */
export type Rule = (context: RuleContext) => void;
