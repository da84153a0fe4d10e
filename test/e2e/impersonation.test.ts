// Multi-tenancy as Flux has it: apply, prune and health checks act as the Kustomization's service account
// (spec.serviceAccountName, else --default-service-account), so the API server's RBAC decides what a
// Kustomization may change; and --no-cross-namespace-refs keeps a tenant away from other namespaces' sources.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  useControllerEnv,
  gitRepository,
  kustomization,
  create,
  waitForReady,
  waitForEvent,
  requestReconcile,
  ksPath,
  type ControllerEnv,
} from '../support/controller.ts';
import { condition, waitForObject } from '../../dev/cluster.ts';
import { jobManifest } from '../support/manifests.ts';
import type { KubeObject } from '../../src/kube/client.ts';

const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  level: info
`;

const job = `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: ghcr.io/org/my-app:v1.0.0
`;

async function createServiceAccount(env: ControllerEnv, name: string): Promise<void> {
  await create(env, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace: env.namespace },
  });
}

/** By default what a tenant's deployer needs for ConfigMaps and Jobs: server-side apply, prune and watching health. */
async function grant(
  env: ControllerEnv,
  account: string,
  verbs = ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
): Promise<void> {
  await create(env, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: `${account}-deploy`, namespace: env.namespace },
    rules: [{ apiGroups: ['', 'batch'], resources: ['configmaps', 'jobs'], verbs }],
  });
  await create(env, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `${account}-deploy`, namespace: env.namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${account}-deploy` },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace: env.namespace }],
  });
}

const ref = (env: ControllerEnv, kind: string, name: string) => ({
  apiVersion: kind === 'Job' ? 'batch/v1' : 'v1',
  kind,
  namespace: env.namespace,
  name,
});

const managers = (object: KubeObject | undefined) =>
  ((object?.metadata?.['managedFields'] ?? []) as { manager: string }[]).map((f) => f.manager);

describe('serviceAccountName impersonation', () => {
  const env = useControllerEnv('e2e-sa');

  it('fails with Forbidden while the account lacks RBAC, and applies, prunes and waits once granted', async () => {
    await createServiceAccount(env, 'deployer');
    await env.git.createRepo('tenant', { 'settings.yaml': configMap, 'migrate.yaml': job });
    await create(env, gitRepository(env, 'tenant'));
    await create(
      env,
      kustomization(env, 'tenant', {
        serviceAccountName: 'deployer',
        wait: true,
        timeout: '1m',
        sourceRef: { kind: 'GitRepository', name: 'tenant' },
      }),
    );

    const denied = await waitForReady(env, 'tenant', 'False', 'ReconciliationFailed');
    const message = condition(denied, 'Ready')?.message ?? '';
    assert.match(message, /Forbidden/);
    assert.match(
      message,
      new RegExp(
        `User "system:serviceaccount:${env.namespace}:deployer" cannot \\w+ resource "(configmaps|jobs)"`,
      ),
    );
    const warning = await waitForEvent(
      env,
      'Kustomization',
      'tenant',
      (e) => e.type === 'Warning' && e.message.includes('system:serviceaccount'),
      'a Warning event naming the service account',
    );
    assert.equal(warning.reason, 'ReconciliationFailed');
    assert.equal(
      await env.objects.get(ref(env, 'ConfigMap', 'settings')),
      undefined,
      'nothing may be applied',
    );
    assert.equal(await env.objects.get(ref(env, 'Job', 'migrate')), undefined, 'nothing may be applied');

    await grant(env, 'deployer');
    await requestReconcile(env, 'Kustomization', 'tenant');
    const ready = await waitForReady(env, 'tenant', 'True', 'ReconciliationSucceeded');
    assert.equal(
      condition(ready, 'Healthy')?.status,
      'True',
      'the Job was watched to completion as the account',
    );
    const settings = await env.objects.get(ref(env, 'ConfigMap', 'settings'));
    assert.deepEqual(settings?.['data'], { level: 'info' });
    assert.ok(managers(settings).includes('kustomize-controller'));

    // Prune runs as the account too.
    const commit = await env.git.commit('tenant', { 'settings.yaml': null }, 'drop settings');
    await requestReconcile(env, 'GitRepository', 'tenant', commit);
    await waitForReady(env, 'tenant', 'True', 'ReconciliationSucceeded', (ks) =>
      String((ks['status'] as { lastAppliedRevision?: string }).lastAppliedRevision).endsWith(commit),
    );
    assert.equal(await env.objects.get(ref(env, 'ConfigMap', 'settings')), undefined);
  });

  it('keeps the objects and still lets the Kustomization go when its account is gone at deletion', async () => {
    await createServiceAccount(env, 'leaver');
    await grant(env, 'leaver');
    await env.git.createRepo('leaving', {
      'cm.yaml': configMap.replace('name: settings', 'name: kept'),
    });
    await create(env, gitRepository(env, 'leaving'));
    await create(
      env,
      kustomization(env, 'leaving', {
        serviceAccountName: 'leaver',
        prune: true,
        sourceRef: { kind: 'GitRepository', name: 'leaving' },
      }),
    );
    await waitForReady(env, 'leaving', 'True', 'ReconciliationSucceeded');

    await env.objects.delete(ref(env, 'ServiceAccount', 'leaver'));
    const ks = {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      namespace: env.namespace,
      name: 'leaving',
    };
    await env.objects.delete(ks);
    const warning = await waitForEvent(
      env,
      'Kustomization',
      'leaving',
      (e) => e.type === 'Warning' && e.message.startsWith('unable to prune objects'),
      'the objects left behind',
    );
    assert.equal(warning.message, `unable to prune objects: \nConfigMap/${env.namespace}/kept`);
    await env.objects.waitUntilGone(ks, AbortSignal.timeout(30_000));
    assert.ok(
      await env.objects.get(ref(env, 'ConfigMap', 'kept')),
      'nothing is deleted with the controller rights',
    );
  });

  it('fails the health check at once with the Forbidden when the account may not watch what it waits on', async () => {
    await createServiceAccount(env, 'no-watch');
    await grant(env, 'no-watch', ['get', 'list', 'create', 'patch', 'update', 'delete']);
    await env.git.createRepo('no-watch', { 'job.yaml': jobManifest({ name: 'no-watch-migrate' }) });
    await create(env, gitRepository(env, 'no-watch'));
    // A 5-minute health timeout that the test does not wait out: the failure must come from the watch itself.
    await create(
      env,
      kustomization(env, 'no-watch', {
        serviceAccountName: 'no-watch',
        wait: true,
        timeout: '5m',
        sourceRef: { kind: 'GitRepository', name: 'no-watch' },
      }),
    );
    const failed = await waitForReady(env, 'no-watch', 'False', undefined, (ks) =>
      /cannot watch/.test(condition(ks, 'Ready')?.message ?? ''),
    );
    assert.match(
      condition(failed, 'Ready')?.message ?? '',
      new RegExp(`"system:serviceaccount:${env.namespace}:no-watch" cannot watch resource "jobs"`),
    );
  });
});

describe('--default-service-account and --no-cross-namespace-refs', () => {
  const env = useControllerEnv('e2e-tenant', {
    controller: { defaultServiceAccount: 'tenant', noCrossNamespaceRefs: true },
  });

  it('impersonates the default account when a Kustomization names none', async () => {
    await createServiceAccount(env, 'tenant');
    await env.git.createRepo('plain', { 'settings.yaml': configMap });
    await create(env, gitRepository(env, 'plain'));
    await create(env, kustomization(env, 'plain', { sourceRef: { kind: 'GitRepository', name: 'plain' } }));
    const denied = await waitForReady(env, 'plain', 'False', 'ReconciliationFailed');
    assert.match(
      condition(denied, 'Ready')?.message ?? '',
      new RegExp(`User "system:serviceaccount:${env.namespace}:tenant" cannot \\w+ resource "configmaps"`),
    );

    await grant(env, 'tenant');
    await requestReconcile(env, 'Kustomization', 'plain');
    await waitForReady(env, 'plain', 'True', 'ReconciliationSucceeded');
  });

  it('stalls a Kustomization whose source is in another namespace, with a Warning event', async () => {
    await create(
      env,
      kustomization(env, 'elsewhere', {
        sourceRef: { kind: 'GitRepository', name: 'platform', namespace: 'flux-system' },
      }),
    );
    const expected = `can't access 'GitRepository/flux-system/platform', cross-namespace references have been blocked`;
    const stalled = await waitForObject(
      env.client,
      ksPath(env),
      'elsewhere',
      (ks) => condition(ks, 'Stalled')?.status === 'True',
      { description: 'Kustomization elsewhere Stalled' },
    );
    assert.deepEqual(
      ['Ready', 'Stalled'].map((type) => {
        const c = condition(stalled, type);
        return [c?.status, c?.reason, c?.message];
      }),
      [
        ['False', 'AccessDenied', expected],
        ['True', 'AccessDenied', expected],
      ],
    );
    const warning = await waitForEvent(
      env,
      'Kustomization',
      'elsewhere',
      (e) => e.type === 'Warning',
      'the AccessDenied Warning',
    );
    assert.deepEqual([warning.reason, warning.message], ['AccessDenied', expected]);
  });
});
