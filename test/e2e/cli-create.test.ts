// `sluice create source git` and `sluice create kustomization`: export, apply and wait, fail fast.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { runSluice } from '../support/cli.ts';
import { useControllerEnv } from '../support/controller.ts';

describe('sluice create', () => {
  const env = useControllerEnv('e2e-create');

  const sluice = (...args: string[]) => runSluice([...args, '-n', env.namespace]);

  let commit = '';
  before(async () => {
    commit = await env.git.createRepo('app', {
      'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: created\n',
    });
  });

  it('exports manifests a Flux user would commit', async () => {
    const result = await sluice(
      'create',
      'ks',
      'app',
      '--source',
      'GitRepository/app',
      '--path',
      './deploy',
      '--prune=true',
      '--export',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(YAML.parse(result.stdout.replace(/^---\n/, '')), {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'app', namespace: env.namespace },
      spec: {
        interval: '1m0s',
        path: './deploy',
        prune: true,
        sourceRef: { kind: 'GitRepository', name: 'app' },
      },
    });
  });

  it('creates a source and a Kustomization and waits until each is ready', async () => {
    const source = await sluice(
      'create',
      'source',
      'git',
      'app',
      '--url',
      env.git.url('app'),
      '--branch',
      'main',
    );
    assert.equal(source.code, 0, source.stderr);
    assert.equal(
      source.stderr,
      [
        '► generating GitRepository source',
        '► applying GitRepository source',
        '✔ GitRepository source created',
        '◎ waiting for GitRepository source reconciliation',
        '✔ GitRepository source reconciliation completed',
        `✔ fetched revision: main@sha1:${commit}`,
        '',
      ].join('\n'),
    );
    const ks = await sluice(
      'create',
      'ks',
      'app',
      '--source',
      'GitRepository/app',
      '--path',
      './deploy',
      '--prune=true',
    );
    assert.equal(ks.code, 0, ks.stderr);
    assert.match(
      ks.stderr,
      new RegExp(`✔ Kustomization reconciliation completed\\n✔ applied revision: main@sha1:${commit}\\n$`),
    );
    assert.ok(
      await env.objects.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: env.namespace,
        name: 'created',
      }),
    );
  });

  it('reports a failing Kustomization at once with its message', async () => {
    const result = await sluice(
      'create',
      'ks',
      'broken',
      '--source',
      'GitRepository/app',
      '--path',
      './nowhere',
      '--prune=true',
      '--timeout',
      '2m',
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /✗ Kustomization reconciliation failed: kustomization path not found/);
  });
});
