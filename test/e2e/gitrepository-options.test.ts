// GitRepository fields beyond the ref: sparseCheckout keeps only the named directories in the artifact,
// recurseSubmodules brings a submodule's files (fetched from the real git server) into it, and the fields sluice
// does not implement (include, verify, a cloud provider, a proxy) stall the GitRepository with a clear message.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/kube/client.ts';
import { condition, waitForObject } from '../../dev/cluster.ts';
import {
  create,
  gitPath,
  gitRepository,
  kustomization,
  useControllerEnv,
  waitForApplied,
  waitForRefusal,
} from '../support/controller.ts';

const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

describe('GitRepository sparseCheckout, recurseSubmodules and unsupported fields', () => {
  const env = useControllerEnv('e2e-gitopts');
  let monoCommit = '';
  let parentCommit = '';

  before(async () => {
    monoCommit = await env.git.createRepo('mono', {
      'apps/cm.yaml': configMap('from-apps'),
      'infra/cm.yaml': configMap('from-infra'),
      'README.md': 'top-level file\n',
    });
    const libCommit = await env.git.createRepo('lib', { 'cm.yaml': configMap('from-submodule') });
    await env.git.createRepo('parent', { 'app/cm.yaml': configMap('from-parent') });
    parentCommit = await env.git.addSubmodule('parent', 'vendor/lib', env.git.url('lib'), libCommit);
  });

  const waitForRepo = (name: string, status: 'True' | 'False') =>
    waitForObject(env.client, gitPath(env), name, (o) => condition(o, 'Ready')?.status === status, {
      description: `GitRepository ${name} Ready=${status}`,
    });

  it('sparseCheckout: only the named directories are in the artifact', async () => {
    await create(env, gitRepository(env, 'mono', { sparseCheckout: ['./apps'] }));
    const repo = await waitForRepo('mono', 'True');
    assert.deepEqual((repo['status'] as { observedSparseCheckout?: string[] }).observedSparseCheckout, [
      './apps',
    ]);
    await create(
      env,
      kustomization(env, 'apps', { path: './apps', sourceRef: { kind: 'GitRepository', name: 'mono' } }),
    );
    await waitForApplied(env, 'apps', monoCommit);
    await create(
      env,
      kustomization(env, 'infra', { path: './infra', sourceRef: { kind: 'GitRepository', name: 'mono' } }),
    );
    await waitForRefusal(env, 'infra', 'ArtifactFailed', /kustomization path not found/);
  });

  it('recurseSubmodules: a submodule’s files are fetched into the artifact', async () => {
    await create(env, gitRepository(env, 'parent', { recurseSubmodules: true }));
    await waitForRepo('parent', 'True');
    await create(
      env,
      kustomization(env, 'vendored', {
        path: './vendor/lib',
        sourceRef: { kind: 'GitRepository', name: 'parent' },
      }),
    );
    await waitForApplied(env, 'vendored', parentCommit);
    const cm: KubeObject | undefined = await env.objects.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: env.namespace,
      name: 'from-submodule',
    });
    assert.ok(cm, 'the ConfigMap from the submodule is applied');
  });

  for (const [name, extra, field] of [
    [
      'with-include',
      { include: [{ repository: { name: 'mono' } }] },
      /^spec\.include \(other GitRepositories copied into the artifact\) is not supported by sluice yet/,
    ],
    [
      'with-verify',
      { verify: { mode: 'HEAD', secretRef: { name: 'keys' } } },
      /^spec\.verify \(commit signature verification\) is not supported by sluice yet/,
    ],
  ] as const) {
    it(`${name}: Stalled with a message naming the field`, async () => {
      await create(env, gitRepository(env, name, { url: env.git.url('mono'), ...extra }));
      const repo = await waitForRepo(name, 'False');
      assert.match(condition(repo, 'Ready')?.message ?? '', field);
      assert.equal(condition(repo, 'Stalled')?.status, 'True');
    });
  }
});
