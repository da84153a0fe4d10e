// `sluice history ks` and `sluice rerun ks` as a user runs them: the run ledger as a table (and JSON), across a
// pipeline; a failed Job run again without a commit; a completed one only when named; a running one refused
// unless --force, which stops it (recorded as Cancelled) and runs it again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  create,
  gitRepository,
  kustomization,
  ksPath,
  jobRunsOf,
  useControllerEnv,
  useTimeline,
  waitForReady,
  type ControllerEnv,
} from '../support/controller.ts';
import { runSluice } from '../support/cli.ts';
import { failingPod, jobManifest } from '../support/manifests.ts';
import { waitForObject } from '../../dev/cluster.ts';
import type { JobRun } from '../../src/api/kustomization.ts';

/** A table as cells: Flux's tables pad cells with spaces and end each with a tab. */
const cells = (table: string) =>
  table
    .trimEnd()
    .split('\n')
    .map((line) =>
      line
        .split('\t')
        .map((cell) => cell.trim())
        .filter((cell, i, all) => cell || i < all.length - 1),
    );

async function pipelineStage(
  env: ControllerEnv,
  name: string,
  files: Record<string, string>,
  spec: Record<string, unknown> = {},
): Promise<void> {
  await env.git.createRepo(name, files);
  await create(env, gitRepository(env, name));
  await create(
    env,
    kustomization(env, name, {
      wait: true,
      timeout: '1m',
      sourceRef: { kind: 'GitRepository', name },
      ...spec,
    }),
  );
}

describe('sluice history and sluice rerun', () => {
  const env = useControllerEnv('e2e-cli-rerun');
  const sluice = (...args: string[]) => runSluice([...args, '-n', env.namespace]);
  const timeline = useTimeline(env);

  it('history prints a failed run with its cause, newest first', async () => {
    await pipelineStage(env, 'migrate', {
      'job.yaml': jobManifest(failingPod({ exitCode: 3, message: 'relation users already exists' })),
    });
    const failed = await waitForReady(env, 'migrate', 'False', 'HealthCheckFailed');
    const revision = jobRunsOf(failed)[0]?.revision ?? '';
    const result = await sluice('history', 'ks', 'migrate');
    assert.equal(result.code, 0, result.stderr);
    const [header, row, ...rest] = cells(result.stdout);
    assert.deepEqual(header, [
      'REVISION',
      'JOB',
      'ATTEMPT',
      'STARTED',
      'TOOK',
      'RESULT',
      'EXIT CODE',
      'CAUSE',
    ]);
    assert.equal(rest.length, 0);
    assert.equal(row?.[0], revision.replace(/([0-9a-f]{8})[0-9a-f]{32}$/, '$1'));
    assert.deepEqual(row?.slice(1, 3), [`Job/${env.namespace}/db-migration`, '1']);
    assert.match(row?.[3] ?? '', /^2\d{3}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(row?.[4] ?? '', /^[0-9.]+m?s$/);
    assert.deepEqual(row?.slice(5, 7), ['Failed', '3']);
    assert.match(
      row?.[7] ?? '',
      /^pod db-migration-[a-z0-9]{5} container migration exited 3: "relation users already exists"$/,
    );
  });

  it('rerun runs a failed Job again without a commit: a new attempt, reported as reconcile reports a failure', async () => {
    const result = await sluice('rerun', 'ks', 'migrate', '--timeout', '1m');
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`► running Job/${env.namespace}/db-migration again\n`));
    assert.match(
      result.stderr,
      /✗ Kustomization reconciliation failed: health check failed after .*: pod db-migration-[a-z0-9]{5} container migration exited 3: "relation users already exists"\n$/,
    );
    const json = await sluice('history', 'ks', 'migrate', '-o', 'json');
    const runs = JSON.parse(json.stdout) as JobRun[];
    assert.deepEqual(
      runs.map((r) => [r.attempt, r.trigger, r.result]),
      [
        [2, 'Rerun', 'Failed'],
        [1, 'Apply', 'Failed'],
      ],
    );
    assert.notEqual(runs[0]?.uid, runs[1]?.uid);
  });

  it('rerun runs a completed Job only when named, even one its TTL deleted', async () => {
    await pipelineStage(env, 'seed', {
      'job.yaml': jobManifest({ name: 'seed-data', ttlSecondsAfterFinished: 0 }),
    });
    await waitForReady(env, 'seed', 'True', 'ReconciliationSucceeded');
    const job = { apiVersion: 'batch/v1', kind: 'Job', namespace: env.namespace, name: 'seed-data' };
    await env.objects.waitUntilGone(job, AbortSignal.timeout(30_000));

    const refused = await sluice('rerun', 'ks', 'seed');
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      `✗ Kustomization ${env.namespace}/seed has no failed Job (seed-data (Complete)); name one with --job to run it again\n`,
    );
    const rerun = await sluice('rerun', 'ks', 'seed', '--job', 'seed-data', '--timeout', '1m');
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(
      rerun.stderr,
      new RegExp(`✔ Job/${env.namespace}/seed-data attempt 2 \\(rerun\\): Complete in [0-9.]+m?s\n$`),
    );
    const uids = new Set(
      timeline.moments.filter((m) => m.kind === 'Job' && m.name === 'seed-data').map((m) => m.uid),
    );
    assert.equal(uids.size, 2, 'the Job ran twice');
  });

  it('history --pipeline shows the runs of everything a Kustomization depends on, in order', async () => {
    await pipelineStage(
      env,
      'app',
      { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n' },
      {
        dependsOn: [{ name: 'seed' }, { name: 'migrate' }],
      },
    );
    const result = await sluice('history', 'ks', 'app', '--pipeline');
    assert.equal(result.code, 0, result.stderr);
    const [header, ...rows] = cells(result.stdout);
    assert.equal(header?.[0], 'KUSTOMIZATION');
    assert.deepEqual(
      rows.map((r) => [r[0], r[2], r[3], r[6]]),
      [
        [`${env.namespace}/seed`, `Job/${env.namespace}/seed-data`, '2 (rerun)', 'Complete'],
        [`${env.namespace}/seed`, `Job/${env.namespace}/seed-data`, '1', 'Complete'],
        [`${env.namespace}/migrate`, `Job/${env.namespace}/db-migration`, '2 (rerun)', 'Failed'],
        [`${env.namespace}/migrate`, `Job/${env.namespace}/db-migration`, '1', 'Failed'],
      ],
    );
    const none = await sluice('history', 'ks', 'app');
    assert.equal(none.stdout, '');
    assert.equal(none.stderr, `◎ no Job runs recorded for Kustomization ${env.namespace}/app\n`);
  });

  it('rerun refuses a running Job, and with --force stops it (Cancelled) and runs it again', async () => {
    await pipelineStage(env, 'slow', {
      'job.yaml': jobManifest({ name: 'slow-job', podAnnotations: { 'sluice.dev/run-duration': '5s' } }),
    });
    await waitForObject(env.client, ksPath(env), 'slow', (ks) => jobRunsOf(ks)[0]?.result === 'Running', {
      description: 'the first run recorded as Running',
    });
    const refused = await sluice('rerun', 'ks', 'slow', '--job', 'slow-job');
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(
        `^✗ Job/${env.namespace}/slow-job is still running, started [0-9.]+m?s ago: wait for it, or pass --force to stop it and run it again\n$`,
      ),
    );
    const forced = await sluice('rerun', 'ks', 'slow', '--job', 'slow-job', '--force', '--timeout', '1m');
    assert.equal(forced.code, 0, forced.stderr);
    const ks = await waitForReady(env, 'slow', 'True', 'ReconciliationSucceeded');
    assert.deepEqual(
      jobRunsOf(ks).map((r) => [r.attempt, r.trigger, r.result, r.failure?.message]),
      [
        [2, 'Rerun', 'Complete', undefined],
        [1, 'Apply', 'Cancelled', 'stopped by sluice rerun --force'],
      ],
    );
    // The first Job never completed: it was deleted while it ran.
    const first = jobRunsOf(ks)[1]?.uid;
    assert.ok(timeline.moments.some((m) => m.uid === first));
    assert.equal(timeline.moments.filter((m) => m.uid === first && m.complete).length, 0);
  });
});
