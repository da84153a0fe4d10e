import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyStages } from './sort.ts';
import type { KubeObject } from '../kube/client.ts';

const o = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace },
});
const names = (objects: KubeObject[]) => objects.map((x) => `${x.kind}/${x.metadata?.name}`);

describe('applyStages', () => {
  it("splits definitions, classes, custom kinds and the rest, each in Flux's kind order", () => {
    const stages = applyStages(
      [
        o('batch/v1', 'Job', 'migrate', 'a'),
        o('apps/v1', 'Deployment', 'web', 'a'),
        o('v1', 'ConfigMap', 'settings', 'a'),
        o('rbac.authorization.k8s.io/v1', 'Role', 'reader', 'a'),
        o('networking.k8s.io/v1', 'IngressClass', 'nginx'),
        o('v1', 'Namespace', 'a'),
        o('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com'),
        o('rbac.authorization.k8s.io/v1', 'ClusterRole', 'admin'),
        o('v1', 'Service', 'web', 'a'),
        o('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'hook'),
      ],
      ['rbac.authorization.k8s.io/Role'],
    );
    assert.deepEqual(
      stages.map((s) => [s.name, s.waitForReady, names(s.objects)]),
      [
        [
          'definitions',
          true,
          ['CustomResourceDefinition/widgets.example.com', 'Namespace/a', 'ClusterRole/admin'],
        ],
        ['classes', true, ['IngressClass/nginx']],
        ['custom', false, ['Role/reader']],
        [
          'resources',
          false,
          [
            'ConfigMap/settings',
            'Service/web',
            'Deployment/web',
            'Job/migrate',
            'ValidatingWebhookConfiguration/hook',
          ],
        ],
      ],
    );
  });

  it('breaks ties by namespace, then name', () => {
    const [stage] = applyStages([
      o('v1', 'ConfigMap', 'b', 'y'),
      o('v1', 'ConfigMap', 'a', 'y'),
      o('v1', 'ConfigMap', 'z', 'x'),
    ]);
    assert.deepEqual(
      stage?.objects.map((x) => `${x.metadata?.namespace}/${x.metadata?.name}`),
      ['x/z', 'y/a', 'y/b'],
    );
  });
});
