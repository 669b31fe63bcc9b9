import ts from "typescript";

/** A type that stands for a domain value: a branded primitive, or a closed union of strings. */
export interface ValueObject {
  /** The type alias, e.g. `PaymentId`. */
  readonly name: string;
  /** Further names it answers to: the brand labels (`.brand<"MinorUnits">()`). */
  readonly labels: readonly string[];
  readonly base: "string" | "number";
  /** A branded primitive (`string & Brand`), as opposed to a union of string literals. */
  readonly branded: boolean;
  readonly declaration: ts.TypeAliasDeclaration;
}

/**
 * The value objects declared in `files`: type aliases that resolve to a primitive
 * (`string`/`number`) intersected with an object (a brand: zod's `.brand<"X">()`,
 * `string & { readonly __brand: "X" }`…), or to a union of two or more string literals
 * (`z.enum([...])`, a smart enum's type).
 */
export function findValueObjects(checker: ts.TypeChecker, files: readonly ts.SourceFile[]): ValueObject[] {
  const found: ValueObject[] = [];
  for (const file of files) {
    for (const statement of file.statements) {
      if (!ts.isTypeAliasDeclaration(statement) || statement.typeParameters !== undefined) continue;
      const type = checker.getTypeAtLocation(statement.name);
      const name = statement.name.text;
      if (type.isIntersection()) {
        const primitive = type.types.find((member) => member.flags & (ts.TypeFlags.String | ts.TypeFlags.Number));
        if (primitive === undefined || !type.types.some((member) => member.flags & ts.TypeFlags.Object)) continue;
        const base = primitive.flags & ts.TypeFlags.String ? "string" : "number";
        found.push({
          name,
          labels: brandLabels(checker, type, statement),
          base,
          branded: true,
          declaration: statement,
        });
      } else if (type.isUnion() && type.types.length >= 2 && type.types.every((member) => member.isStringLiteral())) {
        found.push({ name, labels: [], base: "string", branded: false, declaration: statement });
      }
    }
  }
  return found;
}

/** The labels of a brand: `{ [$brand]: { MinorUnits: true } }` or `{ __brand: "MinorUnits" }`. */
function brandLabels(checker: ts.TypeChecker, type: ts.IntersectionType, at: ts.Node): string[] {
  const labels: string[] = [];
  for (const member of type.types) {
    if ((member.flags & ts.TypeFlags.Object) === 0) continue;
    for (const property of member.getProperties()) {
      if (!/brand/i.test(property.name)) continue;
      const value = checker.getTypeOfSymbolAtLocation(property, at);
      if (value.isStringLiteral()) labels.push(value.value);
      else for (const label of value.getProperties()) labels.push(label.name);
    }
  }
  return labels;
}
