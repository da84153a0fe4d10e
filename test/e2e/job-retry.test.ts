// Bounded automatic retry, opt-in per Job (sluice.dev/retry): a failed run is created again for the same
// manifest after a capped exponential backoff, each attempt in the ledger and an event; once the budget is
// spent the Kustomization stays failed with the last cause. Flaky attempts are made by labelling the first
// pods of a Job with the local cluster's failure label as they appear, as a dependency that is not up yet would.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  create,
  eventsFor,
  gitRepository,
  kustomization,
  requestReconcile,
  jobRunsOf,
  useControllerEnv,
  useTimeline,
  waitForReady,
} from '../support/controller.ts';
import { KWOK_FAIL, failingPod, jobManifest } from '../support/manifests.ts';
import { condition } from '../../dev/cluster.ts';
import { listWatch } from '../../src/kube/watch.ts';
import { ContentType, type KubeObject } from '../../src/kube/client.ts';

describe('a Job with sluice.dev/retry', () => {
  const env = useControllerEnv('e2e-job-retry');
  const timeline = useTimeline(env);
  const stopFlaking = new AbortController();
  after(() => stopFlaking.abort());
  const uidsOf = (name: string) =>
    new Set(timeline.moments.filter((m) => m.kind === 'Job' && m.name === name).map((m) => m.uid));

  /** Fails the first `count` pods of Job `job` (exit 2, "database is starting up") as they are created. */
  function failFirstPods(job: string, count: number): void {
    let failed = 0;
    void (async () => {
      const path = `/api/v1/namespaces/${env.namespace}/pods`;
      for await (const e of listWatch<KubeObject>(env.client, path, {
        labelSelector: `batch.kubernetes.io/job-name=${job}`,
        signal: stopFlaking.signal,
      })) {
        if (e.type !== 'ADDED' || failed >= count) continue;
        failed++;
        await env.client.patch(
          `${path}/${e.object.metadata?.name}`,
          {
            metadata: {
              labels: { [KWOK_FAIL]: 'true' },
              annotations: {
                [`${KWOK_FAIL}/exit-code`]: '2',
                [`${KWOK_FAIL}/message`]: 'database is starting up',
              },
            },
          },
          ContentType.mergePatch,
        );
      }
    })().catch(() => undefined);
  }

  it('runs again after two failures and ends Ready on the third attempt', async () => {
    failFirstPods('seed', 2);
    await env.git.createRepo('seed', {
      'job.yaml': jobManifest({
        name: 'seed',
        annotations: { 'sluice.dev/retry': '3', 'sluice.dev/retry-backoff': '1s' },
        // Long enough for the test to label the pod before it would succeed.
        podAnnotations: { 'sluice.dev/run-duration': '3s' },
      }),
    });
    await create(env, gitRepository(env, 'seed'));
    await create(
      env,
      kustomization(env, 'seed', {
        wait: true,
        timeout: '1m',
        sourceRef: { kind: 'GitRepository', name: 'seed' },
      }),
    );
    const ready = await waitForReady(env, 'seed', 'True', 'ReconciliationSucceeded');
    assert.deepEqual(
      jobRunsOf(ready).map((r) => [r.attempt, r.trigger, r.result, r.failure?.exitCode]),
      [
        [3, 'Retry', 'Complete', undefined],
        [2, 'Retry', 'Failed', 2],
        [1, 'Apply', 'Failed', 2],
      ],
    );
    assert.equal(uidsOf('seed').size, 3);
    const [, second, first] = jobRunsOf(ready);
    // The backoff doubles: 1s after the first failure, 2s after the second.
    assert.ok(Date.parse(second?.startedAt ?? '') - Date.parse(first?.finishedAt ?? '') >= 1000);
    const retries = (await eventsFor(env, 'Kustomization', 'seed')).filter((e) =>
      e.message.startsWith('Running Job/'),
    );
    assert.deepEqual(
      retries.map((e) => e.message.replace(/seed-[a-z0-9]{5}/, 'seed-<pod>')),
      [
        `Running Job/${env.namespace}/seed again, attempt 2 of 4, after attempt 1 failed: pod seed-<pod> container migration exited 2: "database is starting up"`,
        `Running Job/${env.namespace}/seed again, attempt 3 of 4, after attempt 2 failed: pod seed-<pod> container migration exited 2: "database is starting up"`,
      ],
    );
  });

  it('stops after its cap: four failures with retry 3 leave it failed with the last cause, and no fifth attempt', async () => {
    await env.git.createRepo('broken', {
      'job.yaml': jobManifest({
        name: 'broken',
        annotations: {
          'sluice.dev/retry': '3',
          'sluice.dev/retry-backoff': '500ms',
          'sluice.dev/retry-backoff-max': '1s',
        },
        ...failingPod({ exitCode: 4, message: 'schema mismatch' }),
      }),
    });
    await create(env, gitRepository(env, 'broken'));
    const spec = {
      wait: true,
      timeout: '1m',
      retryInterval: '2s',
      sourceRef: { kind: 'GitRepository', name: 'broken' },
    };
    await create(env, kustomization(env, 'broken', spec));
    // While retries are left, Ready says when the next attempt runs.
    const retrying = await waitForReady(
      env,
      'broken',
      'False',
      'HealthCheckFailed',
      (o) => jobRunsOf(o).length === 1,
    );
    assert.match(
      condition(retrying, 'Ready')?.message ?? '',
      /exited 4: "schema mismatch"; it runs again in [0-9.]+m?s \(attempt 2 of 4\)$/,
    );

    const spent = await waitForReady(
      env,
      'broken',
      'False',
      'HealthCheckFailed',
      (o) => jobRunsOf(o).length === 4 && jobRunsOf(o)[0]?.result === 'Failed',
    );
    assert.deepEqual(
      jobRunsOf(spent).map((r) => [r.attempt, r.result, r.retryAt]),
      [
        [4, 'Failed', undefined],
        [3, 'Failed', undefined],
        [2, 'Failed', undefined],
        [1, 'Failed', undefined],
      ],
    );
    assert.match(
      condition(spent, 'Ready')?.message ?? '',
      /\[Job\/[^/]+\/broken status: 'Failed'\]: pod broken-[a-z0-9]{5} container migration exited 4: "schema mismatch"$/,
    );
    // A later pass keeps it failed, and creates no fifth run.
    await requestReconcile(env, 'Kustomization', 'broken', 'after-cap');
    const later = await waitForReady(
      env,
      'broken',
      'False',
      'HealthCheckFailed',
      (o) => (o['status'] as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === 'after-cap',
    );
    assert.equal(jobRunsOf(later).length, 4);
    assert.equal(uidsOf('broken').size, 4);
  });
});
