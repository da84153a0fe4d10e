import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CustomHealthCheck } from '../api/kustomization.ts';
import type { KubeObject } from '../kube/client.ts';
import type { StatusResult } from '../kstatus/status.ts';
import {
  CelEvaluationError,
  CelExpressionError,
  celIterationLimit,
  compileExpression,
  healthCheckReader,
  readyExprEvaluator,
} from './expressions.ts';

// The examples of Flux's Kustomization docs (healthCheckExprs) and RFC 0009.
const readyIsTrue = "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')";
const readyIsFalse = "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'False')";
const notObserved = 'has(status.observedGeneration) && metadata.generation != status.observedGeneration';

function kustomization(status?: Record<string, unknown>, generation = 2): KubeObject {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'app', namespace: 'apps', generation },
    spec: { interval: '10m', path: './deploy', prune: true },
    ...(status ? { status } : {}),
  };
}

const ready = (status: string) => ({ observedGeneration: 2, conditions: [{ type: 'Ready', status }] });

const fluxKinds: CustomHealthCheck = {
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  inProgress: notObserved,
  failed: readyIsFalse,
  current: readyIsTrue,
};

describe('healthCheckReader', () => {
  const cases: {
    name: string;
    check?: Partial<CustomHealthCheck>;
    object: KubeObject;
    want: Pick<StatusResult, 'status'> & { error?: RegExp };
  }[] = [
    { name: 'Ready=True is Current', object: kustomization(ready('True')), want: { status: 'Current' } },
    { name: 'Ready=False is Failed', object: kustomization(ready('False')), want: { status: 'Failed' } },
    {
      name: 'Ready=Unknown matches nothing: InProgress',
      object: kustomization(ready('Unknown')),
      want: { status: 'InProgress' },
    },
    {
      name: 'generation not yet observed is InProgress before any expression',
      check: { inProgress: '', failed: 'true', current: 'true' },
      object: kustomization({ ...ready('True'), observedGeneration: 1 }),
      want: { status: 'InProgress' },
    },
    {
      name: 'no observedGeneration: the expressions decide',
      check: { inProgress: '', failed: '' },
      object: kustomization({ conditions: [{ type: 'Ready', status: 'True' }] }),
      want: { status: 'Current' },
    },
    {
      name: 'order is inProgress, failed, current: inProgress wins when all are true',
      check: { inProgress: 'true', failed: 'true', current: 'true' },
      object: kustomization(ready('True')),
      want: { status: 'InProgress' },
    },
    {
      name: 'failed wins over current',
      check: { inProgress: 'false', failed: 'true', current: 'true' },
      object: kustomization(ready('True')),
      want: { status: 'Failed' },
    },
    {
      name: 'empty conditions: all() on nothing is true, so failed wins',
      object: kustomization({ conditions: [] }),
      want: { status: 'Failed' },
    },
    {
      name: 'has() on a missing field is false, not an error',
      check: { inProgress: '', failed: 'has(status.failure)', current: 'has(status.conditions)' },
      object: kustomization(ready('True')),
      want: { status: 'Current' },
    },
    {
      name: 'a missing key is an evaluation error: Unknown',
      check: { inProgress: '', failed: '' },
      object: kustomization({}),
      want: {
        status: 'Unknown',
        error: new RegExp(
          `^failed to evaluate the CEL expression '${escape(readyIsTrue)}': no such key: conditions$`,
        ),
      },
    },
    {
      name: 'a missing top-level field fails even in has(), as in cel-go',
      object: kustomization(),
      want: { status: 'Unknown', error: /no such attribute\(s\): status$/ },
    },
    {
      name: 'a missing top-level field on the side not evaluated is no error',
      check: { inProgress: 'false && status.x', failed: '', current: "metadata.name == 'app' || status.x" },
      object: kustomization(),
      want: { status: 'Current' },
    },
    {
      name: 'a non-boolean result is an error',
      check: { inProgress: '', failed: '', current: 'metadata.name' },
      object: kustomization(),
      want: { status: 'Unknown', error: /^failed to evaluate CEL expression as boolean: 'metadata.name'$/ },
    },
    {
      name: 'a non-integer observedGeneration is an error',
      object: kustomization({ observedGeneration: '2' }),
      want: { status: 'Unknown', error: /observedGeneration accessor error/ },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = healthCheckReader([{ ...fluxKinds, ...c.check }])(c.object);
      assert.equal(result?.status, c.want.status, result?.message);
      if (c.want.error) assert.match(result?.error ?? '', c.want.error);
      else assert.equal(result?.error, undefined);
    });
  }

  it('matches by API group and kind, any version, as Flux does', () => {
    const read = healthCheckReader([
      { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', current: 'true' },
    ]);
    const object = (apiVersion: string, kind: string): KubeObject => ({
      apiVersion,
      kind,
      metadata: { name: 'c' },
    });
    assert.equal(read(object('cert-manager.io/v1', 'Certificate'))?.status, 'Current');
    assert.equal(read(object('cert-manager.io/v1beta1', 'Certificate'))?.status, 'Current');
    assert.equal(read(object('cert-manager.io/v1', 'Issuer')), undefined);
    assert.equal(read(object('acme.cert-manager.io/v1', 'Certificate')), undefined);
    assert.equal(read(object('v1', 'Certificate')), undefined);
  });

  it('matches core-group kinds', () => {
    const read = healthCheckReader([
      { apiVersion: 'v1', kind: 'ConfigMap', current: "data.phase == 'done'" },
    ]);
    const configMap = (phase: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      data: { phase },
    });
    assert.equal(read(configMap('done'))?.status, 'Current');
    assert.equal(read(configMap('running'))?.status, 'InProgress');
  });

  const invalid: { name: string; checks: CustomHealthCheck[]; message: RegExp }[] = [
    {
      name: 'a syntax error names the field, the expression and the parser error',
      checks: [{ ...fluxKinds, failed: 'status.foo ==' }],
      message:
        /^failed to parse the CEL expression 'status\.foo ==' in healthCheckExprs\[0\]\.failed: .*1:12/,
    },
    {
      name: 'optional field syntax is reported as unsupported',
      checks: [{ ...fluxKinds, current: 'status.?ready.orValue(false)' }],
      message: /healthCheckExprs\[0\]\.current: .*'\.\?' and '\[\?' is not supported/,
    },
    {
      name: 'current is required',
      checks: [{ apiVersion: 'v1', kind: 'ConfigMap', current: '' }],
      message: /^expression healthCheckExprs\[0\]\.current not specified$/,
    },
    {
      name: 'two entries for one kind',
      checks: [
        { apiVersion: 'apps/v1', kind: 'Deployment', current: 'true' },
        { apiVersion: 'apps/v1beta1', kind: 'Deployment', current: 'true' },
      ],
      message: /^duplicate custom health check for GroupKind Deployment\.apps at healthCheckExprs\[1\]$/,
    },
  ];
  for (const c of invalid) {
    it(`rejects at build time: ${c.name}`, () => {
      assert.throws(
        () => healthCheckReader(c.checks),
        (error: unknown) => {
          assert.ok(error instanceof CelExpressionError);
          assert.match(error.message, c.message);
          return true;
        },
      );
    });
  }
});

describe('readyExprEvaluator', () => {
  const self = kustomization({ ...ready('True'), lastAppliedRevision: 'main@sha1:aaa' });
  const dep = (revision: string, readyStatus = 'True'): KubeObject =>
    kustomization({ ...ready(readyStatus), lastAppliedRevision: revision });

  const cases: { expr: string; dep: KubeObject; want: boolean }[] = [
    {
      expr: 'dep.status.lastAppliedRevision == self.status.lastAppliedRevision',
      dep: dep('main@sha1:aaa'),
      want: true,
    },
    {
      expr: 'dep.status.lastAppliedRevision == self.status.lastAppliedRevision',
      dep: dep('main@sha1:bbb'),
      want: false,
    },
    {
      expr: "self.status.conditions.filter(c, c.type == 'Ready').all(c, c.status == 'True')",
      dep: dep('x'),
      want: true,
    },
    {
      expr: "dep.status.conditions.filter(c, c.type == 'Ready').all(c, c.status == 'True') && dep.metadata.generation == dep.status.observedGeneration",
      dep: dep('x', 'False'),
      want: false,
    },
    {
      expr: 'dep.metadata.namespace == self.metadata.namespace && has(dep.spec.prune)',
      dep: dep('x'),
      want: true,
    },
  ];
  for (const c of cases) {
    it(`${c.expr} → ${c.want}`, () => assert.equal(readyExprEvaluator(c.expr)(self, c.dep), c.want));
  }

  it('a failed evaluation throws CelEvaluationError, not a crash', () => {
    const evaluate = readyExprEvaluator("dep.status.phase == 'Ready'");
    assert.throws(() => evaluate(self, dep('x')), CelEvaluationError);
    assert.throws(() => evaluate(self, dep('x')), /no such key: phase/);
  });

  it('an undeclared variable is a compile error naming the field', () => {
    assert.throws(
      () => readyExprEvaluator('status.ready == true', 'dependsOn[1].readyExpr'),
      (error: unknown) =>
        error instanceof CelExpressionError &&
        error.message ===
          "failed to parse the CEL expression 'status.ready == true' in dependsOn[1].readyExpr: undeclared reference to 'status'",
    );
  });

  it('comprehension variables, type names and function namespaces are not undeclared', () => {
    const evaluate = readyExprEvaluator(
      "dep.status.conditions.exists(c, type(c) == map && c.type == 'Ready') && sets.contains(['a', 'b'], ['a'])",
    );
    assert.equal(evaluate(self, dep('x')), true);
  });
});

describe('compileExpression: the CEL Flux users write', () => {
  const object = {
    metadata: { name: 'web', generation: 3, labels: { tier: 'frontend' } },
    spec: { replicas: 3, ratio: 0.5, selector: null, ports: [80, 443] },
    status: {
      replicas: 3,
      readyReplicas: 3,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    },
  };
  const cases: { expr: string; want: boolean }[] = [
    // Integers are CEL ints, as Kubernetes' JSON decoder makes them int64.
    { expr: 'status.replicas == 3', want: true },
    { expr: 'spec.replicas / 2 == 1', want: true },
    { expr: 'type(spec.replicas) == int', want: true },
    { expr: 'type(spec.ratio) == double && spec.ratio < 1', want: true },
    { expr: 'status.readyReplicas >= spec.replicas', want: true },
    { expr: 'status.replicas == 3.0', want: true },
    { expr: 'size(status.conditions) > 0', want: true },
    { expr: 'size(metadata.name) == 3', want: true },
    { expr: 'has(status.readyReplicas) && status.readyReplicas == status.replicas', want: true },
    { expr: 'has(status.unavailableReplicas)', want: false },
    { expr: 'has(metadata.labels.tier)', want: true },
    { expr: "status.conditions.exists(c, c.type == 'Available' && c.status == 'True')", want: true },
    { expr: "status.conditions.exists_one(c, c.status == 'True')", want: false },
    { expr: "status.conditions.all(c, c.status == 'True')", want: true },
    { expr: "status.conditions.map(c, c.type) == ['Available', 'Progressing']", want: true },
    { expr: "'Progressing' in status.conditions.map(c, c.type)", want: true },
    { expr: "'tier' in metadata.labels", want: true },
    { expr: '443 in spec.ports', want: true },
    { expr: "metadata.name.startsWith('w') && metadata.name.endsWith('b')", want: true },
    { expr: "metadata.name.contains('e')", want: true },
    { expr: "metadata.name.matches('^w[a-z]+$')", want: true },
    { expr: "metadata.labels['tier'] == 'frontend'", want: true },
    { expr: 'spec.selector == null', want: true },
    // ext.Strings, ext.Sets and ext.Encoders, which Flux's environment includes.
    { expr: "metadata.name.upperAscii() == 'WEB' && 'a,b'.split(',').size() == 2", want: true },
    { expr: "metadata.name.reverse() == 'bew'", want: true },
    { expr: 'sets.contains(spec.ports, [443]) && !sets.contains([80], spec.ports)', want: true },
    { expr: 'sets.equivalent([1, 2], [2, 1, 1]) && sets.intersects([1.0], [1])', want: true },
    { expr: "base64.encode(b'web') == 'd2Vi' && base64.decode('d2Vi') == b'web'", want: true },
    { expr: "base64.decode('d2U') == b'we' && base64.decode('d2U=') == b'we'", want: true },
  ];
  for (const c of cases) {
    it(`${c.expr} → ${c.want}`, () => {
      assert.equal(compileExpression(c.expr, 'undeclared', 'test').evaluateBoolean(object), c.want);
    });
  }

  it('an invalid base64 text is an evaluation error', () => {
    const expression = compileExpression("base64.decode('***') == b''", 'undeclared', 'test');
    assert.throws(() => expression.evaluateBoolean(object), /illegal base64 data/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('the CEL cost limit', () => {
  const tens = `[${Array.from({ length: 10 }, (_, i) => i).join(',')}]`;
  const nested = (depth: number): string =>
    depth === 0 ? 'true' : `${tens}.all(x${depth}, ${nested(depth - 1)})`;

  it('stops eight nested comprehensions at once, naming the field', () => {
    const expression = compileExpression(nested(8), ['self', 'dep'], 'dependsOn[0].readyExpr');
    assert.throws(() => expression.evaluateBoolean({ self: {}, dep: {} }), {
      name: 'CelEvaluationError',
      message: `failed to evaluate the CEL expression '${nested(8)}' in dependsOn[0].readyExpr: it exceeds the cost limit of ${celIterationLimit} iterations`,
    });
  });

  it('stops one even when an outer operator would absorb its error', () => {
    const expression = compileExpression(`${nested(8)} || true`, [], 'readyExpr');
    assert.throws(() => expression.evaluateBoolean({}), /exceeds the cost limit/);
  });

  it('charges a range by its size, so one large list is refused too', () => {
    const expression = compileExpression('dep.items.all(i, i >= 0)', ['dep'], 'readyExpr');
    const items = Array.from({ length: celIterationLimit + 1 }, (_, i) => i);
    assert.throws(() => expression.evaluateBoolean({ dep: { items } }), /exceeds the cost limit/);
    assert.equal(expression.evaluateBoolean({ dep: { items: items.slice(0, 1000) } }), true);
  });

  it('gives every evaluation the whole budget again', () => {
    const expression = compileExpression(nested(4), [], 'readyExpr');
    for (let i = 0; i < 20; i++) assert.equal(expression.evaluateBoolean({}), true);
  });
});

describe('the CEL cost limit on sets', () => {
  it('charges sets.contains by the product of its lists', () => {
    const expression = compileExpression('sets.contains(dep.a, dep.b)', ['dep'], 'readyExpr');
    const big = Array.from({ length: 400 }, (_, i) => i);
    assert.throws(() => expression.evaluateBoolean({ dep: { a: big, b: big } }), /exceeds the cost limit/);
    assert.equal(expression.evaluateBoolean({ dep: { a: big, b: big.slice(0, 10) } }), true);
  });
});
