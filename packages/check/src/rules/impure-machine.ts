import ts from "typescript";
import type { FunctionWithBody } from "../drover-api.js";
import { functionName, functionOfSymbol } from "../drover-api.js";
import { isIoModule } from "../io-modules.js";
import type { MachineInfo } from "../machines.js";
import { packageOf } from "../package-name.js";
import { isOwnSource } from "../project.js";
import type { Rule, RuleContext } from "../rule-context.js";
import { RuleId } from "../rule-id.js";

/** `Global.member` reads that make a step depend on the clock, chance or the environment. */
const IMPURE_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  Date: ["now"],
  Math: ["random"],
  crypto: ["randomUUID", "getRandomValues", "randomBytes", "randomInt"],
  performance: ["now"],
  process: ["env", "hrtime", "uptime", "argv", "cwd", "memoryUsage", "cpuUsage", "pid"],
};

/** Global (or imported) functions that do I/O, schedule work or are random. */
const IMPURE_CALLS: ReadonlySet<string> = new Set([
  "fetch",
  "setTimeout",
  "setInterval",
  "setImmediate",
  "queueMicrotask",
  "randomUUID",
  "randomBytes",
  "randomInt",
  "getRandomValues",
]);

const WHY = "a machine is pure and synchronous: time and ids arrive in the event and its StepContext (ctx.at)";

/**
 * impure-machine: a machine's `create`/`handle`, and every function of the same package they
 * reach, must be synchronous, must not return a promise, and must not read the clock,
 * randomness, timers, `fetch` or `process`; the machine's module and the modules of its own
 * package it imports must not import I/O modules.
 */
export const impureMachine: Rule = (context) => {
  for (const machine of context.machines) {
    const reached = machineCode(context, machine);
    for (const [fn, via] of reached) checkFunction(context, machine, fn, via);
    checkImports(context, machine);
  }
};

/** The machine's functions and every function of its package they refer to, each with a description. */
function machineCode(context: RuleContext, machine: MachineInfo): Map<FunctionWithBody, string> {
  const home = packageOf(machine.call.getSourceFile().fileName)?.root;
  const reached = new Map<FunctionWithBody, string>();
  const queue: { fn: FunctionWithBody; root: string }[] = [];
  for (const [name, { fn }] of machine.functions) {
    if (name !== "create" && name !== "handle") continue;
    const root = `\`${name}\` of machine "${machine.name}"`;
    reached.set(fn, root);
    queue.push({ fn, root });
  }
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const { root } = item;
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node)) {
        const symbol = context.checker.getSymbolAtLocation(node);
        const target = symbol === undefined ? undefined : functionOfSymbol(context.checker, symbol);
        const file = target?.getSourceFile().fileName;
        if (
          target !== undefined &&
          file !== undefined &&
          !reached.has(target) &&
          isOwnSource(file) &&
          packageOf(file)?.root === home
        ) {
          reached.set(target, `\`${functionName(target)}\` (reached from ${root})`);
          queue.push({ fn: target, root });
        }
      }
      ts.forEachChild(node, visit);
    };
    if (item.fn.body !== undefined) visit(item.fn.body);
  }
  return reached;
}

function checkFunction(context: RuleContext, machine: MachineInfo, fn: FunctionWithBody, who: string): void {
  const { checker } = context;
  const asyncKeyword = ts.getModifiers(fn)?.find((modifier) => modifier.kind === ts.SyntaxKind.AsyncKeyword);
  if (asyncKeyword !== undefined) {
    context.report(RuleId.ImpureMachine, asyncKeyword, `${who} is async; make it synchronous (${WHY})`);
  } else {
    const signature = checker.getSignatureFromDeclaration(fn);
    if (signature !== undefined && isThenable(checker, signature.getReturnType(), fn)) {
      context.report(
        RuleId.ImpureMachine,
        fn.name ?? fn,
        `${who} returns a promise; return the Decision itself (${WHY}; I/O belongs in an effect handler)`,
      );
    }
  }
  if (fn.body === undefined) return;
  const visit = (node: ts.Node): void => {
    const impurity = impurityOf(checker, node);
    if (impurity !== undefined) {
      context.report(
        RuleId.ImpureMachine,
        node,
        `${who} uses ${impurity}; ${WHY} — machine "${machine.name}" must decide the same way every time`,
      );
    }
    ts.forEachChild(node, visit);
  };
  visit(fn.body);
}

/** What is impure about `node` (a description), or `undefined` when nothing is. */
function impurityOf(checker: ts.TypeChecker, node: ts.Node): string | undefined {
  if (ts.isAwaitExpression(node)) return "`await`";
  if (ts.isNewExpression(node) && isGlobal(checker, node.expression, "Date") && (node.arguments?.length ?? 0) === 0) {
    return "`new Date()` (the current time)";
  }
  if (ts.isCallExpression(node)) {
    if (isGlobal(checker, node.expression, "Date")) return "`Date()` (the current time)";
    const callee = node.expression;
    if (ts.isIdentifier(callee) && IMPURE_CALLS.has(callee.text) && isLibrary(checker, callee)) {
      return `\`${callee.text}()\``;
    }
  }
  if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
    const members = IMPURE_MEMBERS[node.expression.text];
    if (members?.includes(node.name.text) && isGlobal(checker, node.expression, node.expression.text)) {
      return `\`${node.expression.text}.${node.name.text}\``;
    }
  }
  return undefined;
}

/** True when `expression` is the identifier `name` bound to a library declaration (not a local of that name). */
function isGlobal(checker: ts.TypeChecker, expression: ts.Expression, name: string): boolean {
  return ts.isIdentifier(expression) && expression.text === name && isLibrary(checker, expression);
}

/** True when `identifier` resolves to a declaration in a .d.ts file (lib, @types, a package). */
function isLibrary(checker: ts.TypeChecker, identifier: ts.Identifier): boolean {
  const symbol = checker.getSymbolAtLocation(identifier);
  if (symbol === undefined) return true;
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const declarations = target.declarations ?? [];
  // An unresolved import (no declarations) of such a name is still treated as the real thing.
  return declarations.length === 0 || declarations.every((d) => d.getSourceFile().isDeclarationFile);
}

function isThenable(checker: ts.TypeChecker, type: ts.Type, at: ts.Node): boolean {
  const members = type.isUnion() ? type.types : [type];
  return members.some((member) => {
    const then = member.getProperty("then");
    return then !== undefined && checker.getTypeOfSymbolAtLocation(then, at).getCallSignatures().length > 0;
  });
}

/**
 * The machine's module, and the modules of its own package it imports, may not import I/O.
 * Reported at the machine module's import: that is where the fix goes.
 */
function checkImports(context: RuleContext, machine: MachineInfo): void {
  const start = machine.call.getSourceFile();
  const home = packageOf(start.fileName)?.root;
  const localModule = (specifier: ts.StringLiteral): ts.SourceFile | undefined => {
    const target = context.checker.getSymbolAtLocation(specifier)?.valueDeclaration;
    return target !== undefined &&
      ts.isSourceFile(target) &&
      isOwnSource(target.fileName) &&
      packageOf(target.fileName)?.root === home
      ? target
      : undefined;
  };
  for (const specifier of moduleSpecifiers(start)) {
    if (isIoModule(specifier.text, context.ioModules)) {
      context.report(
        RuleId.ImpureMachine,
        specifier,
        `the module of machine "${machine.name}" imports "${specifier.text}", an I/O module; ` +
          "move the I/O into an effect handler (in another module) and let the machine ask for it with an intent",
      );
      continue;
    }
    const first = localModule(specifier);
    if (first === undefined) continue;
    // Which I/O modules this local import pulls in, and through which modules.
    const pulled: string[] = [];
    const seen = new Set<ts.SourceFile>([start, first]);
    const queue: { file: ts.SourceFile; chain: string }[] = [{ file: first, chain: specifier.text }];
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      for (const inner of moduleSpecifiers(item.file)) {
        if (isIoModule(inner.text, context.ioModules)) {
          pulled.push(`"${inner.text}" (via ${item.chain})`);
          continue;
        }
        const next = localModule(inner);
        if (next !== undefined && !seen.has(next)) {
          seen.add(next);
          queue.push({ file: next, chain: `${item.chain} → ${inner.text}` });
        }
      }
    }
    if (pulled.length > 0) {
      context.report(
        RuleId.ImpureMachine,
        specifier,
        `the module of machine "${machine.name}" imports "${specifier.text}", which pulls in I/O: ${pulled.join(", ")}; ` +
          "keep the machine's module and the modules it imports free of I/O (define the machine in a module of its own)",
      );
    }
  }
}

/** The module names a file loads at run time: value imports, re-exports, `import()` and `require()`. */
function moduleSpecifiers(file: ts.SourceFile): ts.StringLiteral[] {
  const specifiers: ts.StringLiteral[] = [];
  for (const statement of file.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      if (!isTypeOnlyImport(statement)) specifiers.push(statement.moduleSpecifier);
    } else if (
      ts.isExportDeclaration(statement) &&
      !statement.isTypeOnly &&
      statement.moduleSpecifier !== undefined &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      specifiers.push(statement.moduleSpecifier);
    }
  }
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === "require"))
    ) {
      const first = node.arguments[0];
      if (first !== undefined && ts.isStringLiteral(first)) specifiers.push(first);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return specifiers;
}

function isTypeOnlyImport(declaration: ts.ImportDeclaration): boolean {
  const clause = declaration.importClause;
  if (clause === undefined) return false; // `import "x"` runs x
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  return bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.every((e) => e.isTypeOnly);
}
