import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../kube/client.ts';
import { isSubstitutionDisabled, mergeVars, substituteKey, substituteVariables } from './substitute.ts';

const configMap = (data: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'app', namespace: 'apps', ...metadata },
  data,
});

const vars = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries));

describe('substituteVariables', () => {
  it('expands variables in values and keys, and retypes values as YAML 1.1 would', () => {
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web-${ENV}', labels: { '${TEAM}': 'owner' } },
      spec: { replicas: '${REPLICAS}', paused: '${PAUSED}', template: { image: 'nginx:${TAG:=latest}' } },
    };
    const [out] = substituteVariables(
      [deployment],
      vars({ ENV: 'prod', TEAM: 'payments', REPLICAS: '3', PAUSED: 'yes' }),
    );
    assert.deepEqual(out, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web-prod', labels: { payments: 'owner' } },
      spec: { replicas: 3, paused: true, template: { image: 'nginx:latest' } },
    });
  });

  it('keeps $${var} as a literal ${var} and leaves bare $var alone', () => {
    const [out] = substituteVariables([configMap({ script: 'echo $${HOME} $HOME ${A}' })], vars({ A: 'a' }));
    assert.deepEqual(out?.data, { script: 'echo ${HOME} $HOME a' });
  });

  it('skips objects labelled or annotated substitute: disabled, spelled exactly so, as Flux compares it', () => {
    const labelled = configMap({ a: '${UNSET}' }, { labels: { [substituteKey]: 'disabled' } });
    const annotated = configMap({ a: '${UNSET}' }, { annotations: { [substituteKey]: 'disabled' } });
    const out = substituteVariables([labelled, annotated], vars({ X: '1' }));
    assert.equal(out[0], labelled);
    assert.equal(out[1], annotated);
    assert.ok(isSubstitutionDisabled(labelled) && isSubstitutionDisabled(annotated));
    assert.ok(!isSubstitutionDisabled(configMap({}, { annotations: { [substituteKey]: 'enabled' } })));
    assert.ok(!isSubstitutionDisabled(configMap({}, { annotations: { [substituteKey]: 'Disabled' } })));
  });

  it('does nothing without variables unless the strategy is Always', () => {
    const object = configMap({ a: '${UNSET}', b: '${D:=fallback}' });
    assert.deepEqual(substituteVariables([object], new Map()), [object]);
    assert.deepEqual(substituteVariables([object], new Map(), { substituteStrategy: 'WithVariables' }), [
      object,
    ]);
    assert.throws(
      () => substituteVariables([object], new Map(), { substituteStrategy: 'Always' }),
      /variable not set \(strict mode\): "UNSET"/,
    );
    const [out] = substituteVariables([configMap({ b: '${D:=fallback}' })], new Map(), {
      substituteStrategy: 'Always',
    });
    assert.deepEqual(out?.data, { b: 'fallback' });
  });

  it('fails in strict mode with Flux’s message naming the object and the variable', () => {
    assert.throws(() => substituteVariables([configMap({ a: '${MISSING}' })], vars({ X: '1' })), {
      message:
        "post build failed for 'ConfigMap.v1.[noGrp]/app': envsubst error: variable substitution failed: " +
        'variable not set (strict mode): "MISSING"',
    });
    const job: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'db-migration' },
      x: '${M}',
    };
    assert.throws(
      () => substituteVariables([job], vars({ X: '1' })),
      /^Error: post build failed for 'Job\.v1\.batch\/db-migration'/,
    );
  });

  it('substitutes unset variables with empty strings when not strict', () => {
    const [out] = substituteVariables([configMap({ a: 'x${MISSING}y' })], vars({ X: '1' }), {
      strict: false,
    });
    assert.deepEqual(out?.data, { a: 'xy' });
  });

  it('rejects variable names Flux rejects, even when unused', () => {
    assert.throws(() => substituteVariables([configMap({ a: 'b' })], vars({ 'my-var': '1' })), {
      message:
        "post build failed for 'ConfigMap.v1.[noGrp]/app': envsubst error: 'my-var' var name is invalid, " +
        "must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'",
    });
    assert.throws(
      () => substituteVariables([configMap({})], vars({ '1abc': 'x' })),
      /'1abc' var name is invalid/,
    );
    assert.doesNotThrow(() => substituteVariables([configMap({})], vars({ _a1: 'x', B_2: 'y' })));
  });

  it('reports a value that breaks the YAML', () => {
    assert.throws(
      () => substituteVariables([configMap({ a: '${V}' })], vars({ V: 'x: [' })),
      /^Error: post build failed for 'ConfigMap\.v1\.\[noGrp\]\/app': envsubst error: YAMLToJSON: yaml: line \d+: /,
    );
  });

  it('reports bad syntax with its location', () => {
    assert.throws(
      () => substituteVariables([configMap({ a: '${V' })], vars({ V: 'x' })),
      /envsubst error: variable substitution failed: missing closing brace at line \d+, column \d+: "\$\{V"/,
    );
  });
});

describe('mergeVars', () => {
  it('lets later sources override earlier ones and inline substitute override all', () => {
    const merged = mergeVars(
      [
        { A: 'cm', B: 'cm', C: 'cm' },
        { B: 'secret', C: 'secret' },
      ],
      { C: 'inline' },
    );
    assert.deepEqual(Object.fromEntries(merged), { A: 'cm', B: 'secret', C: 'inline' });
  });

  it('strips newlines from every value', () => {
    const merged = mergeVars([{ CERT: 'line1\nline2\n' }], { NAME: 'a\nb' });
    assert.deepEqual(Object.fromEntries(merged), { CERT: 'line1line2', NAME: 'ab' });
  });

  it('keeps names that collide with Object.prototype as plain variables', () => {
    const merged = mergeVars([], { __proto__x: 'a', constructor: 'b' });
    assert.equal(merged.get('constructor'), 'b');
    assert.equal(merged.get('toString'), undefined);
  });
});
