// The Kustomization and GitRepository reconcilers end to end: a real git server, the real kustomize (compiled to
// WebAssembly, as the controller runs it), the real API server; the status, inventory and events a Flux user would
// see.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  useControllerEnv,
  gitRepository,
  kustomization,
  create,
  waitForReady,
  eventsFor,
  waitForEvent,
  gitPath,
  requestReconcile,
  waitForApplied,
} from '../support/controller.ts';
import { waitForObject, condition } from '../../dev/cluster.ts';
import type { KubeObject } from '../../src/kube/client.ts';
import { jobManifest } from '../support/manifests.ts';

const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
`;
const deployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ${image}
`;
const service = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
`;

interface Status {
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  observedGeneration?: number;
  inventory?: { entries: { id: string; v: string }[] };
}
const statusOf = (o: KubeObject) => (o['status'] ?? {}) as Status;

describe('Kustomization reconciler', () => {
  const env = useControllerEnv('e2e-ks');

  it('applies a repository and reports revision, inventory, conditions and events as Flux does', async () => {
    const ns = env.namespace;
    const extraNs = `${ns}-extra`;
    const commit = await env.git.createRepo('app', {
      'deploy/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${extraNs}\n`,
      'deploy/configmap.yaml': configMap,
      'deploy/deployment.yaml': deployment('ghcr.io/org/my-app:v1.0.0'),
      'deploy/service.yaml': service,
      'deploy/job.yaml': jobManifest({ image: 'ghcr.io/org/my-app:v1.0.0' }),
    });
    await create(env, gitRepository(env, 'app'));
    await create(env, kustomization(env, 'app', { path: './deploy' }));

    const ks = await waitForReady(env, 'app', 'True', 'ReconciliationSucceeded');
    const revision = `main@sha1:${commit}`;
    const status = statusOf(ks);
    assert.equal(status.lastAppliedRevision, revision);
    assert.equal(status.lastAttemptedRevision, revision);
    assert.equal(status.observedGeneration, ks.metadata?.generation);
    assert.equal(condition(ks, 'Ready')?.message, `Applied revision: ${revision}`);
    assert.equal(condition(ks, 'Reconciling'), undefined);
    assert.deepEqual(status.inventory?.entries, [
      { id: `_${extraNs}__Namespace`, v: 'v1' },
      { id: `${ns}_settings__ConfigMap`, v: 'v1' },
      { id: `${ns}_web__Service`, v: 'v1' },
      { id: `${ns}_web_apps_Deployment`, v: 'v1' },
      { id: `${ns}_db-migration_batch_Job`, v: 'v1' },
    ]);

    const cm = await env.objects.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      name: 'settings',
    });
    assert.deepEqual(cm?.metadata?.labels, {
      'kustomize.toolkit.fluxcd.io/name': 'app',
      'kustomize.toolkit.fluxcd.io/namespace': ns,
    });

    const events = await eventsFor(env, 'Kustomization', 'app');
    const applied = events.find((e) => e.message.includes('ConfigMap'));
    assert.equal(applied?.type, 'Normal');
    assert.equal(applied?.reason, 'Progressing');
    assert.equal(
      applied?.message,
      [
        `Namespace/${extraNs} created`,
        `ConfigMap/${ns}/settings created`,
        `Service/${ns}/web created`,
        `Deployment/${ns}/web created`,
        `Job/${ns}/db-migration created`,
      ].join('\n'),
    );
    const finished = await waitForEvent(
      env,
      'Kustomization',
      'app',
      (e) => e.reason === 'ReconciliationSucceeded',
      'success',
    );
    assert.equal(finished.type, 'Normal');
    assert.match(finished.message, /^Reconciliation finished in .+, next run in 1m0s$/);

    const repo = await waitForObject(
      env.client,
      gitPath(env),
      'app',
      (o) => condition(o, 'Ready')?.status === 'True',
      {
        description: 'GitRepository app Ready',
      },
    );
    assert.equal(condition(repo, 'Ready')?.message, `stored artifact for revision '${revision}'`);
    const artifact = (repo['status'] as { artifact: { revision: string; digest: string; path: string } })
      .artifact;
    assert.equal(artifact.revision, revision);
    assert.match(artifact.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(artifact.path, `gitrepository/${ns}/app/${commit}.tar.gz`);
  });

  it('prunes objects whose files were deleted, except those marked prune: disabled', async () => {
    const ns = env.namespace;
    await env.git.createRepo('prune', {
      'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n',
      'b.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n',
      'c.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n',
    });
    await create(env, gitRepository(env, 'prune'));
    await create(env, kustomization(env, 'prune', { sourceRef: { kind: 'GitRepository', name: 'prune' } }));
    await waitForReady(env, 'prune', 'True');

    const commit = await env.git.commit('prune', { 'a.yaml': null, 'b.yaml': null }, 'drop a and b');
    await requestReconcile(env, 'GitRepository', 'prune', 'prune-1');
    const ks = await waitForApplied(env, 'prune', commit);
    const cm = (name: string) =>
      env.objects.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
    assert.equal(await cm('a'), undefined, 'a was deleted from git and must be pruned');
    assert.ok(await cm('b'), 'b is marked prune: disabled and must stay');
    assert.ok(await cm('c'));
    assert.deepEqual(statusOf(ks).inventory?.entries, [{ id: `${ns}_c__ConfigMap`, v: 'v1' }]);
    await waitForEvent(
      env,
      'Kustomization',
      'prune',
      (e) => e.message === `ConfigMap/${ns}/a deleted`,
      'the prune',
    );
  });

  it('refuses an immutable Job change without force, applying nothing of the stage; force recreates the Job', async () => {
    const ns = env.namespace;
    await env.git.createRepo('jobs', {
      'job.yaml': jobManifest({ image: 'ghcr.io/org/my-app:v1.0.0' }),
      'deployment.yaml': deployment('ghcr.io/org/my-app:v1.0.0'),
    });
    await create(env, gitRepository(env, 'jobs', { interval: '2s' }));
    await create(env, kustomization(env, 'jobs', { sourceRef: { kind: 'GitRepository', name: 'jobs' } }));
    await waitForReady(env, 'jobs', 'True');
    const jobRef = { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'db-migration' };
    const oldJob = await env.objects.get(jobRef);
    const pods = await env.client.get<{ items: KubeObject[] }>(`/api/v1/namespaces/${ns}/pods`, {
      labelSelector: `batch.kubernetes.io/controller-uid=${oldJob?.metadata?.uid}`,
    });
    const oldPods = pods.items.map((p) => p.metadata?.name ?? '');
    assert.equal(oldPods.length, 1, 'the first Job must have run a pod');

    await env.git.commit(
      'jobs',
      {
        'job.yaml': jobManifest({ image: 'ghcr.io/org/my-app:v1.0.1' }),
        'deployment.yaml': deployment('ghcr.io/org/my-app:v1.0.1'),
      },
      'bump to v1.0.1',
    );
    const failed = await waitForReady(env, 'jobs', 'False', 'ReconciliationFailed');
    assert.match(
      condition(failed, 'Ready')?.message ?? '',
      new RegExp(`Job/${ns}/db-migration dry-run failed \\(Invalid\\): .*field is immutable`),
    );
    const web = await env.objects.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'web',
    });
    assert.match(
      JSON.stringify(web?.['spec']),
      /my-app:v1\.0\.0/,
      'the Deployment edit of the same commit must not be applied',
    );
    const warning = await waitForEvent(
      env,
      'Kustomization',
      'jobs',
      (e) => e.type === 'Warning',
      'a Warning',
    );
    assert.equal(warning.reason, 'ReconciliationFailed');
    assert.match(warning.message, /field is immutable/);

    await env.objects.patch(
      { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: ns, name: 'jobs' },
      { spec: { force: true } },
      'application/merge-patch+json',
    );
    await waitForReady(
      env,
      'jobs',
      'True',
      'ReconciliationSucceeded',
      (o) => o.metadata?.generation === statusOf(o).observedGeneration,
    );
    const newJob = await env.objects.get(jobRef);
    assert.notEqual(newJob?.metadata?.uid, oldJob?.metadata?.uid, 'force must recreate the Job');
    assert.match(JSON.stringify(newJob?.['spec']), /my-app:v1\.0\.1/);
    await waitForEvent(
      env,
      'Kustomization',
      'jobs',
      (e) => e.message.split('\n').includes(`Job/${ns}/db-migration created`),
      'the recreated Job',
    );
    // Background propagation: the old Job's pods are garbage-collected.
    const signal = AbortSignal.timeout(30_000);
    for (const pod of oldPods) {
      await env.objects.waitUntilGone({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod }, signal);
    }
  });

  it('applies a new commit within one source interval, and at once on reconcile.fluxcd.io/requestedAt', async () => {
    const ns = env.namespace;
    await env.git.createRepo('fast', {
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fast\n',
    });
    await env.git.createRepo('slow', {
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: slow\n',
    });
    await create(env, gitRepository(env, 'fast', { interval: '3s' }));
    await create(env, gitRepository(env, 'slow', { interval: '1h' }));
    await create(
      env,
      kustomization(env, 'fast', { interval: '1h', sourceRef: { kind: 'GitRepository', name: 'fast' } }),
    );
    await create(
      env,
      kustomization(env, 'slow', { interval: '1h', sourceRef: { kind: 'GitRepository', name: 'slow' } }),
    );
    await waitForReady(env, 'fast', 'True');
    await waitForReady(env, 'slow', 'True');

    const fastCommit = await env.git.commit(
      'fast',
      { 'cm2.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fast2\n' },
      'more',
    );
    await waitForApplied(env, 'fast', fastCommit);

    const slowCommit = await env.git.commit(
      'slow',
      { 'cm2.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: slow2\n' },
      'more',
    );
    await requestReconcile(env, 'GitRepository', 'slow', 'now-1');
    await waitForApplied(env, 'slow', slowCommit);
    assert.ok(await env.objects.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'slow2' }));

    await requestReconcile(env, 'Kustomization', 'slow', 'now-2');
    await waitForReady(
      env,
      'slow',
      'True',
      undefined,
      (o) => (o['status'] as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === 'now-2',
    );
  });

  it('reconciles a v1beta2 Kustomization as written for older Flux', async () => {
    await env.git.createRepo('legacy', { 'pre/job.yaml': jobManifest({ image: 'alpine' }) });
    await create(env, gitRepository(env, 'legacy'));
    await create(env, {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1beta2',
      kind: 'Kustomization',
      metadata: { name: 'pre', namespace: env.namespace },
      spec: {
        interval: '1m',
        path: './pre/',
        prune: true,
        wait: true,
        force: true,
        sourceRef: { kind: 'GitRepository', name: 'legacy', namespace: env.namespace },
      },
    });
    const ks = await waitForReady(env, 'pre', 'True', 'ReconciliationSucceeded');
    assert.deepEqual(statusOf(ks).inventory?.entries, [
      { id: `${env.namespace}_db-migration_batch_Job`, v: 'v1' },
    ]);
  });
});
