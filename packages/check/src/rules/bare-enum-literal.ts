import ts from "typescript";
import { propertyNameText, skipOuter } from "../drover-api.js";
import type { MachineInfo } from "../machines.js";
import { unionMembers } from "../machines.js";
import { packageOf } from "../package-name.js";
import type { Rule, RuleContext } from "../rule-context.js";
import { RuleId } from "../rule-id.js";
import type { SmartEnum } from "../smart-enums.js";

/**
 * bare-enum-literal: a string literal where the type expected is (a part of) a smart enum.
 * The literal is flagged when it is
 *
 * - compared (`===`, `!==`, `==`, `!=`) with an expression, or a `case` of a `switch` on an
 *   expression, whose type is a union of string literals each of which is a value of a
 *   smart enum (e.g. `result.kind === "processed"`), or
 * - written where the contextual type (a typed variable, parameter, property, return) is such
 *   a union (e.g. `const kind: RunResultKind = "processed"`), or
 * - an argument of a generic call (e.g. `reject("invalid_transition")`) whose result lands
 *   in a contextual type that expects that argument's property as such a union, or
 * - in the list of a machine's rejection reasons written as bare strings:
 *   `rejections: z.enum(["locked", "jammed"])` instead of `z.enum(DoorRejection)`.
 *
 * A contextual type that also admits `string` is open, and is not flagged. The smart enums
 * considered are those whose values are exactly the union's, and those visible where the
 * literal is: declared in the same package, or imported into the file. (So a narrowed
 * `"not_found"` is not blamed on an unrelated enum that happens to hold the same word.)
 */
export const bareEnumLiteral: Rule = (context) => {
  for (const machine of context.machines) checkRejections(context, machine);
  const definitions = new Set(context.enums.map((smartEnum) => smartEnum.definition));
  for (const file of context.checked) {
    const visit = (node: ts.Node): void => {
      if (definitions.has(node)) return;
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) check(context, node);
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
};

/** A machine's rejections written as `z.enum(["a", "b"])`: bare strings where a smart enum belongs. */
function checkRejections(context: RuleContext, machine: MachineInfo): void {
  for (const member of machine.definition?.properties ?? []) {
    if (!ts.isPropertyAssignment(member) || propertyNameText(member.name) !== "rejections") continue;
    const schema = skipOuter(member.initializer);
    const values = ts.isCallExpression(schema) ? schema.arguments[0] : undefined;
    if (values === undefined || !ts.isArrayLiteralExpression(values)) continue;
    if (!values.elements.some((element) => ts.isStringLiteralLike(element))) continue;
    context.report(
      RuleId.BareEnumLiteral,
      values,
      `the rejection reasons of machine "${machine.name}" are bare strings: declare them as a smart enum ` +
        '(`const XRejection = { Reason: "reason", … } as const`), pass `z.enum(XRejection)` and reject with its members',
    );
  }
}

function check(context: RuleContext, literal: ts.StringLiteral | ts.NoSubstitutionTemplateLiteral): void {
  const expected = expectedValues(context.checker, literal);
  if (expected === undefined || !expected.has(literal.text)) return;
  const file = literal.getSourceFile();
  const eligible = context.enums.filter(
    (smartEnum) => equals(smartEnum, expected) || isVisible(context, smartEnum, file),
  );
  // Every value the position admits must come from a smart enum, or the union is not made of them.
  if (![...expected].every((value) => eligible.some((smartEnum) => smartEnum.members.has(value)))) return;
  const coverage = (smartEnum: SmartEnum) => [...expected].filter((value) => smartEnum.members.has(value)).length;
  const candidates = eligible
    .filter((smartEnum) => smartEnum.members.has(literal.text))
    .sort((a, b) => coverage(b) - coverage(a) || a.members.size - b.members.size);
  const best = candidates[0];
  if (best === undefined) return;
  const member = (smartEnum: SmartEnum) => `${smartEnum.name}.${smartEnum.members.get(literal.text) ?? "?"}`;
  const others = candidates.slice(1, 3).map(member);
  context.report(
    RuleId.BareEnumLiteral,
    literal,
    `"${literal.text}" is ${member(best)}${others.length > 0 ? ` (or ${others.join(", ")})` : ""}: ` +
      `use the smart enum member, not a bare string, so a renamed or removed value fails to compile`,
  );
}

function equals(smartEnum: SmartEnum, values: ReadonlySet<string>): boolean {
  return smartEnum.members.size === values.size && [...values].every((value) => smartEnum.members.has(value));
}

/** True when the enum is declared in the file's package, or imported into the file by name. */
function isVisible(context: RuleContext, smartEnum: SmartEnum, file: ts.SourceFile): boolean {
  const home = smartEnum.definition.getSourceFile();
  if (home === file || packageOf(home.fileName)?.root === packageOf(file.fileName)?.root) return true;
  return importedNames(context.checker, file).has(smartEnum.declaration);
}

const imports = new WeakMap<ts.SourceFile, Set<ts.Node>>();

/** The declarations a file imports by name (through aliases). */
function importedNames(checker: ts.TypeChecker, file: ts.SourceFile): Set<ts.Node> {
  const cached = imports.get(file);
  if (cached !== undefined) return cached;
  const declarations = new Set<ts.Node>();
  for (const statement of file.statements) {
    const bindings = ts.isImportDeclaration(statement) ? statement.importClause?.namedBindings : undefined;
    if (bindings === undefined || !ts.isNamedImports(bindings)) continue;
    for (const element of bindings.elements) {
      const symbol = checker.getSymbolAtLocation(element.name);
      const target = symbol === undefined ? undefined : checker.getAliasedSymbol(symbol);
      for (const declaration of target?.declarations ?? []) declarations.add(declaration);
    }
  }
  imports.set(file, declarations);
  return declarations;
}

/** The string values the literal's position admits, when they form a closed union; else `undefined`. */
function expectedValues(
  checker: ts.TypeChecker,
  literal: ts.StringLiteral | ts.NoSubstitutionTemplateLiteral,
): ReadonlySet<string> | undefined {
  const parent = literal.parent;
  if (ts.isBinaryExpression(parent) && isEquality(parent.operatorToken.kind)) {
    const other = parent.left === literal ? parent.right : parent.left;
    if (ts.isStringLiteralLike(other)) return undefined;
    return closedValues(declaredTypes(checker, other));
  }
  if (ts.isCaseClause(parent) && parent.expression === literal) {
    return closedValues(declaredTypes(checker, parent.parent.parent.expression));
  }
  if (!isValuePosition(literal)) return undefined;
  const generic = genericArgument(checker, literal);
  if (generic !== undefined) return valuesThroughCall(checker, generic);
  const contextual = checker.getContextualType(literal);
  return contextual === undefined ? undefined : closedValues([contextual]);
}

/**
 * The types an expression is declared with, before narrowing: after
 * `if (result.kind === RunResultKind.Processed) return;` a later `result.kind === "rejected"`
 * is still compared with all of `RunResultKind`, not with the five kinds left.
 */
function declaredTypes(checker: ts.TypeChecker, expression: ts.Expression): readonly ts.Type[] {
  const inner = skipOuter(expression);
  if (ts.isIdentifier(inner)) {
    const symbol = checker.getSymbolAtLocation(inner);
    const declaration = symbol?.valueDeclaration;
    if (
      symbol !== undefined &&
      declaration !== undefined &&
      (ts.isVariableDeclaration(declaration) || ts.isParameter(declaration))
    ) {
      return unionMembers(checker.getTypeOfSymbol(symbol));
    }
  } else if (ts.isPropertyAccessExpression(inner)) {
    const receivers = declaredTypes(checker, inner.expression);
    const types: ts.Type[] = [];
    for (const receiver of receivers) {
      if (receiver.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)) continue;
      const property = receiver.getProperty(inner.name.text);
      if (property === undefined) return unionMembers(checker.getTypeAtLocation(inner));
      types.push(...unionMembers(checker.getTypeOfSymbolAtLocation(property, inner)));
    }
    if (types.length > 0) return types;
  }
  return unionMembers(checker.getTypeAtLocation(inner));
}

/** A literal inside an argument passed for a parameter typed by a type parameter (`reject("x")`, `accept({ status: "x" })`). */
interface GenericArgument {
  readonly call: ts.CallExpression;
  /** The type parameter the argument is declared as. */
  readonly parameter: ts.Type;
  /** Property names from the argument down to the literal. */
  readonly path: readonly string[];
}

function genericArgument(checker: ts.TypeChecker, literal: ts.Expression): GenericArgument | undefined {
  const path: string[] = [];
  let node: ts.Node = literal;
  for (;;) {
    const parent: ts.Node = node.parent;
    if (ts.isPropertyAssignment(parent) && parent.initializer === node) {
      const name = ts.isIdentifier(parent.name) || ts.isStringLiteral(parent.name) ? parent.name.text : undefined;
      if (name === undefined) return undefined;
      path.unshift(name);
      node = parent.parent;
    } else if (ts.isParenthesizedExpression(parent)) node = parent;
    else if (ts.isCallExpression(parent) && parent.arguments.some((argument) => argument === node)) {
      const declaration = checker.getResolvedSignature(parent)?.getDeclaration();
      const index = parent.arguments.indexOf(node as ts.Expression);
      const typeNode = declaration?.parameters[index]?.type;
      if (typeNode === undefined) return undefined;
      const parameter = checker.getTypeAtLocation(typeNode);
      return parameter.flags & ts.TypeFlags.TypeParameter ? { call: parent, parameter, path } : undefined;
    } else return undefined;
  }
}

/**
 * Where a generic call's result goes: the call's declared return type has a property of the
 * argument's type parameter (`Rejected<Reason>.reason`, `Accepted<State>.state`); the values
 * the call's contextual type admits at that property, then down the literal's path.
 */
function valuesThroughCall(checker: ts.TypeChecker, generic: GenericArgument): ReadonlySet<string> | undefined {
  const { call, parameter, path } = generic;
  const declaration = checker.getResolvedSignature(call)?.getDeclaration();
  const target = checker.getContextualType(call);
  if (declaration === undefined || target === undefined) return undefined;
  const declared = checker.getSignatureFromDeclaration(declaration)?.getReturnType();
  if (declared === undefined) return undefined;
  for (const slot of declared.getProperties()) {
    if (checker.getTypeOfSymbol(slot) !== parameter) continue;
    let types: ts.Type[] = [];
    for (const member of unionMembers(target)) {
      const property = member.getProperty(slot.name);
      if (property !== undefined) types.push(...unionMembers(checker.getTypeOfSymbolAtLocation(property, call)));
    }
    for (const name of path) {
      const next: ts.Type[] = [];
      for (const type of types) {
        const property = type.getProperty(name);
        if (property !== undefined) next.push(...unionMembers(checker.getTypeOfSymbolAtLocation(property, call)));
      }
      types = next;
    }
    if (types.length > 0) return closedValues(types);
  }
  return undefined;
}

/** The string literal values of union members with no open `string` among them (undefined/null ignored). */
function closedValues(types: readonly ts.Type[]): ReadonlySet<string> | undefined {
  const values = new Set<string>();
  for (const member of types.flatMap(unionMembers)) {
    if (member.isStringLiteral()) values.add(member.value);
    else if ((member.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)) === 0) return undefined;
  }
  return values.size > 0 ? values : undefined;
}

function isEquality(kind: ts.SyntaxKind): boolean {
  return (
    kind === ts.SyntaxKind.EqualsEqualsEqualsToken ||
    kind === ts.SyntaxKind.ExclamationEqualsEqualsToken ||
    kind === ts.SyntaxKind.EqualsEqualsToken ||
    kind === ts.SyntaxKind.ExclamationEqualsToken
  );
}

/** True for a literal used as a value (not a module name, property name, type or index). */
function isValuePosition(literal: ts.Node): boolean {
  const parent = literal.parent;
  if (ts.isLiteralTypeNode(parent) || ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent)) return false;
  if (ts.isExternalModuleReference(parent) || ts.isImportTypeNode(parent)) return false;
  if ((ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.name === literal) return false;
  if (ts.isElementAccessExpression(parent) && parent.argumentExpression === literal) return false;
  if (ts.isComputedPropertyName(parent)) return false;
  return true;
}
