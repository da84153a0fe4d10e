// The pure parts of get, tree, events and uninstall: rows, the tree layout, LAST SEEN, the confirmation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tableRow } from './get.ts';
import { formatTree, type TreeNode } from './tree.ts';
import { lastSeen, type KubeEvent } from './events.ts';
import { confirmed } from './uninstall.ts';
import { gitRepositoryKind, kustomizationKind, type FluxObject } from './kinds.ts';

const sha = '67e2c98a60dc92283531412a9e604dd4bae005a9';

function ks(
  generation: number,
  status: FluxObject['status'],
  spec: FluxObject['spec'] = {},
  name = 'app',
): FluxObject {
  return { metadata: { name, namespace: 'apps', generation }, spec, status };
}

const ready = (status: string, observedGeneration: number, reason = 'Any', message = 'msg') => ({
  type: 'Ready',
  status,
  reason,
  message,
  observedGeneration,
});

describe('get rows', () => {
  it('shows the applied revision and Ready message with hashes cut, suspended as True/False', () => {
    const object = ks(
      1,
      {
        lastAppliedRevision: `main@sha1:${sha}`,
        conditions: [ready('True', 1, 'X', `Applied revision: main@sha1:${sha}`)],
      },
      { suspend: true },
    );
    assert.deepEqual(tableRow(kustomizationKind, object, false), [
      'app',
      'main@sha1:67e2c98a',
      'True',
      'True',
      'Applied revision: main@sha1:67e2c98a',
    ]);
    assert.deepEqual(tableRow(kustomizationKind, object, true)[0], 'apps');
  });

  it('says "waiting to be reconciled" before any Ready condition', () => {
    assert.deepEqual(tableRow(gitRepositoryKind, ks(1, undefined), false), [
      'app',
      '',
      'False',
      'False',
      'waiting to be reconciled',
    ]);
  });

  it("takes a GitRepository's revision from its artifact", () => {
    const repo = ks(1, { artifact: { revision: `main@sha1:${sha}` } });
    assert.equal(tableRow(gitRepositoryKind, repo, false)[1], 'main@sha1:67e2c98a');
  });
});

describe('formatTree', () => {
  const leaf = (Kind: string, Namespace: string, Name: string, resources?: TreeNode[]): TreeNode => ({
    resource: { Namespace, Name, GroupKind: { Group: '', Kind } },
    ...(resources ? { resources } : {}),
  });

  it("draws flux's tree: ├── and └── per child, │ under a non-last parent", () => {
    // The layout of flux2 cmd/flux/testdata/tree/tree.golden.
    const root = leaf('Kustomization', 'flux-system', 'flux-system', [
      leaf('Namespace', '', 'flux-system'),
      leaf('Deployment', 'flux-system', 'helm-controller'),
      leaf('Kustomization', 'flux-system', 'infrastructure', [
        leaf('Namespace', '', 'cert-manager'),
        leaf('HelmRepository', 'cert-manager', 'cert-manager'),
        leaf('HelmRelease', 'cert-manager', 'cert-manager'),
      ]),
      leaf('GitRepository', 'flux-system', 'flux-system'),
    ]);
    assert.equal(
      formatTree(root),
      [
        'Kustomization/flux-system/flux-system',
        '├── Namespace/flux-system',
        '├── Deployment/flux-system/helm-controller',
        '├── Kustomization/flux-system/infrastructure',
        '│   ├── Namespace/cert-manager',
        '│   ├── HelmRepository/cert-manager/cert-manager',
        '│   └── HelmRelease/cert-manager/cert-manager',
        '└── GitRepository/flux-system/flux-system',
        '',
      ].join('\n'),
    );
  });

  it('indents with spaces under a last child', () => {
    const root = leaf('Kustomization', 'a', 'root', [
      leaf('Kustomization', 'a', 'child', [leaf('ConfigMap', 'a', 'c')]),
    ]);
    assert.equal(
      formatTree(root),
      'Kustomization/a/root\n└── Kustomization/a/child\n    └── ConfigMap/a/c\n',
    );
  });
});

describe('lastSeen', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const event = (fields: Partial<KubeEvent>): KubeEvent => ({ involvedObject: {}, ...fields });

  it('is the age of a single event, and count and span for a repeated one', () => {
    assert.equal(lastSeen(event({ firstTimestamp: '2026-01-01T11:59:30Z', count: 1 }), now), '30s');
    assert.equal(
      lastSeen(
        event({ firstTimestamp: '2026-01-01T11:50:00Z', lastTimestamp: '2026-01-01T11:59:55Z', count: 4 }),
        now,
      ),
      '5s (x4 over 10m)',
    );
    assert.equal(lastSeen(event({}), now), '<unknown>');
  });
});

describe('sluice uninstall confirmation', () => {
  it('proceeds on y or yes only', () => {
    for (const answer of ['y', 'Y', 'yes', ' YES\n']) assert.ok(confirmed(answer), answer);
    for (const answer of ['', 'n', 'no', 'yess', 'sure']) assert.equal(confirmed(answer), false, answer);
  });
});
