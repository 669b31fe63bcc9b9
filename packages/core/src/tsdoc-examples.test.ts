// Every `@example` in the public TSDoc of @drover/core compiles. The public TSDoc is that of
// what the package's entry points export (and of their members), plus the entry points' own
// package documentation. Each example becomes a module: a prelude (everything the entry
// exports, zod's `z`, the doors machine of the examples and a short list of ambient values),
// the example's own imports, and its code as the body of an async function, so that
// `return …` and `await …` read as they would inside a handler. The modules are type-checked
// together, with the repository's compiler options, against the built declarations.
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const CORE = fileURLToPath(new URL("..", import.meta.url));
const REPO = join(CORE, "..", "..");

/** The package's entry points, as source files and as the specifiers users import. */
const ENTRIES = [
  { file: "src/index.ts", specifier: "@drover/core" },
  { file: "src/graph/index.ts", specifier: "@drover/core/graph" },
  { file: "src/sql/index.ts", specifier: "@drover/core/sql" },
  { file: "src/testing/index.ts", specifier: "@drover/core/testing" },
] as const;
type Entry = (typeof ENTRIES)[number];

/**
 * What every example may use besides the entry's exports: the doors machine the examples talk
 * about, and values an example names without building them. Keep it short and typed: an
 * example that needs more should say where it comes from.
 */
const PRELUDE = `
import type { Span } from "@opentelemetry/api";
import { context, trace } from "@opentelemetry/api";
import { z } from "zod";

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

declare const runtime: Runtime;
declare const app: App;
declare const store: Store;
declare const doorEffects: Effects;
declare const id: string;
declare const state: DoorState;
declare const event: MachineEvent<typeof doors>;
declare const ctx: StepContext<DoorId>;
declare const entity: StoredEntity;
declare const timer: TimerRecord;
declare const span: Span;
declare const request: Request;
declare const response: Response;
declare const bell: { ring(request: { readonly idempotencyKey: string }): Promise<void> };
declare function pino(options: { mixin(): object }): Logger;
`;

/** One `@example` block: where it is written, whose documentation it belongs to, its code. */
interface Example {
  /** The source file, relative to the repository. */
  readonly file: string;
  /** The line of its first line of code in `file` (1-based). */
  readonly line: number;
  /** The documented declaration, e.g. `Runtime.for`. */
  readonly owner: string;
  readonly entry: Entry;
  readonly code: string;
}

function compilerOptions(): ts.CompilerOptions {
  const path = join(REPO, "tsconfig.base.json");
  const read = ts.readConfigFile(path, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, REPO, undefined, path);
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

/** The examples of everything the entry points export, their members and their package docs. */
function publicExamples(program: ts.Program): Example[] {
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
        examples.push({ file: relative(REPO, source.fileName), line, owner, entry, code });
      }
    }
  };
  for (const entry of ENTRIES) {
    const source = program.getSourceFile(join(CORE, entry.file));
    assert.ok(source !== undefined, `${entry.file} is not in the program`);
    const first = source.statements[0];
    if (first !== undefined) collect(first, `${entry.specifier} (package documentation)`, entry);
    const module = checker.getSymbolAtLocation(source);
    assert.ok(module !== undefined, `${entry.file} is not a module`);
    for (const exported of checker.getExportsOfModule(module)) {
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

/** `import` lines for what an entry exports, types with `import type` (verbatimModuleSyntax). */
function importsOf(program: ts.Program, entry: Entry, skip: ReadonlySet<string>): string {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(join(CORE, entry.file));
  const module = source && checker.getSymbolAtLocation(source);
  assert.ok(module !== undefined, `${entry.file} is not a module`);
  const values: string[] = [];
  const types: string[] = [];
  for (const exported of checker.getExportsOfModule(module)) {
    if (skip.has(exported.name)) continue;
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

/** The names an example imports itself (the prelude then leaves them out). */
function importedNames(code: string): Set<string> {
  const names = new Set<string>();
  for (const match of code.matchAll(/^import\s+(?:type\s+)?\{([^}]*)\}/gm)) {
    for (const name of (match[1] ?? "").split(",")) {
      const local = name.trim().split(/\s+as\s+/)[1] ?? name.trim();
      if (local !== "") names.add(local.replace(/^type\s+/, ""));
    }
  }
  return names;
}

/** An example as a module; `bodyLine` is the module line (0-based) of the example's first line. */
function moduleOf(program: ts.Program, example: Example): { text: string; bodyLine: number } {
  const lines = example.code.split("\n");
  const own = lines.filter((line) => /^import\s/.test(line));
  const skip = importedNames(example.code);
  const root = ENTRIES[0];
  const header = [
    importsOf(program, root, skip),
    example.entry === root ? "" : importsOf(program, example.entry, new Set([...skip, ...exportNames(program, root)])),
    PRELUDE,
    ...own,
    "export async function example() {",
  ].join("\n");
  const body = lines.map((line) => (/^import\s/.test(line) ? "" : line));
  return { text: `${header}\n${body.join("\n")}\n}\n`, bodyLine: header.split("\n").length };
}

function exportNames(program: ts.Program, entry: Entry): string[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(join(CORE, entry.file));
  const module = source && checker.getSymbolAtLocation(source);
  return module === undefined ? [] : checker.getExportsOfModule(module).map((symbol) => symbol.name);
}

/**
 * A compiler host that serves `virtual` files from memory and parses every other file once
 * (both programs read the same declarations of node, zod and OpenTelemetry).
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
): Map<number, string[]> {
  // Inside the package, so that "@drover/core" resolves to its built declarations.
  const fileOf = (index: number) => join(CORE, "src", `__tsdoc_example_${index}.ts`);
  const modules = examples.map((example) => moduleOf(program, example));
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
        ? `(in the prelude, line ${line + bodyLine + 1}) ${message}`
        : `${example.file}:${example.line + line}: ${message}`;
    });
    if (found.length > 0) problems.set(index, found);
  });
  return problems;
}

describe("TSDoc examples of @drover/core", () => {
  const options = compilerOptions();
  const virtual = new Map<string, string>();
  const host = hostWith(options, virtual);
  const program = ts.createProgram(
    ENTRIES.map((entry) => join(CORE, entry.file)),
    options,
    host,
  );
  const examples = publicExamples(program);
  const broken: Example = {
    file: "(a broken example)",
    line: 1,
    owner: "nothing",
    entry: ENTRIES[0],
    code: 'const n: number = "seven";',
  };
  const problems = typeCheck(program, host, virtual, [...examples, broken]);

  it("finds the examples of the public API, members and package docs included", () => {
    const owners = examples.map((example) => example.owner);
    for (const owner of ["defineMachine", "Runtime", "Runtime.for", "App.for", "scenario", "@drover/core/graph"]) {
      assert.ok(
        owners.some((name) => name.startsWith(owner)),
        `no example of ${owner} among ${owners.join(", ")}`,
      );
    }
  });

  it("reports an example that does not compile", () => {
    assert.match((problems.get(examples.length) ?? []).join("\n"), /not assignable to type 'number'/);
  });

  examples.forEach((example, index) => {
    const found = problems.get(index);
    it(`${example.file}:${example.line} (${example.owner}) compiles`, () => {
      if (found !== undefined) {
        assert.fail(`the @example of ${example.owner} does not compile:\n${found.join("\n")}\n\n${example.code}`);
      }
    });
  });
});
