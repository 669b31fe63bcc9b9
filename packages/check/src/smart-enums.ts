import ts from "typescript";
import { skipOuter } from "./drover-api.js";

/** A smart enum: `const X = { Member: "value", … } as const` (or its published `.d.ts` form). */
export interface SmartEnum {
  readonly name: string;
  /** Value → member name. */
  readonly members: ReadonlyMap<string, string>;
  /** The object literal (source) or type literal (.d.ts): literals inside it are the definition. */
  readonly definition: ts.Node;
  /** The `const` declaring it (what an import of it resolves to). */
  readonly declaration: ts.VariableDeclaration;
}

/**
 * The smart enums declared in `files`: `const` variables whose initializer is an object
 * literal of two or more string literals followed by `as const` (optionally `satisfies …`),
 * and, in declaration files, `const` variables typed as an object of two or more `readonly`
 * string literal members (what `tsc` emits for the former).
 */
export function findSmartEnums(files: readonly ts.SourceFile[]): SmartEnum[] {
  const enums: SmartEnum[] = [];
  for (const file of files) {
    for (const statement of file.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      if ((statement.declarationList.flags & ts.NodeFlags.Const) === 0) continue;
      for (const declaration of statement.declarationList.declarations) {
        if (!ts.isIdentifier(declaration.name)) continue;
        const found = file.isDeclarationFile ? fromDeclaration(declaration) : fromSource(declaration);
        if (found !== undefined && found.members.size >= 2)
          enums.push({ name: declaration.name.text, declaration, ...found });
      }
    }
  }
  return enums;
}

type Found = { members: Map<string, string>; definition: ts.Node } | undefined;

function fromSource(declaration: ts.VariableDeclaration): Found {
  let initializer = declaration.initializer;
  if (initializer === undefined) return undefined;
  while (ts.isSatisfiesExpression(initializer) || ts.isParenthesizedExpression(initializer)) {
    initializer = initializer.expression;
  }
  if (!ts.isAsExpression(initializer) || !isConstType(initializer.type)) return undefined;
  const object = skipOuter(initializer.expression);
  if (!ts.isObjectLiteralExpression(object)) return undefined;
  const members = new Map<string, string>();
  for (const property of object.properties) {
    if (!ts.isPropertyAssignment(property) || !ts.isIdentifier(property.name)) return undefined;
    if (!ts.isStringLiteralLike(property.initializer)) return undefined;
    members.set(property.initializer.text, property.name.text);
  }
  return { members, definition: object };
}

function fromDeclaration(declaration: ts.VariableDeclaration): Found {
  const type = declaration.type;
  if (type === undefined || !ts.isTypeLiteralNode(type)) return undefined;
  const members = new Map<string, string>();
  for (const member of type.members) {
    if (!ts.isPropertySignature(member) || !ts.isIdentifier(member.name) || member.type === undefined) return undefined;
    const readonly = ts.getModifiers(member)?.some((modifier) => modifier.kind === ts.SyntaxKind.ReadonlyKeyword);
    if (!readonly || !ts.isLiteralTypeNode(member.type) || !ts.isStringLiteral(member.type.literal)) return undefined;
    members.set(member.type.literal.text, member.name.text);
  }
  return { members, definition: type };
}

function isConstType(type: ts.TypeNode): boolean {
  return ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName) && type.typeName.text === "const";
}
