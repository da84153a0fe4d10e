import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DependentsIndex,
  findDependencyCycle,
  judgesByExpression,
  pipelineOf,
  sortByDependencies,
  wakesDependent,
} from './dependencies.ts';
import type { Kustomization } from '../../api/kustomization.ts';

const ks = (name: string, dependsOn: string[] = [], namespace = 'apps'): Kustomization => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name, namespace },
  spec: {
    interval: '1m',
    prune: true,
    sourceRef: { kind: 'GitRepository', name: 'app' },
    dependsOn: dependsOn.map((d) =>
      d.includes('/') ? { namespace: d.split('/')[0], name: d.split('/')[1] ?? '' } : { name: d },
    ),
  },
});

function lookupIn(list: Kustomization[]) {
  return (namespace: string, name: string) =>
    list.find((k) => k.metadata.namespace === namespace && k.metadata.name === name);
}

describe('dependency graph', () => {
  it('finds a cycle through several Kustomizations, naming each hop', () => {
    const a = ks('a', ['b']);
    const all = [a, ks('b', ['c']), ks('c', ['a'])];
    assert.deepEqual(findDependencyCycle(a, lookupIn(all)), ['apps/a', 'apps/b', 'apps/c', 'apps/a']);
  });

  it('finds a Kustomization that depends on itself', () => {
    const self = ks('a', ['a']);
    assert.deepEqual(findDependencyCycle(self, lookupIn([self])), ['apps/a', 'apps/a']);
  });

  it('does not report a chain, or a Kustomization that only depends on a cycle elsewhere', () => {
    const post = ks('post', ['deploy']);
    assert.equal(findDependencyCycle(post, lookupIn([ks('pre'), ks('deploy', ['pre']), post])), undefined);
    const z = ks('z', ['x']);
    assert.equal(findDependencyCycle(z, lookupIn([ks('x', ['y']), ks('y', ['x']), z])), undefined);
  });

  it('follows cross-namespace references', () => {
    const a = ks('a', ['infra/b']);
    assert.deepEqual(findDependencyCycle(a, lookupIn([a, ks('b', ['apps/a'], 'infra')])), [
      'apps/a',
      'infra/b',
      'apps/a',
    ]);
  });

  it('orders a pipeline so dependencies come first', () => {
    const sorted = sortByDependencies([
      ks('post', ['deploy']),
      ks('deploy', ['pre']),
      ks('pre'),
      ks('other'),
    ]);
    assert.deepEqual(
      sorted.map((k) => k.metadata.name),
      ['pre', 'deploy', 'post', 'other'],
    );
  });

  it('indexes the dependents of a Kustomization as they are added, changed and deleted', () => {
    const index = new DependentsIndex();
    const pre = ks('pre');
    for (const k of [pre, ks('deploy', ['pre']), ks('post', ['deploy']), ks('audit', ['pre', 'deploy'])])
      index.set(k);
    index.set(ks('elsewhere', ['apps/pre'], 'other'));
    assert.deepEqual(index.of(pre), ['apps/deploy', 'apps/audit', 'other/elsewhere']);
    index.set(ks('audit', ['deploy']));
    assert.deepEqual(index.of(pre), ['apps/deploy', 'other/elsewhere']);
    assert.deepEqual(index.of(ks('deploy')), ['apps/post', 'apps/audit']);
    index.delete(ks('deploy', ['pre']));
    index.delete(ks('elsewhere', [], 'other'));
    assert.deepEqual(index.of(pre), []);
  });

  it("gives a Kustomization's pipeline: what it depends on, transitively, in order, then itself", () => {
    const post = ks('post', ['app']);
    const all = [
      post,
      ks('app', ['pre', 'infra/crds']),
      ks('pre'),
      ks('crds', [], 'infra'),
      ks('other', ['pre']),
    ];
    const names = (list: Kustomization[]) => list.map((k) => `${k.metadata.namespace}/${k.metadata.name}`);
    assert.deepEqual(names(pipelineOf(post, all)), ['apps/pre', 'infra/crds', 'apps/app', 'apps/post']);
    assert.deepEqual(names(pipelineOf(ks('pre'), all)), ['apps/pre']);
  });

  it('wakes a dependent only when its dependency is ready with news for it', () => {
    const at = (k: Kustomization, ready: 'True' | 'False' | 'Unknown', revision: string): Kustomization => ({
      ...k,
      metadata: { ...k.metadata, generation: 1 },
      status: {
        observedGeneration: ready === 'True' ? 1 : 0,
        lastAppliedRevision: revision,
        conditions: [
          { type: 'Ready', status: ready, reason: 'Progressing', message: '', lastTransitionTime: '' },
        ],
      },
    });
    const deploy = ks('deploy', ['pre']);
    const post = at(ks('post', ['deploy']), 'True', 'r1');
    // Reconciling, suspended or resumed at the revision the dependent applied: nothing for it.
    assert.equal(wakesDependent(at(deploy, 'True', 'r1'), at(deploy, 'Unknown', 'r1'), post, false), false);
    assert.equal(wakesDependent(at(deploy, 'Unknown', 'r1'), at(deploy, 'True', 'r1'), post, false), false);
    // A new revision passed it, or the dependent waits for it: wake.
    assert.equal(wakesDependent(at(deploy, 'Unknown', 'r2'), at(deploy, 'True', 'r2'), post, false), true);
    const blocked = at(ks('post', ['deploy']), 'False', 'r1');
    assert.equal(wakesDependent(at(deploy, 'False', 'r1'), at(deploy, 'True', 'r1'), blocked, false), true);
    // Not ready: nothing to act on yet.
    assert.equal(wakesDependent(at(deploy, 'True', 'r1'), at(deploy, 'False', 'r2'), blocked, false), false);
    // Another source: its revision is none of the dependent's business.
    const elsewhere: Kustomization = {
      ...post,
      spec: { ...post.spec, sourceRef: { kind: 'GitRepository', name: 'other' } },
    };
    assert.equal(wakesDependent(at(deploy, 'True', 'r1'), at(deploy, 'True', 'r2'), elsewhere, false), false);
    // A readyExpr may read anything: any readiness change wakes.
    assert.equal(wakesDependent(at(deploy, 'True', 'r1'), at(deploy, 'Unknown', 'r1'), post, true), true);
    const withExpr = { ...post, spec: { ...post.spec, dependsOn: [{ name: 'deploy', readyExpr: 'true' }] } };
    assert.equal(judgesByExpression(withExpr, deploy), true);
    assert.equal(judgesByExpression(post, deploy), false);
  });
});
