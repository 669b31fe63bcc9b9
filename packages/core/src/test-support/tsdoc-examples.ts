// The machinery that type-checks the TSDoc `@example`s of a package's public API (issue 19:
// every example compiles). The public TSDoc is that of what the package's entry points export
// (and of their members), plus the entry points' own package documentation. Each example
// becomes a module: a header (everything the package's root entry, the example's own entry
// and the listed `imports` export, then the check's `prelude` of ambient values), the
// example's own imports, and its code as the body of an async function, so that `return …`
// and `await …` read as they would inside a handler. The modules are type-checked together,
// with the repository's compiler options, against the built declarations.
//
// Shared by core's `tsdoc-examples.test.ts` and the CLI's `tsdoc-examples.e2e.test.ts` (which
// checks the other packages); it is not shipped (core's `dist/test-support` stays out of the
// tarball).
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import ts from "typescript";

/** An entry point of a package: its source file (absolute) and the specifier users import. */
export interface Entry {
  readonly file: string;
  readonly specifier: string;
}

/** What to check: a package's entry points, what every example sees besides their exports. */
export interface ExampleCheck {
  /** The repository root (its `tsconfig.base.json` gives the compiler options). */
  readonly repo: string;
  /** The package's entry points, its root entry first; every example sees the root's exports. */
  readonly entries: readonly Entry[];
  /** Other packages whose exports every example sees, e.g. `@drover/core` (first name wins). */
  readonly imports?: readonly string[];
  /**
   * Declarations every example may use besides those exports: a short, typed list of ambient
   * values. An example that needs more should say where it comes from.
   */
  readonly prelude: string;
  /** A directory the example modules are written into, so that the specifiers resolve there. */
  readonly home: string;
}

/** One `@example` block: where it is written, whose documentation it belongs to, its code. */
export interface Example {
  /** The source file, relative to the repository. */
  readonly file: string;
  /** The line of its first line of code in `file` (1-based). */
  readonly line: number;
  /** The documented declaration, e.g. `Runtime.for`. */
  readonly owner: string;
  readonly entry: Entry;
  readonly code: string;
}

/** The examples found, and the problems of each (by index) that does not compile. */
export interface ExampleReport {
  readonly examples: readonly Example[];
  readonly problems: ReadonlyMap<number, readonly string[]>;
}

/**
 * Find the public examples of `check.entries` and type-check them, with `extra` examples
 * (e.g. one known to be broken, to see the check fail) appended after them.
 */
export function checkExamples(
  check: ExampleCheck,
  extra: (entry: Entry) => readonly Example[] = () => [],
): ExampleReport {
  const options = compilerOptions(check.repo);
  const virtual = new Map<string, string>();
  const host = hostWith(options, virtual);
  const anchor = join(check.home, "__tsdoc_anchor.ts");
  const imported = (check.imports ?? []).map((specifier) => {
    const resolved = ts.resolveModuleName(specifier, anchor, options, host).resolvedModule;
    assert.ok(resolved !== undefined, `${specifier} does not resolve from ${check.home}`);
    return { file: resolved.resolvedFileName, specifier };
  });
  const program = ts.createProgram(
    [...check.entries, ...imported].map((entry) => entry.file),
    options,
    host,
  );
  const examples = publicExamples(check.repo, program, check.entries);
  const root = check.entries[0];
  assert.ok(root !== undefined, "a check needs an entry point");
  const all = [...examples, ...extra(root)];
  const problems = typeCheck(program, host, virtual, all, check, imported);
  return { examples, problems };
}

function compilerOptions(repo: string): ts.CompilerOptions {
  const path = join(repo, "tsconfig.base.json");
  const read = ts.readConfigFile(path, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, repo, undefined, path);
  return {
    ...parsed.options,
    noEmit: true,
    composite: false,
    incremental: false,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
  };
}

/** The `@example` blocks of one JSDoc comment, as raw text (`@` inside code survives). */
function examplesOf(source: ts.SourceFile, doc: ts.JSDoc): { line: number; code: string }[] {
  const raw = source.text.slice(doc.pos, doc.end);
  const first = source.getLineAndCharacterOfPosition(doc.pos).line;
  const lines = raw
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((line) => line.replace(/^\s*\* ?/, "").trimEnd());
  const found: { line: number; code: string }[] = [];
  lines.forEach((text, index) => {
    if (!/^@example\b/.test(text)) return;
    const body: string[] = [];
    for (const next of lines.slice(index + 1)) {
      if (/^@\w/.test(next)) break;
      body.push(next);
    }
    while (body.length > 0 && body[body.length - 1]?.trim() === "") body.pop();
    found.push({ line: first + index + 2, code: body.join("\n") });
  });
  return found;
}

function moduleSymbol(program: ts.Program, file: string): ts.Symbol {
  const source = program.getSourceFile(file);
  assert.ok(source !== undefined, `${file} is not in the program`);
  const module = program.getTypeChecker().getSymbolAtLocation(source);
  assert.ok(module !== undefined, `${file} is not a module`);
  return module;
}

/** The examples of everything the entry points export, their members and their package docs. */
function publicExamples(repo: string, program: ts.Program, entries: readonly Entry[]): Example[] {
  const checker = program.getTypeChecker();
  const seen = new Set<string>();
  const examples: Example[] = [];
  const collect = (node: ts.Node, owner: string, entry: Entry): void => {
    const source = node.getSourceFile();
    for (const doc of ts.getJSDocCommentsAndTags(node)) {
      if (!ts.isJSDoc(doc)) continue;
      const key = `${source.fileName}:${doc.pos}`;
      if (seen.has(key)) continue;
      seen.add(key);
      for (const { line, code } of examplesOf(source, doc)) {
        examples.push({ file: relative(repo, source.fileName), line, owner, entry, code });
      }
    }
  };
  for (const entry of entries) {
    const source = program.getSourceFile(entry.file);
    assert.ok(source !== undefined, `${entry.file} is not in the program`);
    const first = source.statements[0];
    if (first !== undefined) collect(first, `${entry.specifier} (package documentation)`, entry);
    for (const exported of checker.getExportsOfModule(moduleSymbol(program, entry.file))) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      for (const declaration of symbol.declarations ?? []) {
        collect(declaration, exported.name, entry);
        if (ts.isClassDeclaration(declaration) || ts.isInterfaceDeclaration(declaration)) {
          for (const member of declaration.members) {
            const name = member.name === undefined ? "constructor" : member.name.getText();
            collect(member, `${exported.name}.${name}`, entry);
          }
        }
      }
    }
  }
  return examples;
}

/**
 * `import` lines for what an entry exports, types with `import type` (verbatimModuleSyntax),
 * leaving out the names in `skip` and adding those it imports to it.
 */
function importsOf(program: ts.Program, entry: Entry, skip: Set<string>): string {
  const checker = program.getTypeChecker();
  const values: string[] = [];
  const types: string[] = [];
  for (const exported of checker.getExportsOfModule(moduleSymbol(program, entry.file))) {
    if (skip.has(exported.name)) continue;
    skip.add(exported.name);
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const typeOnly = (exported.declarations ?? []).some(
      (declaration) =>
        ts.isExportSpecifier(declaration) && (declaration.isTypeOnly || declaration.parent.parent.isTypeOnly),
    );
    (symbol.flags & ts.SymbolFlags.Value && !typeOnly ? values : types).push(exported.name);
  }
  return [
    values.length > 0 ? `import { ${values.join(", ")} } from "${entry.specifier}";` : "",
    types.length > 0 ? `import type { ${types.join(", ")} } from "${entry.specifier}";` : "",
  ].join("\n");
}

/** The names an example imports itself (the header then leaves them out). */
function importedNames(code: string): Set<string> {
  const names = new Set<string>();
  for (const match of code.matchAll(/^import\s+(?:type\s+)?\{([^}]*)\}/gm)) {
    for (const name of (match[1] ?? "").split(",")) {
      const local = name.trim().split(/\s+as\s+/)[1] ?? name.trim();
      if (local !== "") names.add(local.replace(/^type\s+/, ""));
    }
  }
  for (const match of code.matchAll(/^import\s+(?:type\s+)?(?:\*\s+as\s+)?(\w+)/gm)) {
    if (match[1] !== undefined && match[1] !== "type") names.add(match[1]);
  }
  return names;
}

/** An example as a module; `bodyLine` is the module line (0-based) of the example's first line. */
function moduleOf(
  program: ts.Program,
  example: Example,
  check: ExampleCheck,
  imported: readonly Entry[],
): { text: string; bodyLine: number } {
  const lines = example.code.split("\n");
  const own = lines.filter((line) => /^import\s/.test(line));
  const skip = importedNames(example.code);
  const root = check.entries[0] ?? example.entry;
  const sources = [root, ...(example.entry === root ? [] : [example.entry]), ...imported];
  const header = [...sources.map((entry) => importsOf(program, entry, skip)), check.prelude, ...own].join("\n");
  const body = lines.map((line) => (/^import\s/.test(line) ? "" : line));
  // An example that exports is a whole module (a `drover.config.ts`): its code stays at the top.
  const whole = /^export\s/m.test(example.code);
  const opening = whole ? "// the example, as a module" : "export async function example() {";
  const text = `${header}\n${opening}\n${body.join("\n")}\n${whole ? "" : "}"}\n`;
  return { text, bodyLine: header.split("\n").length + 1 };
}

/**
 * A compiler host that serves `virtual` files from memory and parses every other file once
 * (both programs read the same declarations of node, zod and the packages).
 */
function hostWith(options: ts.CompilerOptions, virtual: ReadonlyMap<string, string>): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  const parsed = new Map<string, ts.SourceFile | undefined>();
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, version, onError, create) => {
    const text = virtual.get(fileName);
    if (text !== undefined) return ts.createSourceFile(fileName, text, version);
    if (!parsed.has(fileName)) parsed.set(fileName, getSourceFile(fileName, version, onError, create));
    return parsed.get(fileName);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => virtual.has(fileName) || fileExists(fileName);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => virtual.get(fileName) ?? readFile(fileName);
  return host;
}

/**
 * Type-check every example, as modules written into `virtual` (which `host` serves); the
 * problems of each, keyed by its index, as readable lines.
 */
function typeCheck(
  program: ts.Program,
  host: ts.CompilerHost,
  virtual: Map<string, string>,
  examples: readonly Example[],
  check: ExampleCheck,
  imported: readonly Entry[],
): Map<number, string[]> {
  const fileOf = (index: number) => join(check.home, `__tsdoc_example_${index}.ts`);
  const modules = examples.map((example) => moduleOf(program, example, check, imported));
  for (const [index, module] of modules.entries()) virtual.set(fileOf(index), module.text);
  const checked = ts.createProgram([...virtual.keys()], program.getCompilerOptions(), host);
  const problems = new Map<number, string[]>();
  examples.forEach((example, index) => {
    const source = checked.getSourceFile(fileOf(index));
    assert.ok(source !== undefined);
    const bodyLine = modules[index]?.bodyLine ?? 0;
    const found = ts.getPreEmitDiagnostics(checked, source).map((diagnostic) => {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
      if (diagnostic.file !== source || diagnostic.start === undefined) return message;
      const line = source.getLineAndCharacterOfPosition(diagnostic.start).line - bodyLine;
      return line < 0
        ? `(in the header, line ${line + bodyLine + 1}) ${message}`
        : `${example.file}:${example.line + line}: ${message}`;
    });
    if (found.length > 0) problems.set(index, found);
  });
  return problems;
}

/**
 * The doors machine the examples talk about, for a prelude (it needs zod's `z` and core's
 * `defineMachine`, `accept`, `reject` and `MachineState`): `DoorId`, `DoorStatus`,
 * `DoorRejection`, `doors` and `DoorState`.
 */
export const DOORS = `
const DoorId = z.string().regex(/^door_\\w+$/).brand<"DoorId">();
type DoorId = z.infer<typeof DoorId>;
const DoorStatus = { Open: "open", Closed: "closed" } as const;
const DoorRejection = { InvalidTransition: "invalid_transition", Locked: "locked" } as const;
const doors = defineMachine({
  name: "doors",
  id: DoorId,
  state: z.object({ status: z.enum(DoorStatus) }),
  events: z.discriminatedUnion("type", [
    z.object({ type: z.literal("Install") }),
    z.object({ type: z.literal("Open") }),
    z.object({ type: z.literal("BellRang") }),
  ]),
  intents: z.object({ type: z.literal("Ring") }),
  rejections: z.enum(DoorRejection),
  creates: ["Install"],
  internal: ["BellRang"],
  create: () => accept({ status: DoorStatus.Closed }),
  handle: (state, event) =>
    event.type === "BellRang"
      ? accept(state)
      : event.type === "Open" && state.status === DoorStatus.Closed
        ? accept({ status: DoorStatus.Open }, { type: "Ring" })
        : reject(DoorRejection.InvalidTransition),
});
type DoorState = MachineState<typeof doors>;
`;

/** An example that does not compile, to see that the check reports it. */
export function brokenExample(entry: Entry): Example {
  return { file: "(a broken example)", line: 1, owner: "nothing", entry, code: 'const n: number = "seven";' };
}
