// GitRepository fields beyond the ref: sparseCheckout keeps only the named directories in the artifact,
// recurseSubmodules brings a submodule's files (fetched from the real git server) into it, include copies another
// GitRepository's artifact in (and again when that one changes), and verify stalls with a clear message.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/kube/client.ts';
import { condition } from '../../dev/cluster.ts';
import {
  create,
  gitRepository,
  kustomization,
  requestReconcile,
  useControllerEnv,
  waitForSource,
  waitForApplied,
  waitForReady,
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
    await env.git.createRepo('shared', { 'cm.yaml': configMap('from-include') });
    await env.git.createRepo('parent', { 'app/cm.yaml': configMap('from-parent') });
    parentCommit = await env.git.addSubmodule('parent', 'vendor/lib', env.git.url('lib'), libCommit);
  });

  it('sparseCheckout: only the named directories are in the artifact', async () => {
    await create(env, gitRepository(env, 'mono', { sparseCheckout: ['./apps'] }));
    const repo = await waitForSource(env, 'GitRepository', 'mono', 'True');
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
    await waitForSource(env, 'GitRepository', 'parent', 'True');
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

  it('include: another GitRepository’s directory is copied in, and again when it changes', async () => {
    await create(env, gitRepository(env, 'shared', {}));
    await waitForSource(env, 'GitRepository', 'shared', 'True');
    await create(
      env,
      gitRepository(env, 'with-include', {
        url: env.git.url('mono'),
        include: [{ repository: { name: 'shared' }, toPath: 'apps/vendored' }],
      }),
    );
    const repo = await waitForSource(env, 'GitRepository', 'with-include', 'True');
    const status = repo['status'] as { includedArtifacts?: unknown[]; observedInclude?: unknown[] };
    assert.equal(status.includedArtifacts?.length, 1);
    assert.equal(status.observedInclude?.length, 1);
    await create(
      env,
      kustomization(env, 'included', {
        path: './apps/vendored',
        sourceRef: { kind: 'GitRepository', name: 'with-include' },
      }),
    );
    await waitForApplied(env, 'included', monoCommit);
    const included = () =>
      env.objects.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: env.namespace,
        name: 'from-include',
      });
    assert.ok(await included(), 'the included ConfigMap is applied');
    // A change to the included repository makes a new artifact of the includer (same revision, new digest).
    const digestOf = (o: KubeObject) => (o['status'] as { artifact: { digest: string } }).artifact.digest;
    const before = digestOf(repo);
    const changed = `${configMap('from-include')}data:\n  changed: "yes"\n`;
    await env.git.commit('shared', { 'cm.yaml': changed }, 'change the shared ConfigMap');
    await requestReconcile(env, 'GitRepository', 'shared', 'shared-changed');
    await waitForSource(env, 'GitRepository', 'with-include', 'True', (o) => digestOf(o) !== before);
    await requestReconcile(env, 'Kustomization', 'included', 'after-include');
    await waitForReady(
      env,
      'included',
      'True',
      'ReconciliationSucceeded',
      (ks) =>
        (ks['status'] as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === 'after-include',
    );
    assert.deepEqual((await included())?.['data'], { changed: 'yes' });
  });

  it('include of a GitRepository that does not exist says so', async () => {
    await create(
      env,
      gitRepository(env, 'bad-include', {
        url: env.git.url('mono'),
        include: [{ repository: { name: 'nope' } }],
      }),
    );
    const repo = await waitForSource(env, 'GitRepository', 'bad-include', 'False');
    assert.equal(condition(repo, 'Ready')?.reason, 'IncludeUnavailable');
    assert.match(
      condition(repo, 'Ready')?.message ?? '',
      /could not get resource for include 'nope': GitRepository "nope" not found/,
    );
  });

  it('verify: Stalled with a message naming the field', async () => {
    const verify = { verify: { mode: 'HEAD', secretRef: { name: 'keys' } } };
    await create(env, gitRepository(env, 'with-verify', { url: env.git.url('mono'), ...verify }));
    const repo = await waitForSource(env, 'GitRepository', 'with-verify', 'False');
    assert.match(
      condition(repo, 'Ready')?.message ?? '',
      /^spec\.verify \(commit signature verification\) is not supported by sluice yet/,
    );
    assert.equal(condition(repo, 'Stalled')?.status, 'True');
  });
});
