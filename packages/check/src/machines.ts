import ts from "typescript";
import type { FunctionWithBody } from "./drover-api.js";
import { callsCore, functionMembers, objectLiteralOf } from "./drover-api.js";

/** A machine found in the program: a `defineMachine({...})` call of @drover/core. */
export interface MachineInfo {
  readonly call: ts.CallExpression;
  /** The `name` member when it is a literal, else the variable the machine is assigned to. */
  readonly name: string;
  /** The definition object, when it is an object literal (or a `const` holding one). */
  readonly definition: ts.ObjectLiteralExpression | undefined;
  /** `create` and `handle` as written in the definition (inline, shorthand or named functions). */
  readonly functions: ReadonlyMap<
    string,
    { readonly member: ts.ObjectLiteralElementLike; readonly fn: FunctionWithBody }
  >;
  /** The union members of the machine's state, event and intent types. */
  readonly domainTypes: readonly ts.Type[];
  /** Every property name of those types but `type` (the routing discriminator). */
  readonly fieldNames: ReadonlySet<string>;
}

/** An effect handlers object: the second argument of a `defineEffects(machine, {...})` call. */
export interface EffectsInfo {
  readonly call: ts.CallExpression;
  readonly handlers: ReadonlyMap<
    string,
    { readonly member: ts.ObjectLiteralElementLike; readonly fn: FunctionWithBody }
  >;
}

/** Every `defineMachine` and `defineEffects` call in `files`. */
export function findDefinitions(
  checker: ts.TypeChecker,
  files: readonly ts.SourceFile[],
): { machines: MachineInfo[]; effects: EffectsInfo[] } {
  const machines: MachineInfo[] = [];
  const effects: EffectsInfo[] = [];
  for (const file of files) {
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        if (callsCore(checker, node, "defineMachine")) machines.push(machineInfo(checker, node));
        else if (callsCore(checker, node, "defineEffects")) {
          const object = objectLiteralOf(checker, node.arguments[1]);
          if (object !== undefined) effects.push({ call: node, handlers: functionMembers(checker, object) });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return { machines, effects };
}

function machineInfo(checker: ts.TypeChecker, call: ts.CallExpression): MachineInfo {
  const definition = objectLiteralOf(checker, call.arguments[0]);
  const functions = definition === undefined ? new Map() : functionMembers(checker, definition);
  const domainTypes = machineDomainTypes(checker, call);
  const fieldNames = new Set<string>();
  for (const type of domainTypes) {
    for (const property of type.getProperties()) if (property.name !== "type") fieldNames.add(property.name);
  }
  return { call, name: machineName(definition, call), definition, functions, domainTypes, fieldNames };
}

function machineName(definition: ts.ObjectLiteralExpression | undefined, call: ts.CallExpression): string {
  for (const member of definition?.properties ?? []) {
    if (
      ts.isPropertyAssignment(member) &&
      ts.isIdentifier(member.name) &&
      member.name.text === "name" &&
      ts.isStringLiteralLike(member.initializer)
    ) {
      return member.initializer.text;
    }
  }
  let parent: ts.Node = call.parent;
  while (!ts.isVariableDeclaration(parent) && !ts.isSourceFile(parent)) parent = parent.parent;
  return ts.isVariableDeclaration(parent) ? parent.name.getText() : "(unnamed machine)";
}

/** State, event and intent types of the machine a `defineMachine` call returns, as union members. */
function machineDomainTypes(checker: ts.TypeChecker, call: ts.CallExpression): ts.Type[] {
  const machine = checker.getTypeAtLocation(call);
  const types: ts.Type[] = [];
  const handle = machine.getProperty("handle");
  const signature =
    handle === undefined ? undefined : checker.getTypeOfSymbolAtLocation(handle, call).getCallSignatures()[0];
  if (signature !== undefined) {
    for (const parameter of signature.parameters.slice(0, 2)) {
      types.push(...unionMembers(checker.getTypeOfSymbolAtLocation(parameter, call)));
    }
    for (const decision of unionMembers(signature.getReturnType())) {
      const intents = decision.getProperty("intents");
      const element =
        intents === undefined ? undefined : checker.getTypeOfSymbolAtLocation(intents, call).getNumberIndexType();
      if (element !== undefined) types.push(...unionMembers(element));
    }
  }
  return types.filter((type) => (type.flags & ts.TypeFlags.Object) !== 0);
}

/** The members of a union type, or the type itself. */
export function unionMembers(type: ts.Type): readonly ts.Type[] {
  return type.isUnion() ? type.types : [type];
}
