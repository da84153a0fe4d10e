import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../kube/client.ts';
import { IgnoreRules, applyPayload, withoutPaths } from './ignore.ts';

const deployment = (replicas: number, image: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'apps', labels: { tier: 'front' }, ...extra },
  spec: { replicas, template: { spec: { containers: [{ name: 'web', image }] } } },
});

describe('ignore rules', () => {
  it('select objects by anchored regular expressions and label selectors', () => {
    const rules = new IgnoreRules([
      {
        paths: ['/spec/replicas'],
        target: { kind: 'Deploy.*', group: 'apps', labelSelector: 'tier in (front,back),!legacy' },
      },
      { paths: ['/metadata/annotations/example.com~1owner'], target: { name: 'we' } },
      { paths: ['/data'] },
    ]);
    assert.deepEqual(rules.pathsFor(deployment(1, 'a')), [['spec', 'replicas'], ['data']]);
    const legacy = deployment(1, 'a', { labels: { tier: 'front', legacy: 'yes' } });
    assert.deepEqual(rules.pathsFor(legacy), [['data']]);
    const named = new IgnoreRules([
      { paths: ['/metadata/annotations/example.com~1owner'], target: { name: 'web' } },
    ]);
    assert.deepEqual(named.pathsFor(deployment(1, 'a')), [['metadata', 'annotations', 'example.com/owner']]);
  });

  it('refuse a pointer that does not start with /, and a bad selector, naming the field', () => {
    assert.throws(() => new IgnoreRules([{ paths: ['spec/replicas'] }]), {
      message:
        "spec.ignore[0].paths[0]: 'spec/replicas' is not a JSON pointer: it must start with '/' (e.g. /spec/replicas)",
    });
    assert.throws(() => new IgnoreRules([{ paths: ['/a'], target: { labelSelector: 'a in b' } }]), {
      message:
        "spec.ignore[0].target.labelSelector: 'a in b' is not a label selector requirement (e.g. app=web, tier in (a,b), !legacy)",
    });
  });

  it('leave missing paths and list indexes out of the comparison without error', () => {
    const paths = [
      ['spec', 'template', 'spec', 'containers', '0', 'image'],
      ['spec', 'nothing', 'here'],
    ];
    assert.deepEqual(withoutPaths(deployment(1, 'a'), paths), withoutPaths(deployment(1, 'b'), paths));
  });

  it('send the live value of a drifted field nobody else applies, and leave out one another Apply manager owns', () => {
    const paths = [
      ['spec', 'replicas'],
      ['spec', 'template', 'spec', 'containers', '0', 'image'],
    ];
    const desired = deployment(2, 'app:2');
    const dryRun = deployment(2, 'app:2');
    const hpaOwned = deployment(5, 'app:1', {
      managedFields: [
        { manager: 'kustomize-controller', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:template': {} } } },
        { manager: 'hpa', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
        {
          manager: 'kubectl-edit',
          operation: 'Update',
          fieldsV1: {
            'f:spec': {
              'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { 'f:image': {} } } } },
            },
          },
        },
      ],
    });
    const payload = applyPayload(desired, hpaOwned, dryRun, paths, 'kustomize-controller');
    const spec = payload['spec'] as {
      replicas?: number;
      template: { spec: { containers: { image: string }[] } };
    };
    assert.equal(spec.replicas, undefined, 'owned by another Apply manager: left out');
    assert.equal(spec.template.spec.containers[0]?.image, 'app:1', 'an Update manager’s value is adopted');
    const imageByApply = deployment(2, 'app:1', {
      managedFields: [
        {
          manager: 'image-automation',
          operation: 'Apply',
          fieldsV1: {
            'f:spec': {
              'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { 'f:image': {} } } } },
            },
          },
        },
      ],
    });
    const left = applyPayload(desired, imageByApply, dryRun, paths, 'kustomize-controller');
    assert.deepEqual(
      (left['spec'] as { template: { spec: { containers: object[] } } }).template.spec.containers,
      [{ name: 'web' }],
    );
  });

  it('send the built value when the live object lacks the field', () => {
    const live = deployment(2, 'a');
    delete (live['spec'] as Record<string, unknown>)['replicas'];
    const payload = applyPayload(deployment(3, 'a'), live, deployment(3, 'a'), [['spec', 'replicas']], 'kc');
    assert.equal((payload['spec'] as { replicas: number }).replicas, 3);
  });
});
