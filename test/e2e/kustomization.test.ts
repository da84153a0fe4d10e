// The Kustomization and GitRepository reconcilers end to end: a real git server, the real kustomize binary,
// the real API server; the status, inventory and events a Flux user would see.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  useControllerEnv,
  gitRepository,
  kustomization,
  create,
  waitForReady,
  eventsFor,
  gitPath,
} from '../support/controller.ts';
import { waitForObject, condition } from '../support/cluster.ts';
import type { KubeObject } from '../../src/kube/client.ts';

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
const job = (image: string) => `apiVersion: batch/v1
kind: Job
metadata:
  name: db-migration
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migration
        image: ${image}
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
      'deploy/job.yaml': job('ghcr.io/org/my-app:v1.0.0'),
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
    const finished = events.find((e) => e.reason === 'ReconciliationSucceeded');
    assert.match(finished?.message ?? '', /^Reconciliation finished in .+, next run in 1m0s$/);

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
});
