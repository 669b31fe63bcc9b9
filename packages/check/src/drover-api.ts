import ts from "typescript";
import { packageOf } from "./package-name.js";

/** The package whose functions mark machines and effect handlers. */
export const CORE_PACKAGE = "@drover/core";

/** A function with a body: what a machine's `create`/`handle` or an effect handler can be. */
export type FunctionWithBody =
  | ts.FunctionDeclaration
  | ts.FunctionExpression
  | ts.ArrowFunction
  | ts.MethodDeclaration
  | ts.ConstructorDeclaration
  | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration;

/**
 * True when `call` calls `name` exported by @drover/core: resolved by the type checker to a
 * declaration inside the @drover/core package (its sources or its published .d.ts), or, when
 * the import does not resolve, imported by that name from "@drover/core".
 */
export function callsCore(checker: ts.TypeChecker, call: ts.CallExpression, name: string): boolean {
  const callee = ts.isPropertyAccessExpression(call.expression) ? call.expression.name : call.expression;
  if (!ts.isIdentifier(callee)) return false;
  const symbol = checker.getSymbolAtLocation(callee);
  if (symbol === undefined) return false;
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const declaration = target.declarations?.[0];
  if (declaration !== undefined) {
    return target.name === name && packageOf(declaration.getSourceFile().fileName)?.name === CORE_PACKAGE;
  }
  const specifier = symbol.declarations?.[0];
  if (specifier === undefined || !ts.isImportSpecifier(specifier)) return false;
  const imported = (specifier.propertyName ?? specifier.name).text;
  const from = specifier.parent.parent.parent.moduleSpecifier;
  return imported === name && ts.isStringLiteral(from) && from.text === CORE_PACKAGE;
}

/** The function `expression` refers to (an inline function, or a name bound to one), if any. */
export function resolveFunction(checker: ts.TypeChecker, expression: ts.Expression): FunctionWithBody | undefined {
  const inner = skipOuter(expression);
  if (ts.isFunctionExpression(inner) || ts.isArrowFunction(inner)) return inner;
  if (!ts.isIdentifier(inner) && !ts.isPropertyAccessExpression(inner)) return undefined;
  const symbol = checker.getSymbolAtLocation(inner);
  return symbol === undefined ? undefined : functionOfSymbol(checker, symbol);
}

/** The function a symbol is declared as (`function f`, `const f = () => …`, a method), if any. */
export function functionOfSymbol(checker: ts.TypeChecker, symbol: ts.Symbol): FunctionWithBody | undefined {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  for (const declaration of target.declarations ?? []) {
    if (
      (ts.isFunctionDeclaration(declaration) || ts.isMethodDeclaration(declaration)) &&
      declaration.body !== undefined
    ) {
      return declaration;
    }
    if (ts.isVariableDeclaration(declaration) && declaration.initializer !== undefined) {
      const initializer = skipOuter(declaration.initializer);
      if (ts.isFunctionExpression(initializer) || ts.isArrowFunction(initializer)) return initializer;
    }
  }
  return undefined;
}

/** The object literal `expression` is, or the `const` it names is initialised with. */
export function objectLiteralOf(
  checker: ts.TypeChecker,
  expression: ts.Expression | undefined,
): ts.ObjectLiteralExpression | undefined {
  if (expression === undefined) return undefined;
  const inner = skipOuter(expression);
  if (ts.isObjectLiteralExpression(inner)) return inner;
  if (!ts.isIdentifier(inner)) return undefined;
  const symbol = checker.getSymbolAtLocation(inner);
  const declaration = symbol?.valueDeclaration;
  if (declaration === undefined || !ts.isVariableDeclaration(declaration) || declaration.initializer === undefined) {
    return undefined;
  }
  const initializer = skipOuter(declaration.initializer);
  return ts.isObjectLiteralExpression(initializer) ? initializer : undefined;
}

/** The function each member of an object literal holds, by member name. */
export function functionMembers(
  checker: ts.TypeChecker,
  object: ts.ObjectLiteralExpression,
): Map<string, { readonly member: ts.ObjectLiteralElementLike; readonly fn: FunctionWithBody }> {
  const members = new Map<string, { member: ts.ObjectLiteralElementLike; fn: FunctionWithBody }>();
  for (const member of object.properties) {
    const name = member.name === undefined ? undefined : propertyNameText(member.name);
    if (name === undefined) continue;
    let fn: FunctionWithBody | undefined;
    if (ts.isMethodDeclaration(member)) fn = member;
    else if (ts.isPropertyAssignment(member)) fn = resolveFunction(checker, member.initializer);
    else if (ts.isShorthandPropertyAssignment(member)) {
      const symbol = checker.getShorthandAssignmentValueSymbol(member);
      fn = symbol === undefined ? undefined : functionOfSymbol(checker, symbol);
    }
    if (fn !== undefined) members.set(name, { member, fn });
  }
  return members;
}

/** The text of a property name that is an identifier, string or number literal. */
export function propertyNameText(name: ts.PropertyName | ts.BindingName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  if (ts.isPrivateIdentifier(name)) return name.text;
  return undefined;
}

/** `expression` without parentheses, `as`, `satisfies`, `!` and type assertions around it. */
export function skipOuter(expression: ts.Expression): ts.Expression {
  let current = expression;
  while (
    ts.isParenthesizedExpression(current) ||
    ts.isAsExpression(current) ||
    ts.isSatisfiesExpression(current) ||
    ts.isNonNullExpression(current) ||
    ts.isTypeAssertionExpression(current)
  ) {
    current = current.expression;
  }
  return current;
}

/** A readable name for a function: its declared name, or the member/variable holding it. */
export function functionName(fn: FunctionWithBody): string {
  if (fn.name !== undefined && !ts.isComputedPropertyName(fn.name)) return fn.name.getText();
  const parent = fn.parent;
  if (
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) &&
    !ts.isComputedPropertyName(parent.name)
  ) {
    return parent.name.getText();
  }
  return "(anonymous function)";
}
