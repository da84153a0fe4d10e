// A failed Job that explains itself: the Ready message keeps Flux's text and adds why (pod, container, exit code
// or OOMKilled, termination message), the Warning event says the same, and the run ledger keeps it after the
// Job and its pods are gone and after a controller restart. Failures come from the local cluster's kwok stage,
// driven by pod annotations (exit code, reason, message); a deadline from the real Job controller.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  create,
  gitRepository,
  kustomization,
  requestReconcile,
  jobRunsOf,
  useControllerEnv,
  waitForEvent,
  waitForReady,
  type ControllerEnv,
} from '../support/controller.ts';
import { failingPod, jobManifest } from '../support/manifests.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { LocalCluster, condition } from '../../dev/cluster.ts';
import type { KubeObject } from '../../src/kube/client.ts';

const localCluster = LocalCluster.fromEnvironment();
const onLocalCluster = () => testKubeconfig() === localCluster.kubeconfig;

/** A Kustomization `name` of one Job, in its own repository, waited on until it failed. */
async function failedKustomization(
  env: ControllerEnv,
  name: string,
  job: string,
  annotations: Record<string, string> = {},
): Promise<KubeObject> {
  await env.git.createRepo(name, { 'job.yaml': job });
  await create(env, gitRepository(env, name));
  const ks = kustomization(env, name, {
    wait: true,
    timeout: '1m',
    sourceRef: { kind: 'GitRepository', name },
  });
  ks.metadata = { ...ks.metadata, annotations };
  await create(env, ks);
  return waitForReady(env, name, 'False', 'HealthCheckFailed', (o) => jobRunsOf(o)[0]?.result === 'Failed');
}

describe('a failed Job says why', () => {
  const env = useControllerEnv('e2e-job-failures');
  const job = () => ({ apiVersion: 'batch/v1', kind: 'Job', namespace: env.namespace, name: 'db-migration' });

  it('names the pod, container, exit code and termination message in Ready, the event and the ledger', async () => {
    const ns = env.namespace;
    const failed = await failedKustomization(
      env,
      'migrate',
      jobManifest(failingPod({ exitCode: 3, reason: 'Error', message: 'relation users already exists' })),
    );
    const message = condition(failed, 'Ready')?.message ?? '';
    assert.match(
      message,
      new RegExp(
        String.raw`^health check failed after [0-9.]+m?s: failed early due to stalled resources: ` +
          String.raw`\[Job/${ns}/db-migration status: 'Failed'\]: ` +
          String.raw`pod db-migration-[a-z0-9]{5} container migration exited 3: "relation users already exists"$`,
      ),
    );
    const event = await waitForEvent(
      env,
      'Kustomization',
      'migrate',
      (e) => e.type === 'Warning',
      'the failure',
    );
    assert.equal(event.message, message);
    assert.equal(event.reason, 'HealthCheckFailed');

    const [run] = jobRunsOf(failed);
    assert.equal(run?.id, `${ns}_db-migration_batch_Job`);
    assert.equal(
      run?.revision,
      (failed['status'] as { lastAttemptedRevision?: string }).lastAttemptedRevision,
    );
    assert.equal(run?.attempt, 1);
    assert.equal(run?.trigger, 'Apply');
    assert.equal(run?.result, 'Failed');
    assert.ok(run?.startedAt && run.finishedAt && run.startedAt <= run.finishedAt);
    assert.deepEqual(
      { ...run?.failure, pod: run?.failure?.pod?.replace(/-[a-z0-9]{5}$/, '-<pod>') },
      {
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
        pod: 'db-migration-<pod>',
        container: 'migration',
        exitCode: 3,
        terminationReason: 'Error',
        terminationMessage: 'relation users already exists',
      },
    );
  });

  it('keeps the run after the Job and its pods are deleted and the controller restarts', async () => {
    const before = jobRunsOf(await waitForReady(env, 'migrate', 'False', 'HealthCheckFailed'))[0];
    await env.objects.delete(job(), 'Foreground');
    await env.objects.waitUntilGone(job(), AbortSignal.timeout(30_000));
    await env.restartControllers();
    await requestReconcile(env, 'Kustomization', 'migrate', 'after-restart');
    // Not declared gone, so the apply creates it again: a second attempt, and the first still in the ledger.
    const after = await waitForReady(
      env,
      'migrate',
      'False',
      'HealthCheckFailed',
      (o) => jobRunsOf(o).length === 2 && jobRunsOf(o)[0]?.result === 'Failed',
    );
    const [second, first] = jobRunsOf(after);
    assert.deepEqual(first, before);
    assert.equal(second?.attempt, 2);
    assert.notEqual(second?.uid, first?.uid);
    assert.equal(second?.failure?.exitCode, 3);
  });

  // kwok always writes a termination message, "container failed" unless told otherwise.
  it('tells an OOMKilled container apart', async () => {
    const failed = await failedKustomization(
      env,
      'oom',
      jobManifest({ name: 'oom-job', ...failingPod({ exitCode: 137, reason: 'OOMKilled' }) }),
    );
    assert.match(
      condition(failed, 'Ready')?.message ?? '',
      /\[Job\/[^/]+\/oom-job status: 'Failed'\]: pod oom-job-[a-z0-9]{5} container migration was OOMKilled \(exit code 137\): "container failed"$/,
    );
    const [run] = jobRunsOf(failed);
    assert.equal(run?.failure?.terminationReason, 'OOMKilled');
    assert.equal(run?.failure?.exitCode, 137);
    assert.equal(run?.failure?.signal, undefined);
  });

  it('tells a Job that ran past its activeDeadlineSeconds apart', async () => {
    const failed = await failedKustomization(
      env,
      'deadline',
      jobManifest({
        name: 'slow-job',
        activeDeadlineSeconds: 2,
        podAnnotations: { 'sluice.dev/run-duration': '120s' },
      }),
    );
    assert.match(
      condition(failed, 'Ready')?.message ?? '',
      /\[Job\/[^/]+\/slow-job status: 'Failed'\]: DeadlineExceeded: Job was active longer than specified deadline$/,
    );
    const [run] = jobRunsOf(failed);
    assert.equal(run?.failure?.reason, 'DeadlineExceeded');
    assert.equal(run?.failure?.container, undefined);
  });
});

describe(
  "a failed Job's last log lines, on the Kustomization's request, without Secret values",
  { skip: onLocalCluster() ? false : 'kwok serves container logs on the local cluster only' },
  () => {
    const env = useControllerEnv('e2e-job-failure-log');
    const logFile = path.join(localCluster.dir, 'container-logs', 'seed.log');
    const criLog = (lines: string[]) =>
      lines.map((line, i) => `2026-12-01T10:00:0${i}.000000000Z stdout F ${line}\n`).join('');

    before(() =>
      writeFile(
        logFile,
        criLog([
          'loading seed data',
          'connecting as admin with password s3cr3t-pw',
          'ERROR: duplicate key "users_pkey"',
        ]),
      ),
    );
    after(() => rm(logFile, { force: true }));

    it('copies them into the ledger and an event, with the values of the Secrets the container reads taken out', async () => {
      const ns = env.namespace;
      await env.client.create(`/api/v1/namespaces/${ns}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db' },
        stringData: { password: 's3cr3t-pw' },
      });
      const seed = jobManifest({
        name: 'seed',
        containers: ['seed'],
        ...failingPod({ exitCode: 1, message: 'seed failed for s3cr3t-pw' }),
      }).replace(
        '        image: busybox\n',
        '        image: busybox\n        env:\n        - name: PASSWORD\n          valueFrom:\n            secretKeyRef:\n              name: db\n              key: password\n',
      );
      const failed = await failedKustomization(env, 'seed', seed, { 'sluice.dev/failed-job-log-lines': '2' });
      const [run] = jobRunsOf(failed);
      assert.equal(
        run?.failure?.log,
        'connecting as admin with password [redacted]\nERROR: duplicate key "users_pkey"',
      );
      assert.equal(run?.failure?.terminationMessage, 'seed failed for [redacted]');
      assert.doesNotMatch(JSON.stringify(failed['status']), /s3cr3t-pw/);
      const event = await waitForEvent(
        env,
        'Kustomization',
        'seed',
        (e) => e.message.includes('lines of its log'),
        'the log event',
      );
      assert.match(
        event.message,
        /^Job\/[^/]+\/seed failed; the last 2 lines of its log:\n--- pod\/seed-[a-z0-9]{5} container\/seed\n/,
      );
      assert.doesNotMatch(event.message, /s3cr3t-pw/);
    });
  },
);
