// OCIRepository against a real registry (distribution's, with basic auth) holding artifacts pushed by the real
// `flux push artifact`: tag, semver and digest refs with Flux's revisions and messages, a layerSelector that
// copies the layer, a Kustomization applying from it (and from a new push to the same tag); a wrong password,
// an unknown tag, no tag matching a range and a missing layer give Ready=False with a clear message and apply
// nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/kube/client.ts';
import { OCIRepositoryApi } from '../../src/api/ocirepository.ts';
import { OciRegistry, pushArtifact } from '../../dev/registry.ts';
import { scratchDir } from '../../dev/fixtures.ts';
import { condition } from '../../dev/cluster.ts';
import {
  create,
  kustomization,
  requestReconcile,
  useControllerEnv,
  waitForSource,
  waitForReady,
} from '../support/controller.ts';

const user = { username: 'robot', password: 'registry-password' };
const configMap = (name: string, version: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  version: "${version}"\n`;
const scratch = await scratchDir('oci');

describe('OCIRepository (real registry, flux push artifact)', () => {
  const env = useControllerEnv('e2e-oci');
  let registry: OciRegistry;
  const digests: Record<string, string> = {};

  before(async () => {
    registry = await OciRegistry.start({ user });
    for (const version of ['1.0.0', '1.1.0', '2.0.0']) {
      const dir = await scratch.tree({ 'deploy/cm.yaml': configMap('from-oci', version) });
      digests[version] = await pushArtifact(registry.url('app'), `v${version}`, dir, {
        user,
        revision: `v${version}@sha1:1111111111111111111111111111111111111111`,
      });
    }
    const dockerConfig = { auths: { [registry.host]: { username: user.username, password: user.password } } };
    const secret = (name: string, config: object) =>
      env.objects.apply(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/dockerconfigjson',
          metadata: { name, namespace: env.namespace },
          data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
        },
        { fieldManager: 'e2e-test' },
      );
    await secret('registry-creds', dockerConfig);
    await secret('wrong-creds', {
      auths: { [registry.host]: { username: user.username, password: 'wrong' } },
    });
  });
  after(async () => {
    await registry?.stop();
    await scratch.remove();
  });

  const ociRepository = (
    name: string,
    spec: Record<string, unknown>,
    secretName = 'registry-creds',
  ): KubeObject => ({
    apiVersion: OCIRepositoryApi.apiVersion,
    kind: OCIRepositoryApi.kind,
    metadata: { name, namespace: env.namespace },
    spec: {
      url: registry.url('app'),
      interval: '1m',
      insecure: true,
      secretRef: { name: secretName },
      ...spec,
    },
  });
  const artifactOf = (o: KubeObject) =>
    (o['status'] as { artifact?: { revision: string; path: string; metadata?: Record<string, string> } })
      .artifact;

  it('a tag: revision <tag>@<digest>, and a Kustomization applies it with the origin revision', async () => {
    await create(env, ociRepository('by-tag', { ref: { tag: 'v1.0.0' } }));
    const repo = await waitForSource(env, 'OCIRepository', 'by-tag', 'True');
    const revision = `v1.0.0@${digests['1.0.0']}`;
    assert.equal(artifactOf(repo)?.revision, revision);
    assert.equal(condition(repo, 'Ready')?.message, `stored artifact for digest '${revision}'`);
    assert.equal(artifactOf(repo)?.path, `ocirepository/${env.namespace}/by-tag/${digests['1.0.0']}.tar.gz`);
    await create(
      env,
      kustomization(env, 'from-oci', {
        path: './deploy',
        sourceRef: { kind: 'OCIRepository', name: 'by-tag' },
      }),
    );
    const ks = await waitForReady(env, 'from-oci', 'True', 'ReconciliationSucceeded');
    const status = ks['status'] as { lastAppliedRevision?: string; lastAppliedOriginRevision?: string };
    assert.equal(status.lastAppliedRevision, revision);
    assert.equal(status.lastAppliedOriginRevision, 'v1.0.0@sha1:1111111111111111111111111111111111111111');
    const cm = await env.objects.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: env.namespace,
      name: 'from-oci',
    });
    assert.deepEqual(cm?.['data'], { version: '1.0.0' });
  });

  it('a new push to the same tag reaches the Kustomization', async () => {
    const dir = await scratch.tree({ 'deploy/cm.yaml': configMap('from-oci', '1.0.1') });
    const digest = await pushArtifact(registry.url('app'), 'v1.0.0', dir, { user });
    await requestReconcile(env, 'OCIRepository', 'by-tag', 'new-push');
    await waitForReady(
      env,
      'from-oci',
      'True',
      'ReconciliationSucceeded',
      (ks) => (ks['status'] as { lastAppliedRevision?: string }).lastAppliedRevision === `v1.0.0@${digest}`,
    );
    const cm = await env.objects.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: env.namespace,
      name: 'from-oci',
    });
    assert.deepEqual(cm?.['data'], { version: '1.0.1' });
  });

  it('semver picks the highest tag in range; a digest ref is its own revision; copy stores the layer as it is', async () => {
    await create(env, ociRepository('by-semver', { ref: { semver: '>=1.0.0 <2.0.0' } }));
    await create(env, ociRepository('by-digest', { ref: { digest: digests['2.0.0'] } }));
    await create(
      env,
      ociRepository('copied', {
        ref: { tag: 'v2.0.0' },
        layerSelector: { mediaType: 'application/vnd.cncf.flux.content.v1.tar+gzip', operation: 'copy' },
      }),
    );
    assert.equal(
      artifactOf(await waitForSource(env, 'OCIRepository', 'by-semver', 'True'))?.revision,
      `v1.1.0@${digests['1.1.0']}`,
    );
    assert.equal(
      artifactOf(await waitForSource(env, 'OCIRepository', 'by-digest', 'True'))?.revision,
      digests['2.0.0'],
    );
    await waitForSource(env, 'OCIRepository', 'copied', 'True');
    await create(
      env,
      kustomization(env, 'from-copy', {
        path: './deploy',
        targetNamespace: env.namespace,
        nameSuffix: '-copy',
        sourceRef: { kind: 'OCIRepository', name: 'copied' },
      }),
    );
    await waitForReady(env, 'from-copy', 'True', 'ReconciliationSucceeded');
    const cm = await env.objects.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: env.namespace,
      name: 'from-oci-copy',
    });
    assert.deepEqual(cm?.['data'], { version: '2.0.0' });
  });

  const refused: {
    name: string;
    spec: Record<string, unknown>;
    secret?: string;
    reason: string;
    message: RegExp;
  }[] = [
    {
      name: 'wrong-password',
      spec: { ref: { tag: 'v1.0.0' } },
      secret: 'wrong-creds',
      reason: 'OCIArtifactPullFailed',
      message: /^failed to determine artifact digest: GET .*\/v2\/app\/manifests\/v1\.0\.0: UNAUTHORIZED/,
    },
    {
      name: 'unknown-tag',
      spec: { ref: { tag: 'v9.9.9' } },
      reason: 'OCIArtifactPullFailed',
      message: /MANIFEST_UNKNOWN: manifest unknown/,
    },
    {
      name: 'no-match',
      spec: { ref: { semver: '>=3.0.0' } },
      reason: 'ReadOperationFailed',
      message: /no match found for semver: >=3\.0\.0$/,
    },
    {
      name: 'no-layer',
      spec: { ref: { tag: 'v1.0.0' }, layerSelector: { mediaType: 'application/x-none' } },
      reason: 'OCIArtifactLayerOperationFailed',
      message: /^failed to find layer with media type 'application\/x-none' in artifact$/,
    },
  ];
  for (const c of refused) {
    it(`${c.name}: Ready=False ${c.reason} with a clear message, and its Kustomization applies nothing`, async () => {
      await create(env, ociRepository(c.name, c.spec, c.secret));
      const repo = await waitForSource(env, 'OCIRepository', c.name, 'False');
      assert.equal(condition(repo, 'Ready')?.reason, c.reason);
      assert.match(condition(repo, 'Ready')?.message ?? '', c.message);
      assert.doesNotMatch(JSON.stringify(repo['status']), /registry-password/);
      await create(
        env,
        kustomization(env, `ks-${c.name}`, {
          path: './deploy',
          nameSuffix: `-${c.name}`,
          sourceRef: { kind: 'OCIRepository', name: c.name },
        }),
      );
      await waitForReady(env, `ks-${c.name}`, 'False', 'ArtifactFailed');
      const cm = await env.objects.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: env.namespace,
        name: `from-oci-${c.name}`,
      });
      assert.equal(cm, undefined);
    });
  }
});
