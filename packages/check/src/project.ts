import { existsSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** Raised when the project cannot be loaded (no tsconfig, a broken one): a usage error. */
export class ProjectError extends Error {
  override readonly name = "ProjectError";
}

/** A loaded TypeScript program and the files of it that belong to the user's projects. */
export interface LoadedProject {
  readonly program: ts.Program;
  /** Absolute paths of the projects' own source files (tsconfig `include`/`files`, every referenced project). */
  readonly projectFiles: readonly string[];
}

/**
 * Loads `tsconfig` (relative to `root`) into one program. A solution tsconfig (one that only
 * lists `references`, like the drover repo's) is followed to every referenced project, and
 * their files are checked together; the projects a project references are loaded but not
 * checked. Imports of referenced projects resolve to their sources, so nothing needs to be
 * built first.
 */
export function loadProject(root: string, tsconfig: string, includeTests: boolean): LoadedProject {
  const configPath = resolve(root, tsconfig);
  if (!existsSync(configPath)) throw new ProjectError(`no tsconfig at ${configPath}: pass --project PATH`);
  const own = new Map<string, ts.ParsedCommandLine>();
  const all = new Map<string, ts.ParsedCommandLine>();
  collectProjects(configPath, own, all);
  const first = [...own.values()][0];
  if (first === undefined) throw new ProjectError(`${configPath} has no files and references no project with files`);
  const rootNames = [...new Set([...own.values()].flatMap((project) => project.fileNames))].filter(
    // Tests are not checked by default: leaving them out of the program saves loading what only they import.
    (file) => includeTests || !isTestFile(file),
  );
  // Every project is a reference, so imports of them (through node_modules or relative
  // paths) land on their sources, built or not.
  const references: ts.ProjectReference[] = [...all.keys()].map((path) => ({ path }));
  const options: ts.CompilerOptions = { ...first.options, noEmit: true, composite: false, declaration: false };
  delete options.rootDir;
  delete options.outDir;
  delete options.tsBuildInfoFile;
  delete options.incremental;
  // Public on WatchCompilerHost only, but createProgram honours it on any host (the language
  // service relies on it): without it, referenced projects would have to be built first.
  const host: ts.CompilerHost & { useSourceOfProjectReferenceRedirect?(): boolean } = ts.createCompilerHost(
    options,
    true,
  );
  host.useSourceOfProjectReferenceRedirect = () => true;
  const program = ts.createProgram({ rootNames, options, projectReferences: references, host });
  return { program, projectFiles: rootNames.map((file) => resolve(file)) };
}

/**
 * Reads a tsconfig and the projects it references. A project with files is the user's (`own`);
 * a solution (no files of its own) stands for the projects it references, which are then the
 * user's too. Projects referenced by a project with files are dependencies: loaded, not checked.
 */
function collectProjects(
  configPath: string,
  own: Map<string, ts.ParsedCommandLine> | undefined,
  all: Map<string, ts.ParsedCommandLine>,
): void {
  const path = resolveConfigPath(configPath);
  const known = all.get(path);
  if (known !== undefined) {
    if (own !== undefined && known.fileNames.length > 0) own.set(path, known);
    return;
  }
  const diagnostics: ts.Diagnostic[] = [];
  const parsed = ts.getParsedCommandLineOfConfigFile(
    path,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => diagnostics.push(diagnostic),
    },
  );
  if (parsed === undefined || diagnostics.length > 0) {
    const text = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("; ");
    throw new ProjectError(`cannot read ${path}: ${text || "unknown error"}`);
  }
  all.set(path, parsed);
  const solution = parsed.fileNames.length === 0;
  if (own !== undefined && !solution) own.set(path, parsed);
  for (const reference of parsed.projectReferences ?? []) {
    collectProjects(reference.path, solution ? own : undefined, all);
  }
}

function resolveConfigPath(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? resolve(path, "tsconfig.json") : resolve(path);
}

/** `file` relative to `root`, with forward slashes (what findings and globs use). */
export function relativePath(root: string, file: string): string {
  return relative(root, file).split(sep).join("/");
}

/** True when `file` is a test: `*.test.*`, `*.spec.*`, or under `__tests__/`. */
export function isTestFile(file: string): boolean {
  return /\.(test|spec)\.[cm]?tsx?$/.test(file) || /(^|[/\\])__tests__[/\\]/.test(file);
}

/** True when `file` is a user's source: not a declaration file, not under node_modules. */
export function isOwnSource(file: string): boolean {
  return !file.endsWith(".d.ts") && !/[/\\]node_modules[/\\]/.test(file);
}

/** Absolute path of `path` (relative to `root` unless absolute). */
export function absolute(root: string, path: string): string {
  return isAbsolute(path) ? path : resolve(root, path);
}
