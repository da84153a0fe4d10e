import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dependentsOf, findDependencyCycle, pipelineOf, sortByDependencies } from './dependencies.ts';
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

  it('lists the dependents of a Kustomization', () => {
    const pre = ks('pre');
    const all = [pre, ks('deploy', ['pre']), ks('post', ['deploy']), ks('audit', ['pre', 'deploy'])];
    assert.deepEqual(
      dependentsOf(pre, all).map((k) => k.metadata.name),
      ['deploy', 'audit'],
    );
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
});
