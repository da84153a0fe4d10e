// The failure hook (sluice.dev/on-failure-path): Jobs from a path in the same source that run once when a
// revision fails, with the failure's context in SLUICE_* environment variables; never on success, once per
// failed revision, and a hook that fails itself is reported, not retried.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  create,
  gitRepository,
  kustomization,
  requestReconcile,
  jobRunsOf,
  useControllerEnv,
  useTimeline,
  waitForEvent,
  waitForReady,
  type ControllerEnv,
} from '../support/controller.ts';
import { failingPod, jobManifest } from '../support/manifests.ts';
import { condition } from '../../dev/cluster.ts';
import type { KubeObject } from '../../src/kube/client.ts';

const handled = (value: string) => (ks: KubeObject) =>
  (ks['status'] as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === value;

/** A Kustomization applying ./app of its own repository, with ./hooks as its failure hook. */
async function withHook(env: ControllerEnv, name: string, files: Record<string, string>): Promise<void> {
  await env.git.createRepo(name, files);
  await create(env, gitRepository(env, name));
  const ks = kustomization(env, name, {
    path: './app',
    wait: true,
    timeout: '1m',
    sourceRef: { kind: 'GitRepository', name },
  });
  ks.metadata = { ...ks.metadata, annotations: { 'sluice.dev/on-failure-path': './hooks' } };
  await create(env, ks);
}

describe('a failure hook', () => {
  const env = useControllerEnv('e2e-failure-hook');
  const timeline = useTimeline(env);
  const runsOfJob = (name: string) =>
    new Set(timeline.moments.filter((m) => m.kind === 'Job' && m.name === name).map((m) => m.uid)).size;
  const job = (name: string) =>
    env.objects.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: env.namespace, name });

  it('runs its Jobs once when the revision fails, with the failure in their environment', async () => {
    await withHook(env, 'migrate', {
      'app/job.yaml': jobManifest(failingPod({ exitCode: 3, message: 'relation users already exists' })),
      'hooks/notify.yaml': jobManifest({ name: 'notify-failure', containers: ['notify'] }),
      'hooks/undo.yaml': jobManifest({ name: 'undo-migration', containers: ['undo'] }),
    });
    const failed = await waitForReady(env, 'migrate', 'False', 'HealthCheckFailed', (o) =>
      jobRunsOf(o).some((r) => r.trigger === 'OnFailure' && r.result === 'Complete' && r.id.includes('undo')),
    );
    const revision = (failed['status'] as { lastAttemptedRevision: string }).lastAttemptedRevision;
    const message = condition(failed, 'Ready')?.message ?? '';
    for (const name of ['notify-failure', 'undo-migration']) {
      const hook = await job(name);
      assert.equal(hook?.metadata?.labels?.['sluice.dev/hook'], 'on-failure');
      const containers = (
        hook?.['spec'] as {
          template: { spec: { containers: { env?: { name: string; value: string }[] }[] } };
        }
      ).template.spec.containers;
      assert.deepEqual(Object.fromEntries((containers[0]?.env ?? []).map((e) => [e.name, e.value])), {
        SLUICE_KUSTOMIZATION: 'migrate',
        SLUICE_NAMESPACE: env.namespace,
        SLUICE_REVISION: revision,
        SLUICE_FAILED_OBJECT: `Job/${env.namespace}/db-migration`,
        SLUICE_REASON: 'HealthCheckFailed',
        SLUICE_EXIT_CODE: '3',
        SLUICE_MESSAGE: message,
      });
    }
    const hooks = jobRunsOf(failed).filter((r) => r.trigger === 'OnFailure');
    assert.deepEqual(hooks.map((r) => [r.id.split('_')[1], r.revision, r.result]).sort(), [
      ['notify-failure', revision, 'Complete'],
      ['undo-migration', revision, 'Complete'],
    ]);
    await waitForEvent(
      env,
      'Kustomization',
      'migrate',
      (e) => e.message === `failure hook Job/${env.namespace}/undo-migration completed`,
      'the hook completed',
    );
  });

  it('does not run again for the same failed revision', async () => {
    await requestReconcile(env, 'Kustomization', 'migrate', 'again');
    const again = await waitForReady(env, 'migrate', 'False', 'HealthCheckFailed', handled('again'));
    assert.equal(jobRunsOf(again).filter((r) => r.trigger === 'OnFailure').length, 2);
    assert.equal(runsOfJob('notify-failure'), 1);
    assert.equal(runsOfJob('undo-migration'), 1);
  });

  it('never runs on success', async () => {
    await withHook(env, 'fine', {
      'app/job.yaml': jobManifest({ name: 'fine-migration' }),
      'hooks/notify.yaml': jobManifest({ name: 'notify-fine', containers: ['notify'] }),
    });
    const ready = await waitForReady(env, 'fine', 'True', 'ReconciliationSucceeded');
    assert.deepEqual(
      jobRunsOf(ready).map((r) => r.trigger),
      ['Apply'],
    );
    assert.equal(await job('notify-fine'), undefined);
    assert.equal(runsOfJob('notify-fine'), 0);
  });

  it('reports its own failure, and does not retry it', async () => {
    await withHook(env, 'both', {
      'app/job.yaml': jobManifest({ name: 'both-migration', ...failingPod({ exitCode: 3 }) }),
      'hooks/notify.yaml': jobManifest({
        name: 'notify-broken',
        containers: ['notify'],
        ...failingPod({ exitCode: 7, message: 'webhook returned 500' }),
      }),
    });
    const event = await waitForEvent(
      env,
      'Kustomization',
      'both',
      (e) => e.type === 'Warning' && e.message.startsWith('failure hook'),
      'the hook failure',
    );
    assert.match(
      event.message,
      new RegExp(
        `^failure hook Job/${env.namespace}/notify-broken failed: pod notify-broken-[a-z0-9]{5} container notify exited 7: "webhook returned 500"$`,
      ),
    );
    // The Kustomization reports its own failure, not the hook's.
    const failed = await waitForReady(env, 'both', 'False', 'HealthCheckFailed');
    assert.match(
      condition(failed, 'Ready')?.message ?? '',
      /both-migration-[a-z0-9]{5} container migration exited 3/,
    );
    await requestReconcile(env, 'Kustomization', 'both', 'again');
    const again = await waitForReady(env, 'both', 'False', 'HealthCheckFailed', handled('again'));
    assert.deepEqual(
      jobRunsOf(again)
        .filter((r) => r.trigger === 'OnFailure')
        .map((r) => r.result),
      ['Failed'],
    );
    assert.equal(runsOfJob('notify-broken'), 1);
  });
});
