// dependsOn beyond the plain chain: cycles, readyExpr, invalid CEL, healthCheckExprs, cross-namespace refs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  useControllerEnv,
  gitRepository,
  kustomization,
  create,
  waitForReady,
  waitForEvent,
  requestReconcile,
} from '../support/controller.ts';
import { createTestNamespace, deleteTestNamespace } from '../support/cluster.ts';
import { condition } from '../../dev/cluster.ts';
import { ContentType } from '../../src/kube/client.ts';

const cm = (name: string, data = '') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${data}`;

describe('dependsOn and custom health', () => {
  const env = useControllerEnv('e2e-deps');

  before(async () => {
    await env.git.createRepo('app', { 'a/cm.yaml': cm('a'), 'b/cm.yaml': cm('b'), 'c/cm.yaml': cm('c') });
    await create(env, gitRepository(env, 'app'));
  });

  it('reports a dependency cycle as Stalled, naming every hop, instead of waiting forever', async () => {
    const ns = env.namespace;
    await create(env, kustomization(env, 'loop-a', { path: './a', dependsOn: [{ name: 'loop-b' }] }));
    await create(env, kustomization(env, 'loop-b', { path: './b', dependsOn: [{ name: 'loop-c' }] }));
    await create(env, kustomization(env, 'loop-c', { path: './c', dependsOn: [{ name: 'loop-a' }] }));
    const a = await waitForReady(env, 'loop-a', 'False', 'DependencyCycle');
    assert.equal(
      condition(a, 'Ready')?.message,
      `circular dependency detected: ${ns}/loop-a -> ${ns}/loop-b -> ${ns}/loop-c -> ${ns}/loop-a`,
    );
    assert.equal(condition(a, 'Stalled')?.status, 'True');
    await waitForEvent(
      env,
      'Kustomization',
      'loop-b',
      (e) => e.type === 'Warning' && e.message.startsWith('circular dependency detected'),
      'the cycle',
    );
  });

  it('treats an invalid readyExpr as a terminal configuration error', async () => {
    await create(
      env,
      kustomization(env, 'bad-cel', {
        path: './a',
        dependsOn: [{ name: 'gate', readyExpr: 'dep.status ==' }],
      }),
    );
    const ks = await waitForReady(env, 'bad-cel', 'False', 'InvalidCELExpression');
    assert.match(
      condition(ks, 'Ready')?.message ?? '',
      /^Reconciliation failed terminally due to configuration error: .*dependsOn\[0\]\.readyExpr/,
    );
    assert.equal(condition(ks, 'Stalled')?.reason, 'InvalidCELExpression');
  });

  it('waits on a readyExpr until it holds', async () => {
    await create(env, {
      ...kustomization(env, 'gate', { path: './a' }),
      metadata: { name: 'gate', namespace: env.namespace, labels: { open: 'no' } },
    });
    await waitForReady(env, 'gate', 'True');
    await create(
      env,
      kustomization(env, 'behind-gate', {
        path: './b',
        dependsOn: [{ name: 'gate', readyExpr: "dep.metadata.labels.open == 'yes'" }],
      }),
    );
    const waiting = await waitForReady(env, 'behind-gate', 'False', 'DependencyNotReady');
    assert.equal(
      condition(waiting, 'Ready')?.message,
      `dependency '${env.namespace}/gate' is not ready according to readyExpr eval`,
    );
    const notReady = await waitForEvent(
      env,
      'Kustomization',
      'behind-gate',
      (e) => e.reason === 'DependencyNotReady',
      'the wait',
    );
    assert.equal(notReady.type, 'Normal');
    assert.equal(notReady.message, 'Dependencies do not meet ready condition, retrying in 1s');
    await env.objects.patch(
      {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        namespace: env.namespace,
        name: 'gate',
      },
      { metadata: { labels: { open: 'yes' } } },
      ContentType.mergePatch,
    );
    await waitForReady(env, 'behind-gate', 'True', 'ReconciliationSucceeded');
  });

  it('judges objects by healthCheckExprs: Failed fails fast, Current passes', async () => {
    const ns = env.namespace;
    await env.git.createRepo('custom', { 'cm.yaml': cm('probe', 'data:\n  state: broken\n') });
    await create(env, gitRepository(env, 'custom'));
    await create(
      env,
      kustomization(env, 'custom', {
        wait: true,
        retryInterval: '2s',
        sourceRef: { kind: 'GitRepository', name: 'custom' },
        healthCheckExprs: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            current: "data.state == 'ok'",
            failed: "data.state == 'broken'",
          },
        ],
      }),
    );
    const failed = await waitForReady(env, 'custom', 'False', 'HealthCheckFailed');
    assert.match(
      condition(failed, 'Ready')?.message ?? '',
      new RegExp(`failed early due to stalled resources: \\[ConfigMap/${ns}/probe status: 'Failed'\\]$`),
    );
    const commit = await env.git.commit(
      'custom',
      { 'cm.yaml': cm('probe', 'data:\n  state: ok\n') },
      'fixed',
    );
    await requestReconcile(env, 'GitRepository', 'custom', commit);
    const ready = await waitForReady(env, 'custom', 'True', 'ReconciliationSucceeded');
    assert.equal(condition(ready, 'Healthy')?.status, 'True');
  });

  it('counts a Job with ttlSecondsAfterFinished that is deleted during the wait as done', async () => {
    await env.git.createRepo('ttl', {
      'job.yaml': `apiVersion: batch/v1
kind: Job
metadata:
  name: short-lived
spec:
  ttlSecondsAfterFinished: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: once
        image: ghcr.io/org/my-app:v1.0.0
`,
    });
    await create(env, gitRepository(env, 'ttl'));
    await create(
      env,
      kustomization(env, 'ttl', {
        wait: true,
        timeout: '2m',
        sourceRef: { kind: 'GitRepository', name: 'ttl' },
      }),
    );
    const ready = await waitForReady(env, 'ttl', 'True', 'ReconciliationSucceeded');
    assert.equal(condition(ready, 'Healthy')?.status, 'True');
    const job = { apiVersion: 'batch/v1', kind: 'Job', namespace: env.namespace, name: 'short-lived' };
    await env.objects.waitUntilGone(job, AbortSignal.timeout(30_000)); // the TTL controller removed it
  });

  describe('a dependency in another namespace', () => {
    let other: string;
    before(async () => {
      other = await createTestNamespace(env.client, 'e2e-deps-other');
      // A Kustomization this controller does not watch, made Ready for its generation by hand.
      const ref = {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        namespace: other,
        name: 'infra',
      };
      const created = await env.objects.apply(
        {
          ...kustomization(env, 'infra', { sourceRef: { kind: 'GitRepository', name: 'elsewhere' } }),
          metadata: { name: 'infra', namespace: other },
        },
        { fieldManager: 'e2e-test' },
      );
      await env.client.patch(
        `${await env.objects.path(ref)}/status`,
        {
          status: {
            observedGeneration: created.metadata?.generation,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'ReconciliationSucceeded',
                message: 'Applied revision: x',
                lastTransitionTime: '2026-01-01T00:00:00Z',
              },
            ],
          },
        },
        ContentType.mergePatch,
      );
    });
    after(async () => {
      if (other) await deleteTestNamespace(env.client, other);
    });

    it('is found in its namespace and, being Ready, lets the dependent proceed', async () => {
      await create(
        env,
        kustomization(env, 'uses-infra', { path: './c', dependsOn: [{ name: 'infra', namespace: other }] }),
      );
      await waitForReady(env, 'uses-infra', 'True', 'ReconciliationSucceeded');
    });
  });
});
