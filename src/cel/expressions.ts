// Flux's CEL expressions (fluxcd/pkg runtime/cel): `healthCheckExprs` status readers and `dependsOn[].readyExpr`,
// evaluated with @bufbuild/cel over Kubernetes objects as parsed from JSON. Integers are CEL ints and a missing
// field is an error ("no such key"), as in cel-go over unstructured maps, so `has()` and `status.replicas == 3`
// behave as they do in Flux. The library's strings extension plus small shims for cel-go's `reverse`, `sets.*` and
// `base64.*` make up the rest of Flux's environment (ext.Strings, ext.Sets, ext.Encoders).
import { Buffer } from 'node:buffer';
import {
  celEnv,
  celError,
  celFunc,
  celMethod,
  CelScalar,
  isCelError,
  isCelList,
  isCelMap,
  listType,
  parse,
  plan,
  type CelInput,
  type CelList,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import type { CustomHealthCheck } from '../api/kustomization.ts';
import type { KubeObject } from '../kube/client.ts';
import type { Status, StatusReader, StatusResult } from '../kstatus/status.ts';
import { errorMessage } from '../errors.ts';

/** An expression that cannot be compiled: a configuration error, terminal for the reconcile (InvalidCELExpression). */
export class CelExpressionError extends Error {
  override name = 'CelExpressionError';
}

/** An expression that failed on a given object: a missing field, a type mismatch, or a non-boolean result. */
export class CelEvaluationError extends Error {
  override name = 'CelEvaluationError';
}

/**
 * The names an expression may reference: a fixed list, checked at compile time like Flux's readyExpr (compiled
 * with declared variables), or 'undeclared' like Flux's healthCheckExprs (parsed only), whose names are the
 * object's top-level fields and a missing one fails where it is used.
 */
export type ExpressionVariables = readonly string[] | 'undeclared';

export interface CelExpression {
  /** Evaluates with the given variables; throws CelEvaluationError unless the result is a boolean. */
  evaluateBoolean(variables: Readonly<Record<string, unknown>>): boolean;
}

type Expr = ReturnType<typeof parse>['expr'];

const listOfAny = listType(CelScalar.DYN);

/** cel-go's set functions, written in CEL itself so that membership follows CEL equality (1 == 1.0). */
function listPredicate(name: string, source: string) {
  const program = plan(celEnv(), parse(source));
  return celFunc(name, [listOfAny, listOfAny], CelScalar.BOOL, (a: CelList, b: CelList) => {
    // Charged as the comprehensions inside it would be: every item of one list against every item of the other.
    iterationsLeft -= a.size * b.size;
    if (iterationsLeft < 0) throw overBudget();
    const result = program({ a, b });
    if (isCelError(result)) throw result;
    return result === true;
  });
}

const paddedBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const unpaddedBase64 = /^(?:[A-Za-z0-9+/]{4})*[A-Za-z0-9+/]{2,3}$/;

const extensionFunctions = [
  celMethod('reverse', CelScalar.STRING, [], CelScalar.STRING, function (this: string) {
    return [...this].reverse().join('');
  }),
  listPredicate('sets.contains', 'b.all(x, x in a)'),
  listPredicate('sets.equivalent', 'a.all(x, x in b) && b.all(x, x in a)'),
  listPredicate('sets.intersects', 'a.exists(x, x in b)'),
  celFunc('base64.encode', [CelScalar.BYTES], CelScalar.STRING, (bytes: Uint8Array) =>
    Buffer.from(bytes).toString('base64'),
  ),
  // Like Go's base64.StdEncoding, falling back to RawStdEncoding as cel-go does; Buffer alone accepts any text.
  celFunc('base64.decode', [CelScalar.STRING], CelScalar.BYTES, (text: string) => {
    if (!paddedBase64.test(text) && !unpaddedBase64.test(text)) throw new Error('illegal base64 data');
    return new Uint8Array(Buffer.from(text, 'base64'));
  }),
];

/**
 * The most items one evaluation may iterate over, summed over every comprehension (`all`, `exists`, `map`,
 * `filter`, ...): the cost limit. cel-go charges a comprehension by its range's size the same way; without a
 * limit, a few nested comprehensions in a tenant's expression keep this single thread busy for minutes.
 */
export const celIterationLimit = 100_000;

// Evaluation is synchronous, so one budget serves every expression: set before each evaluation.
let iterationsLeft = celIterationLimit;
const rangeGuard = 'sluice_range_cost';
const conditionGuard = 'sluice_loop_budget';
const overBudget = () => celError(`the cost limit of ${celIterationLimit} iterations was exceeded`);
const budgetFunctions = [
  // Each comprehension's range is charged its size before the loop starts...
  celFunc(rangeGuard, [CelScalar.DYN], CelScalar.DYN, (range: CelInput) => {
    const size = isCelList(range) || isCelMap(range) ? range.size : 0;
    iterationsLeft -= size;
    return iterationsLeft < 0 ? (overBudget() as unknown as CelInput) : range;
  }),
  // ...and once the budget is spent, every loop still running ends at its next item.
  celFunc(conditionGuard, [CelScalar.BOOL], CelScalar.BOOL, (condition: boolean) =>
    iterationsLeft < 0 ? (overBudget() as unknown as boolean) : condition,
  ),
];

const env = celEnv({ funcs: [...strings, ...extensionFunctions, ...budgetFunctions] });

/** `sets` in `sets.contains(a, b)` is parsed as a call target, yet names a function, not a variable. */
const namespacedFunctions = new Set(
  extensionFunctions.map((f) => f.name).filter((name) => name.includes('.')),
);

/** Identifiers that name CEL types (`type(x) == string`), not variables. */
const typeNames = new Set('bool bytes double dyn int list map null_type string type uint'.split(' '));

/**
 * Parses an expression once. `field` names where it comes from (e.g. `healthCheckExprs[0].current`) for the
 * error message. Throws CelExpressionError on a syntax error or, with declared variables, an undeclared name.
 */
export function compileExpression(
  source: string,
  variables: ExpressionVariables,
  field: string,
): CelExpression {
  const failure = (reason: string) =>
    new CelExpressionError(`failed to parse the CEL expression '${source}' in ${field}: ${reason}`);
  let expr: Expr;
  try {
    expr = parse(source).expr;
  } catch (error) {
    const reason = errorMessage(error);
    // The parser stops at `.?` with a bare "found . but expecting…"; say what is actually missing.
    const hint = /\.\?|\[\?/.test(source) ? ` (optional field syntax '.?' and '[?' is not supported)` : '';
    throw failure(reason + hint);
  }
  const referenced = [...freeIdentifiers(expr, new Set())];
  if (variables !== 'undeclared') {
    const undeclared = referenced.find((name) => !variables.includes(name));
    if (undeclared !== undefined) throw failure(`undeclared reference to '${undeclared}'`);
  }
  const program = plan(env, withBudget(expr));

  return {
    evaluateBoolean(values) {
      let result;
      iterationsLeft = celIterationLimit;
      try {
        result = program(bindings(referenced, values));
      } catch (error) {
        result = celError(error);
      }
      // Checked whatever the result: `true || <over budget>` is still true.
      if (iterationsLeft < 0) {
        throw new CelEvaluationError(
          `failed to evaluate the CEL expression '${source}' in ${field}: it exceeds the cost limit of ${celIterationLimit} iterations`,
        );
      }
      if (isCelError(result)) {
        // cel-go's wording for a missing key of a map, which every object field here is.
        const reason = result.message.replace(/^field not found: /, 'no such key: ');
        throw new CelEvaluationError(`failed to evaluate the CEL expression '${source}': ${reason}`);
      }
      if (typeof result !== 'boolean') {
        throw new CelEvaluationError(`failed to evaluate CEL expression as boolean: '${source}'`);
      }
      return result;
    },
  };
}

/**
 * A status reader for the kinds listed in `healthCheckExprs` (matched by API group and kind, any version, as
 * Flux does); it returns undefined for other kinds. Throws CelExpressionError for an invalid expression, a
 * missing `current`, or two entries for the same kind.
 */
export function healthCheckReader(checks: readonly CustomHealthCheck[]): StatusReader {
  const evaluators = new Map<string, (object: KubeObject) => StatusResult>();
  checks.forEach((check, index) => {
    const key = groupKind(check.apiVersion, check.kind);
    if (evaluators.has(key)) {
      throw new CelExpressionError(
        `duplicate custom health check for GroupKind ${key} at healthCheckExprs[${index}]`,
      );
    }
    evaluators.set(key, statusEvaluator(check, `healthCheckExprs[${index}]`));
  });
  return (object) => evaluators.get(groupKind(object.apiVersion ?? '', object.kind ?? ''))?.(object);
}

/**
 * Evaluates a `dependsOn[].readyExpr` with `self` (the dependent Kustomization) and `dep` (the dependency).
 * Throws CelExpressionError now for an invalid expression, CelEvaluationError later when evaluation fails.
 */
export function readyExprEvaluator(
  source: string,
  field = 'readyExpr',
): (self: object, dep: object) => boolean {
  const expression = compileExpression(source, ['self', 'dep'], field);
  return (self, dep) => expression.evaluateBoolean({ self, dep });
}

/** Flux's StatusEvaluator (RFC 0009): generation check, then inProgress, failed, current; the first true wins. */
function statusEvaluator(check: CustomHealthCheck, field: string): (object: KubeObject) => StatusResult {
  if (!check.current) throw new CelExpressionError(`expression ${field}.current not specified`);
  const rules: { name: string; status: Status; expression: CelExpression }[] = [];
  for (const [name, status] of [
    ['inProgress', 'InProgress'],
    ['failed', 'Failed'],
    ['current', 'Current'],
  ] as const) {
    const source = check[name];
    if (!source) continue;
    rules.push({ name, status, expression: compileExpression(source, 'undeclared', `${field}.${name}`) });
  }

  return (object) => {
    try {
      const observed = integerField(object, 'status', 'observedGeneration');
      const generation = observed === undefined ? undefined : integerField(object, 'metadata', 'generation');
      if (generation !== undefined && observed !== generation) {
        return {
          status: 'InProgress',
          message: `observed generation ${observed} is not generation ${generation}`,
        };
      }
      for (const rule of rules) {
        if (rule.expression.evaluateBoolean(object)) {
          return { status: rule.status, message: `${field}.${rule.name} is true` };
        }
      }
      return { status: 'InProgress', message: `no expression of ${field} is true` };
    } catch (error) {
      // kstatus reports an object its reader fails on as Unknown, with the error, instead of failing the wait.
      const reason = errorMessage(error);
      return { status: 'Unknown', message: reason, error: reason };
    }
  };
}

/** Like unstructured.NestedInt64: absent is undefined, a value of another type is an error. */
function integerField(object: KubeObject, parent: string, name: string): number | undefined {
  const holder = object[parent];
  if (holder === null || typeof holder !== 'object' || !Object.hasOwn(holder, name)) return undefined;
  const value: unknown = (holder as Record<string, unknown>)[name];
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new Error(
      `.${parent}.${name} accessor error: ${String(value)} is of the type ${typeof value}, expected int64`,
    );
  }
  return value;
}

/** GroupKind.String() of Kubernetes: "Kind.group", or "Kind" for the core group. */
function groupKind(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? kind : `${kind}.${apiVersion.slice(0, slash)}`;
}

/**
 * The variables an expression reads; a missing one is bound to an error value, so it fails only where it is used
 * (`false && status.x` is still false), with cel-go's "no such attribute" message.
 */
function bindings(
  names: readonly string[],
  variables: Readonly<Record<string, unknown>>,
): Record<string, CelInput> {
  const result: Record<string, CelInput> = {};
  for (const name of names) {
    const value = Object.hasOwn(variables, name) ? variables[name] : undefined;
    // The planner passes a bound CelError through like any other error value.
    result[name] =
      value === undefined
        ? (celError(`no such attribute(s): ${name}`) as unknown as CelInput)
        : toCelInput(value);
  }
  return result;
}

/**
 * JSON values as CEL values: integral numbers become int (bigint) as Kubernetes' JSON decoder makes them int64,
 * other numbers stay double; objects become Maps, so no key is mistaken for a protobuf `$typeName` and keys such
 * as `constructor` are plain keys.
 */
function toCelInput(value: unknown): CelInput {
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) && Math.abs(value) < 2 ** 63 ? BigInt(value) : value;
    case 'string':
    case 'boolean':
    case 'bigint':
      return value;
    case 'object':
      if (value === null) return null;
      if (Array.isArray(value))
        return value.map((item: unknown) => (item === undefined ? null : toCelInput(item)));
      return new Map(
        Object.entries(value).flatMap(([key, item]: [string, unknown]) =>
          item === undefined ? [] : [[key, toCelInput(item)] as const],
        ),
      );
    default:
      throw new Error(`unsupported value of type ${typeof value}`);
  }
}

/** `expr` with every comprehension's range and loop condition passed through the budget functions. */
function withBudget(expr: Expr | undefined): Expr {
  if (!expr) return expr as unknown as Expr;
  const kind = expr.exprKind;
  const guarded = (name: string, inner: Expr | undefined): Expr =>
    ({
      ...expr,
      exprKind: { case: 'callExpr', value: { function: name, args: [withBudget(inner)] } },
    }) as unknown as Expr;
  switch (kind.case) {
    case 'selectExpr':
      kind.value.operand = withBudget(kind.value.operand);
      break;
    case 'callExpr':
      if (kind.value.target) kind.value.target = withBudget(kind.value.target);
      kind.value.args = kind.value.args.map(withBudget);
      break;
    case 'listExpr':
      kind.value.elements = kind.value.elements.map(withBudget);
      break;
    case 'structExpr':
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') entry.keyKind.value = withBudget(entry.keyKind.value);
        entry.value = withBudget(entry.value);
      }
      break;
    case 'comprehensionExpr': {
      const c = kind.value;
      c.iterRange = guarded(rangeGuard, c.iterRange);
      c.accuInit = withBudget(c.accuInit);
      c.loopCondition = guarded(conditionGuard, c.loopCondition);
      c.loopStep = withBudget(c.loopStep);
      c.result = withBudget(c.result);
      break;
    }
  }
  return expr;
}

/** The root variables an expression reads, leaving out comprehension variables, type names and function namespaces. */
function freeIdentifiers(
  expr: Expr | undefined,
  bound: ReadonlySet<string>,
  found = new Set<string>(),
): Set<string> {
  const visit = (child: Expr | undefined, scope = bound) => freeIdentifiers(child, scope, found);
  const kind = expr?.exprKind;
  switch (kind?.case) {
    case 'identExpr':
      if (!bound.has(kind.value.name) && !typeNames.has(kind.value.name)) found.add(kind.value.name);
      break;
    case 'selectExpr':
      visit(kind.value.operand);
      break;
    case 'callExpr': {
      const { target, args } = kind.value;
      const namespace = target?.exprKind.case === 'identExpr' ? target.exprKind.value.name : undefined;
      if (!namespacedFunctions.has(`${namespace}.${kind.value.function}`)) visit(target);
      args.forEach((arg) => visit(arg));
      break;
    }
    case 'listExpr':
      kind.value.elements.forEach((element) => visit(element));
      break;
    case 'structExpr':
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') visit(entry.keyKind.value);
        visit(entry.value);
      }
      break;
    case 'comprehensionExpr': {
      const c = kind.value;
      visit(c.iterRange);
      visit(c.accuInit);
      const inner = new Set([...bound, c.iterVar, c.iterVar2, c.accuVar].filter((name) => name !== ''));
      visit(c.loopCondition, inner);
      visit(c.loopStep, inner);
      visit(c.result, inner);
      break;
    }
  }
  return found;
}
