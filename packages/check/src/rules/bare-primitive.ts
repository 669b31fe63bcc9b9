import ts from "typescript";
import type { Rule, RuleContext } from "../rule-context.js";
import { RuleId } from "../rule-id.js";
import type { ValueObject } from "../value-objects.js";

/** Names of numeric parameters that hold an amount of money. */
const AMOUNT_ROLE = /^(amount|total|price|cost|fee|balance|captured|refunded|authorized|cents|minorUnits)$|Amount$/;
/** Names of numeric value objects that hold an amount of money. */
const AMOUNT_TYPE = /units|money|amount|cents|price/i;

/**
 * bare-primitive: in a domain module, an exported function, method, constructor or interface
 * method signature takes a parameter typed `string` or `number` whose name says it is a value
 * the program has a value object for.
 *
 * A domain module defines a machine, declares a branded value object, or imports one from
 * the user's code. A parameter matches a value object of the same primitive when its name,
 * compared case-insensitively, equals the value object's name or a brand label
 * (`paymentId` ↔ `PaymentId`, `currency` ↔ `Currency`) or ends with it at a word boundary
 * (`payerCustomerId` ↔ `CustomerId`); a `number` named like an amount (`amount`, `total`,
 * `price`, `fee`, `…Amount`) matches a numeric value object named like one (`MinorUnits`,
 * `Money…`, `…Amount`, `Cents`). A function whose return type names the value object it
 * matched (`parsePaymentId(paymentId: string): PaymentId`, `Result<PaymentId>`) is that
 * value object's parser, and is not reported.
 */
export const barePrimitive: Rule = (context) => {
  if (context.valueObjects.length === 0) return;
  const machineFiles = new Set(context.machines.map((machine) => machine.call.getSourceFile()));
  const brandDeclarations = new Set(context.valueObjects.filter((vo) => vo.branded).map((vo) => vo.declaration));
  for (const file of context.checked) {
    if (!machineFiles.has(file) && !declaresOrImportsBrand(context, file, brandDeclarations)) continue;
    for (const parameter of exportedParameters(file)) {
      if (!ts.isIdentifier(parameter.name) || parameter.type === undefined) continue;
      const base =
        parameter.type.kind === ts.SyntaxKind.StringKeyword
          ? "string"
          : parameter.type.kind === ts.SyntaxKind.NumberKeyword
            ? "number"
            : undefined;
      if (base === undefined) continue;
      const returned = returnedText(context.checker, parameter.parent);
      const matches = context.valueObjects.filter(
        // A function that takes the primitive and gives the value object back is its parser: fine.
        (vo) =>
          vo.base === base && fits(parameter.name.getText(), vo) && !new RegExp(`\\b${vo.name}\\b`).test(returned),
      );
      const best = matches.sort((a, b) => Number(b.branded) - Number(a.branded))[0];
      if (best === undefined) continue;
      context.report(
        RuleId.BarePrimitive,
        parameter,
        `\`${parameter.name.getText()}: ${base}\` in a domain signature: take a ${best.name} instead ` +
          `(parse it once at the edge, then pass the value object)`,
      );
    }
  }
};

/** The signature's return type as text (`""` when there is none). */
function returnedText(checker: ts.TypeChecker, signature: ts.SignatureDeclaration): string {
  if (ts.isConstructorDeclaration(signature)) return "";
  const resolved = checker.getSignatureFromDeclaration(signature);
  return resolved === undefined
    ? ""
    : checker.typeToString(resolved.getReturnType(), undefined, ts.TypeFormatFlags.NoTruncation);
}

function fits(parameter: string, vo: ValueObject): boolean {
  for (const name of [vo.name, ...vo.labels]) {
    if (parameter.toLowerCase() === name.toLowerCase()) return true;
    // `payerCustomerId` ends with `CustomerId` at a word boundary.
    const suffix = name.charAt(0).toUpperCase() + name.slice(1);
    if (parameter.length > suffix.length && parameter.endsWith(suffix)) return true;
  }
  return (
    vo.base === "number" && AMOUNT_ROLE.test(parameter) && [vo.name, ...vo.labels].some((n) => AMOUNT_TYPE.test(n))
  );
}

function declaresOrImportsBrand(
  context: RuleContext,
  file: ts.SourceFile,
  brands: ReadonlySet<ts.TypeAliasDeclaration>,
): boolean {
  for (const statement of file.statements) {
    if (ts.isTypeAliasDeclaration(statement) && brands.has(statement)) return true;
    if (!ts.isImportDeclaration(statement)) continue;
    const bindings = statement.importClause?.namedBindings;
    if (bindings === undefined || !ts.isNamedImports(bindings)) continue;
    for (const element of bindings.elements) {
      const symbol = context.checker.getSymbolAtLocation(element.name);
      const target = symbol === undefined ? undefined : context.checker.getAliasedSymbol(symbol);
      if (target?.declarations?.some((d) => ts.isTypeAliasDeclaration(d) && brands.has(d))) return true;
    }
  }
  return false;
}

/** Parameters of the exported signatures of a module (functions, class members, interface methods). */
function exportedParameters(file: ts.SourceFile): ts.ParameterDeclaration[] {
  const signatures: ts.SignatureDeclaration[] = [];
  for (const statement of file.statements) {
    if (!isExported(statement)) continue;
    if (ts.isFunctionDeclaration(statement)) signatures.push(statement);
    else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        const initializer = declaration.initializer;
        if (initializer !== undefined && (ts.isArrowFunction(initializer) || ts.isFunctionExpression(initializer))) {
          signatures.push(initializer);
        }
      }
    } else if (ts.isClassDeclaration(statement)) {
      for (const member of statement.members) {
        if (!(ts.isConstructorDeclaration(member) || ts.isMethodDeclaration(member))) continue;
        if (member.name !== undefined && ts.isPrivateIdentifier(member.name)) continue;
        const hidden = ts
          .getModifiers(member)
          ?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword);
        if (!hidden) signatures.push(member);
      }
    } else if (ts.isInterfaceDeclaration(statement)) {
      for (const member of statement.members) {
        if (ts.isMethodSignature(member) || ts.isCallSignatureDeclaration(member)) signatures.push(member);
        else if (ts.isPropertySignature(member) && member.type !== undefined && ts.isFunctionTypeNode(member.type)) {
          signatures.push(member.type);
        }
      }
    }
  }
  return signatures.flatMap((signature) => [...signature.parameters]);
}

function isExported(statement: ts.Statement): boolean {
  return ts.canHaveModifiers(statement)
    ? (ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword) ?? false)
    : false;
}
