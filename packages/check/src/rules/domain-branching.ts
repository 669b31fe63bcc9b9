import ts from "typescript";
import type { FunctionWithBody } from "../drover-api.js";
import { functionName, propertyNameText, resolveFunction, skipOuter } from "../drover-api.js";
import { unionMembers } from "../machines.js";
import { packageOf } from "../package-name.js";
import { isOwnSource } from "../project.js";
import type { Rule, RuleContext } from "../rule-context.js";
import { RuleId } from "../rule-id.js";

/**
 * domain-branching: deciding on domain data belongs in the machine.
 *
 * - In an effect handler (a member of the object passed to `defineEffects`), a condition may
 *   not read a field of the intent (the handler's first parameter) other than `type`; nor
 *   may a function of the same package the handler passes the whole intent to.
 * - In runtime code (files selected by the `runtime` globs), a condition may not read a
 *   property of a machine's state, event or intent type (other than `type`), nor read by
 *   name a domain field (a property of any machine's state, event or intent) from a value
 *   whose type does not declare it (`any`, `unknown` casts, `Record<string, …>`, JSON).
 *   Modules that define a machine are domain code and are skipped.
 *
 * A condition is: the test of `if`, `while`, `do … while`, `for (;;)` and `? :`, the
 * expression of `switch` and of each `case`, and the left operand of `&&`, `||` and `??`.
 */
export const domainBranching: Rule = (context) => {
  for (const effects of context.effects) {
    for (const [intentType, { fn }] of effects.handlers) checkHandler(context, intentType, fn);
  }
  const fieldNames = new Set(context.machines.flatMap((machine) => [...machine.fieldNames]));
  const domainTypes = new Set(context.machines.flatMap((machine) => machine.domainTypes));
  // A module that defines a machine is domain code, wherever it lives.
  const machineFiles = new Set(context.machines.map((machine) => machine.call.getSourceFile()));
  for (const file of context.checked) {
    if (context.isRuntime(file) && !machineFiles.has(file)) checkRuntime(context, file, fieldNames, domainTypes);
  }
};

/**
 * Checks one handler, and the functions of the same package it hands the whole intent to
 * (`(intent, ctx) => authorize(deps, intent, ctx)`), parameter by parameter.
 */
function checkHandler(
  context: RuleContext,
  intentType: string,
  fn: FunctionWithBody,
  index = 0,
  seen = new Set<FunctionWithBody>(),
): void {
  const parameter = fn.parameters[index];
  if (parameter === undefined || fn.body === undefined || seen.has(fn)) return;
  seen.add(fn);
  const where =
    seen.size === 1
      ? `the ${intentType} effect handler`
      : `\`${functionName(fn)}\`, called by the ${intentType} effect handler,`;
  const { checker } = context;
  // The intent itself (and names it is copied to), and the names its fields are bound to.
  const wholes = new Set<ts.Symbol>();
  const fields = new Map<ts.Symbol, string>();
  const bind = (name: ts.BindingName, field: string | undefined): void => {
    if (ts.isIdentifier(name)) {
      const symbol = checker.getSymbolAtLocation(name);
      if (symbol === undefined) return;
      if (field === undefined) wholes.add(symbol);
      else if (field !== "type") fields.set(symbol, field);
      return;
    }
    if (field !== undefined) return; // a nested pattern inside a field: the field is already data
    for (const element of name.elements) {
      if (ts.isOmittedExpression(element)) continue;
      if (element.dotDotDotToken !== undefined) bind(element.name, undefined);
      else {
        const key = element.propertyName === undefined ? element.name : element.propertyName;
        const text = ts.isComputedPropertyName(key) ? undefined : propertyNameText(key);
        if (text !== undefined) bind(element.name, text);
      }
    }
  };
  bind(parameter.name, undefined);
  // `const x = intent`, `const { amount } = intent`, `const amount = intent.amount`.
  const collect = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && node.initializer !== undefined) {
      const initializer = skipOuter(node.initializer);
      if (refersTo(checker, initializer, wholes)) bind(node.name, undefined);
      else if (ts.isPropertyAccessExpression(initializer) && refersTo(checker, initializer.expression, wholes)) {
        bind(node.name, initializer.name.text);
      }
    }
    ts.forEachChild(node, collect);
  };
  collect(fn.body);
  forEachCondition(fn.body, (condition) => {
    forEachRead(condition, (read) => {
      let field: string | undefined;
      if (ts.isIdentifier(read)) {
        const symbol = checker.getSymbolAtLocation(read);
        field = symbol === undefined ? undefined : fields.get(symbol);
      } else if (refersTo(checker, read.expression, wholes)) {
        field = accessedName(read);
        if (field === "type") field = undefined;
      }
      if (field !== undefined) {
        context.report(
          RuleId.DomainBranching,
          read,
          `${where} branches on the intent's \`${field}\`; decide in the machine ` +
            "and put the outcome in the intent (e.g. a separate intent type): a handler only carries data to the outside world",
        );
      }
    });
  });
  const home = packageOf(fn.getSourceFile().fileName)?.root;
  const follow = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const target = resolveFunction(checker, node.expression);
      const file = target?.getSourceFile().fileName;
      if (target !== undefined && file !== undefined && isOwnSource(file) && packageOf(file)?.root === home) {
        node.arguments.forEach((argument, position) => {
          if (refersTo(checker, argument, wholes)) checkHandler(context, intentType, target, position, seen);
        });
      }
    }
    ts.forEachChild(node, follow);
  };
  follow(fn.body);
}

function checkRuntime(
  context: RuleContext,
  file: ts.SourceFile,
  fieldNames: ReadonlySet<string>,
  domainTypes: ReadonlySet<ts.Type>,
): void {
  const { checker } = context;
  forEachCondition(file, (condition) => {
    forEachRead(condition, (read) => {
      if (ts.isIdentifier(read)) return;
      const name = accessedName(read);
      if (name === undefined || name === "type") return;
      const receiver = checker.getNonNullableType(checker.getTypeAtLocation(read.expression));
      const ofDomainType = unionMembers(receiver).some((member) => domainTypes.has(member));
      const undeclared = fieldNames.has(name) && !declaresProperty(checker, read);
      if (ofDomainType || undeclared) {
        context.report(
          RuleId.DomainBranching,
          read,
          `runtime code branches on the domain field \`${name}\`; only flow control belongs here ` +
            "(result kinds, versions, statuses of runtime records): let the machine decide and return a Decision",
        );
      }
    });
  });
}

/** True when the property read resolves to a declared property (not an index signature, not `any`). */
function declaresProperty(checker: ts.TypeChecker, read: ts.PropertyAccessExpression | ts.ElementAccessExpression) {
  const node = ts.isPropertyAccessExpression(read) ? read.name : read.argumentExpression;
  const symbol = checker.getSymbolAtLocation(node);
  return symbol !== undefined && (symbol.declarations?.length ?? 0) > 0;
}

/** Calls `each` with every condition (see the rule's definition) under `root`. */
function forEachCondition(root: ts.Node, each: (condition: ts.Expression) => void): void {
  const visit = (node: ts.Node): void => {
    if (ts.isIfStatement(node) || ts.isWhileStatement(node) || ts.isDoStatement(node)) each(node.expression);
    else if (ts.isForStatement(node) && node.condition !== undefined) each(node.condition);
    else if (ts.isConditionalExpression(node)) each(node.condition);
    else if (ts.isSwitchStatement(node)) each(node.expression);
    else if (ts.isCaseClause(node)) each(node.expression);
    else if (
      ts.isBinaryExpression(node) &&
      (node.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken ||
        node.operatorToken.kind === ts.SyntaxKind.BarBarToken ||
        node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)
    ) {
      each(node.left);
    }
    ts.forEachChild(node, visit);
  };
  visit(root);
}

/** Calls `each` with every identifier and property read in `condition`, not inside nested functions. */
function forEachRead(
  condition: ts.Expression,
  each: (read: ts.Identifier | ts.PropertyAccessExpression | ts.ElementAccessExpression) => void,
): void {
  const seen = new Set<ts.Node>();
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node)) return;
    if (seen.has(node)) return;
    seen.add(node);
    if (ts.isPropertyAccessExpression(node)) {
      each(node);
      visit(node.expression);
      return;
    }
    if (ts.isElementAccessExpression(node)) each(node);
    else if (ts.isIdentifier(node)) each(node);
    ts.forEachChild(node, visit);
  };
  visit(condition);
}

function accessedName(read: ts.PropertyAccessExpression | ts.ElementAccessExpression): string | undefined {
  if (ts.isPropertyAccessExpression(read)) return read.name.text;
  return ts.isStringLiteralLike(read.argumentExpression) ? read.argumentExpression.text : undefined;
}

function refersTo(checker: ts.TypeChecker, expression: ts.Expression, symbols: ReadonlySet<ts.Symbol>): boolean {
  const inner = skipOuter(expression);
  if (!ts.isIdentifier(inner)) return false;
  const symbol = checker.getSymbolAtLocation(inner);
  return symbol !== undefined && symbols.has(symbol);
}
