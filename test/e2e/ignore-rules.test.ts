// spec.ignore: fields another controller changes are neither drift nor reverted. An autoscaler's /scale writes
// to a Deployment's replicas and another Apply manager's image field stay as they set them while the rest of
// the object is still corrected; a ConfigMap key edited by hand is kept across new revisions; `sluice diff` shows
// no drift for ignored fields; a malformed rule stalls with the field named.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { KubeObject } from '../../src/kube/client.ts';
import { scratchDir } from '../../dev/fixtures.ts';
import { condition } from '../../dev/cluster.ts';
import {
  create,
  gitRepository,
  kustomization,
  requestReconcile,
  useControllerEnv,
  waitForApplied,
  waitForReady,
} from '../support/controller.ts';
import { runSluice } from '../support/cli.ts';
import { deploymentManifest } from '../support/manifests.ts';

const deployment = (minReadySeconds: number) =>
  deploymentManifest({
    replicas: 2,
    minReadySeconds,
    containers: { web: 'example.com/web:1', sidecar: 'example.com/sidecar:1' },
  });
const configMap = (managed: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  managed-key: ${managed}\n  ignored-key: from-git\n`;

const scratch = await scratchDir('ignore-cli');

describe('spec.ignore drift rules', () => {
  const env = useControllerEnv('e2e-ignore');
  let commit = '';

  before(async () => {
    commit = await env.git.createRepo('app', {
      'app/deployment.yaml': deployment(0),
      'app/settings.yaml': configMap('v1'),
    });
    await create(env, gitRepository(env, 'app'));
    await create(
      env,
      kustomization(env, 'web', {
        path: './app',
        ignore: [
          {
            paths: ['/spec/replicas', '/spec/template/spec/containers/1/image'],
            target: { kind: 'Deployment' },
          },
          { paths: ['/data/ignored-key'], target: { kind: 'ConfigMap', name: 'settings' } },
        ],
      }),
    );
    await waitForApplied(env, 'web', commit);
  });

  const ref = (kind: string, name: string) => ({
    apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
    kind,
    namespace: env.namespace,
    name,
  });
  const live = (kind: string, name: string) => env.objects.get(ref(kind, name)) as Promise<KubeObject>;
  const spec = (object: KubeObject) =>
    object['spec'] as {
      replicas: number;
      minReadySeconds: number;
      template: { spec: { containers: { image: string }[] } };
    };

  it('creates objects as built, ignored fields included', async () => {
    assert.equal(spec(await live('Deployment', 'web')).replicas, 2);
    assert.deepEqual((await live('ConfigMap', 'settings'))['data'], {
      'managed-key': 'v1',
      'ignored-key': 'from-git',
    });
  });

  it('keeps what an autoscaler, another Apply manager and a hand edit set, and corrects everything else', async () => {
    // An autoscaler writes replicas through the scale subresource; another tool applies the sidecar's image.
    const scalePath = `/apis/apps/v1/namespaces/${env.namespace}/deployments/web/scale`;
    await env.client.request('PATCH', scalePath, {
      body: { spec: { replicas: 5 } },
      contentType: 'application/merge-patch+json',
    });
    await env.objects.apply(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: env.namespace },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'sidecar', image: 'example.com/sidecar:2' }] },
          },
        },
      },
      { fieldManager: 'image-updater', force: true },
    );
    // By hand: an ignored key and a managed one.
    await env.objects.patch(
      ref('ConfigMap', 'settings'),
      { data: { 'ignored-key': 'edited-in-cluster', 'managed-key': 'tampered' } },
      'application/merge-patch+json',
    );
    commit = await env.git.commit(
      'app',
      { 'app/deployment.yaml': deployment(3), 'app/settings.yaml': configMap('v2') },
      'a new revision',
    );
    await requestReconcile(env, 'GitRepository', 'app', 'new-revision');
    await waitForApplied(env, 'web', commit);
    const web = spec(await live('Deployment', 'web'));
    assert.equal(web.replicas, 5, "the autoscaler's replicas stay");
    assert.equal(
      web.template.spec.containers[1]?.image,
      'example.com/sidecar:2',
      "the other manager's image stays",
    );
    assert.equal(web.minReadySeconds, 3, 'the new revision is applied');
    assert.equal(web.template.spec.containers[0]?.image, 'example.com/web:1');
    assert.deepEqual((await live('ConfigMap', 'settings'))['data'], {
      'managed-key': 'v2',
      'ignored-key': 'edited-in-cluster',
    });
  });

  it('an ignored field changing alone is no drift: nothing applied, and sluice diff shows nothing', async () => {
    await env.client.request('PATCH', `/apis/apps/v1/namespaces/${env.namespace}/deployments/web/scale`, {
      body: { spec: { replicas: 7 } },
      contentType: 'application/merge-patch+json',
    });
    // The deployment controller writes status meanwhile: the generation says whether the spec was written.
    const before = (await live('Deployment', 'web')).metadata?.generation;
    await requestReconcile(env, 'Kustomization', 'web', 'after-scale');
    await waitForReady(
      env,
      'web',
      'True',
      'ReconciliationSucceeded',
      (ks) => (ks['status'] as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === 'after-scale',
    );
    const after = await live('Deployment', 'web');
    assert.equal(after.metadata?.generation, before, 'the spec was not written');
    assert.equal(spec(after).replicas, 7);
    const dir = await scratch.tree({
      'app/deployment.yaml': deployment(3),
      'app/settings.yaml': configMap('v2'),
    });
    const diff = await runSluice(['diff', 'ks', 'web', '-n', env.namespace, '--path', path.join(dir, 'app')]);
    assert.equal(diff.code, 0, `${diff.stdout}\n${diff.stderr}`);
  });

  it('a pointer that is not one stalls the Kustomization, naming the field', async () => {
    await create(
      env,
      kustomization(env, 'bad-rule', { path: './app', ignore: [{ paths: ['spec/replicas'] }] }),
    );
    const ks = await waitForReady(env, 'bad-rule', 'False', 'ReconciliationFailed');
    assert.match(
      condition(ks, 'Ready')?.message ?? '',
      /spec\.ignore\[0\]\.paths\[0\]: 'spec\/replicas' is not a JSON pointer/,
    );
    assert.equal(condition(ks, 'Stalled')?.status, 'True');
  });
});
