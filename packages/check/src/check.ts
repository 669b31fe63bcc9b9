import { existsSync, statSync } from "node:fs";
import { resolve, sep } from "node:path";
import type ts from "typescript";
import { globMatcher } from "./glob.js";
import { DEFAULT_IO_MODULES } from "./io-modules.js";
import { findDefinitions } from "./machines.js";
import { packageOf } from "./package-name.js";
import { absolute, isOwnSource, isTestFile, loadProject, ProjectError, relativePath } from "./project.js";
import type { Rule, RuleContext } from "./rule-context.js";
import { RULE_IDS, RuleId } from "./rule-id.js";
import { bareEnumLiteral } from "./rules/bare-enum-literal.js";
import { barePrimitive } from "./rules/bare-primitive.js";
import { domainBranching } from "./rules/domain-branching.js";
import { impureMachine } from "./rules/impure-machine.js";
import { findSmartEnums } from "./smart-enums.js";
import { findValueObjects } from "./value-objects.js";

/** What to check, and how. */
export interface CheckOptions {
  /** The project's directory: paths are resolved and reported relative to it. */
  readonly root: string;
  /** The tsconfig to load, relative to `root` (default `tsconfig.json`); a solution tsconfig's references are followed. */
  readonly tsconfig?: string;
  /**
   * Files or directories (relative to `root`) to report findings in. Default: every source
   * file of the project(s) but tests (`*.test.*`, `*.spec.*`, `__tests__/`) and declaration files.
   */
  readonly files?: readonly string[];
  /** Check test files too (default false). */
  readonly includeTests?: boolean;
  /**
   * Globs (relative to `root`) of runtime code: code that must not branch on domain fields
   * at all (see the domain-branching rule). Default: none.
   */
  readonly runtime?: readonly string[];
  /** Modules a machine may not import; default {@link DEFAULT_IO_MODULES}. */
  readonly ioModules?: readonly string[];
  /** The rules to run; default all. */
  readonly rules?: readonly RuleId[];
}

/** One problem: where, which rule, and what to do about it. */
export interface Finding {
  readonly rule: RuleId;
  /** Relative to the report's `root`, with forward slashes. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** What is wrong and what to do. */
  readonly message: string;
}

/** What {@link runChecks} found. */
export interface CheckReport {
  /** The absolute directory findings' files are relative to. */
  readonly root: string;
  /** Sorted by file, line, column. */
  readonly findings: readonly Finding[];
  readonly filesChecked: number;
}

const RULES: Readonly<Record<RuleId, Rule>> = {
  [RuleId.ImpureMachine]: impureMachine,
  [RuleId.DomainBranching]: domainBranching,
  [RuleId.BareEnumLiteral]: bareEnumLiteral,
  [RuleId.BarePrimitive]: barePrimitive,
};

/** A line comment that silences one rule on the next line: `// drover-check-ignore-next-line <rule> <why>`. */
const IGNORE = /\/\/\s*drover-check-ignore-next-line\s+([a-z-]+)/;

/**
 * Loads the project and runs the checks. Throws {@link ProjectError} when the project
 * cannot be loaded or a given file is not part of it.
 *
 * @example
 * const report = runChecks({ root: process.cwd() });
 * if (report.findings.length > 0) console.log(formatFindings(report));
 */
export function runChecks(options: CheckOptions): CheckReport {
  const root = resolve(options.root);
  const includeTests = options.includeTests ?? false;
  const { program, projectFiles } = loadProject(root, options.tsconfig ?? "tsconfig.json", includeTests);
  const checker = program.getTypeChecker();
  const own = program
    .getSourceFiles()
    .filter((file) => isOwnSource(file.fileName) && (includeTests || !isTestFile(file.fileName)));
  const selected = selectFiles(root, projectFiles, options, includeTests);
  const checked = new Set(own.filter((file) => selected.has(resolve(file.fileName))));
  const droverDeclarations = program
    .getSourceFiles()
    .filter((file) => file.isDeclarationFile && packageOf(file.fileName)?.name.startsWith("@drover/"));
  const { machines, effects } = findDefinitions(checker, own);
  const isRuntimePath = globMatcher(options.runtime ?? []);
  const findings = new Map<string, Finding>();
  const context: RuleContext = {
    checker,
    checked,
    machines,
    effects,
    enums: findSmartEnums([...own, ...droverDeclarations]),
    valueObjects: findValueObjects(checker, own),
    ioModules: options.ioModules ?? DEFAULT_IO_MODULES,
    isRuntime: (file) => isRuntimePath(relativePath(root, file.fileName)),
    report(rule, node, message) {
      const file = node.getSourceFile();
      if (!checked.has(file)) return;
      const { line, character } = file.getLineAndCharacterOfPosition(node.getStart(file));
      if (ignored(file, line, rule)) return;
      const finding = { rule, file: relativePath(root, file.fileName), line: line + 1, column: character + 1, message };
      findings.set(`${rule}:${finding.file}:${finding.line}:${finding.column}`, finding);
    },
  };
  for (const rule of options.rules ?? RULE_IDS) RULES[rule](context);
  const sorted = [...findings.values()].sort(
    (a, b) => compare(a.file, b.file) || a.line - b.line || a.column - b.column || compare(a.rule, b.rule),
  );
  return { root, findings: sorted, filesChecked: checked.size };
}

function selectFiles(
  root: string,
  projectFiles: readonly string[],
  options: CheckOptions,
  includeTests: boolean,
): Set<string> {
  const candidates = projectFiles.filter((file) => isOwnSource(file) && (includeTests || !isTestFile(file)));
  if (options.files === undefined || options.files.length === 0) return new Set(candidates);
  const selected = new Set<string>();
  for (const path of options.files) {
    const target = absolute(root, path);
    if (!existsSync(target)) throw new ProjectError(`${path} does not exist`);
    const prefix = statSync(target).isDirectory() ? target.replace(/[/\\]*$/, sep) : undefined;
    const matching = candidates.filter((file) => (prefix === undefined ? file === target : file.startsWith(prefix)));
    if (matching.length === 0) throw new ProjectError(`${path} holds no source file of the project`);
    for (const file of matching) selected.add(file);
  }
  return selected;
}

function ignored(file: ts.SourceFile, line: number, rule: RuleId): boolean {
  if (line === 0) return false;
  const starts = file.getLineStarts();
  const previous = file.text.slice(starts[line - 1], starts[line]);
  return IGNORE.exec(previous)?.[1] === rule;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
