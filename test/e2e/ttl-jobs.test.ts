// A Job with ttlSecondsAfterFinished: once it completed and its TTL deleted it, later reconciles leave it deleted
// (Flux creates it again as drift, so it re-runs on every interval); a new manifest runs it again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  create,
  gitRepository,
  kustomization,
  ksPath,
  requestReconcile,
  useControllerEnv,
  waitForReady,
  waitForApplied,
} from '../support/controller.ts';
import { condition, waitForObject } from '../../dev/cluster.ts';
import { recordTimeline, type Timeline } from '../../dev/timeline.ts';
import { runSluice } from '../support/cli.ts';
import { jobManifest } from '../support/manifests.ts';
import { scratchDir } from '../support/files.ts';
import { ContentType, type KubeObject } from '../../src/kube/client.ts';
import { FieldManager } from '../../src/api/meta.ts';
import type { JobRun } from '../../src/api/kustomization.ts';

/** A Job that its TTL controller deletes as soon as it finishes. */
const migration = (image: string, name = 'db-migration') =>
  jobManifest({ name, image, ttlSecondsAfterFinished: 0 });

interface KsStatus {
  lastAppliedRevision?: string;
  lastHandledReconcileAt?: string;
  jobRuns?: JobRun[];
}
const statusOf = (ks: KubeObject) => (ks['status'] ?? {}) as KsStatus;

describe('Jobs deleted by their ttlSecondsAfterFinished', () => {
  const env = useControllerEnv('e2e-ttl-jobs');
  const dirs = scratchDir('ttl-jobs');
  let timeline: Timeline;
  /** The distinct Jobs of that name that existed, by uid: how many times it ran. */
  const runs = (name = 'db-migration') =>
    new Set(timeline.moments.filter((m) => m.kind === 'Job' && m.name === name).map((m) => m.uid)).size;
  const job = () => ({ apiVersion: 'batch/v1', kind: 'Job', namespace: env.namespace, name: 'db-migration' });

  before(() => {
    timeline = recordTimeline(env.client, env.namespace);
  });
  after(() => timeline.stop());

  it('are recorded as completed for their manifest once they ran', async () => {
    const commit = await env.git.createRepo('app', { 'job.yaml': migration('ghcr.io/org/my-app:v1.0.0') });
    await create(env, gitRepository(env, 'app'));
    await create(env, kustomization(env, 'migrate', { wait: true, timeout: '2m' }));
    const ready = await waitForReady(env, 'migrate', 'True', 'ReconciliationSucceeded');
    await env.objects.waitUntilGone(job(), AbortSignal.timeout(30_000)); // the TTL controller removed it

    const status = statusOf(ready);
    assert.equal(status.lastAppliedRevision, `main@sha1:${commit}`);
    assert.equal(status.jobRuns?.length, 1);
    assert.equal(status.jobRuns?.[0]?.id, `${env.namespace}_db-migration_batch_Job`);
    assert.equal(status.jobRuns?.[0]?.revision, `main@sha1:${commit}`);
    assert.equal(status.jobRuns?.[0]?.result, 'Complete');
    assert.equal(status.jobRuns?.[0]?.attempt, 1);
    assert.match(status.jobRuns?.[0]?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(runs(), 1);
  });

  it('are not created again by a later reconcile of the same manifest (Flux would re-run them)', async () => {
    await requestReconcile(env, 'Kustomization', 'migrate', 'again');
    const ks = await waitForReady(
      env,
      'migrate',
      'True',
      'ReconciliationSucceeded',
      (o) => statusOf(o).lastHandledReconcileAt === 'again',
    );
    assert.equal(await env.objects.get(job()), undefined);
    assert.equal(runs(), 1, 'the migration ran a second time');
    assert.equal(condition(ks, 'Ready')?.message, `Applied revision: ${statusOf(ks).lastAppliedRevision}`);
    // Still declared: it stays in the inventory, so prune leaves it be.
    const inventory = (ks['status'] as { inventory?: { entries: { id: string }[] } }).inventory;
    assert.ok(inventory?.entries.some((e) => e.id === `${env.namespace}_db-migration_batch_Job`));

    // `sluice diff` agrees: the same manifest is no change; a new image would create the Job again.
    const dir = await (await dirs).tree({ 'job.yaml': migration('ghcr.io/org/my-app:v1.0.0') });
    const same = await runSluice(['diff', 'ks', 'migrate', '-n', env.namespace, '--path', dir]);
    assert.equal(same.stdout, '');
    assert.equal(
      same.stderr,
      `► Job/${env.namespace}/db-migration skipped (completed for this manifest, then deleted by its ttlSecondsAfterFinished)\n`,
    );
    assert.equal(same.code, 0);
    const bumped = await (await dirs).tree({ 'job.yaml': migration('ghcr.io/org/my-app:v1.1.0') });
    const changed = await runSluice(['diff', 'ks', 'migrate', '-n', env.namespace, '--path', bumped]);
    assert.equal(changed.stderr, `► Job/${env.namespace}/db-migration created\n`);
    assert.equal(changed.code, 1);
  });

  it('run again when their manifest changes, and the record follows the new manifest', async () => {
    const before = statusOf(
      await waitForObject(env.client, ksPath(env), 'migrate', () => true, {
        description: 'the Kustomization',
      }),
    ).jobRuns?.[0];
    const commit = await env.git.commit(
      'app',
      { 'job.yaml': migration('ghcr.io/org/my-app:v1.1.0') },
      'v1.1.0',
    );
    await requestReconcile(env, 'GitRepository', 'app', commit);
    const ks = await waitForApplied(env, 'migrate', commit);
    assert.equal(runs(), 2);
    const [record] = statusOf(ks).jobRuns ?? [];
    assert.equal(record?.revision, `main@sha1:${commit}`);
    assert.notEqual(record?.digest, before?.digest);
  });

  it('are recorded even when the pass fails on something else, so its retry does not run them again', async () => {
    await env.git.createRepo('mixed', {
      'seed.yaml': migration('ghcr.io/org/my-app:v1.0.0', 'seed-data'),
      // Still running at its 3s deadline, long after seed-data completed: the Job controller fails it then.
      'broken.yaml': jobManifest({
        name: 'broken-report',
        image: 'ghcr.io/org/report:v1',
        containers: ['report'],
        activeDeadlineSeconds: 3,
        podAnnotations: { 'sluice.dev/run-duration': '120s' },
      }),
    });
    await create(env, gitRepository(env, 'mixed'));
    const spec = { wait: true, sourceRef: { kind: 'GitRepository', name: 'mixed' } };
    await create(env, kustomization(env, 'mixed', spec));
    const failed = await waitForReady(env, 'mixed', 'False', 'HealthCheckFailed');
    const ledger = statusOf(failed).jobRuns ?? [];
    assert.deepEqual(
      ledger.filter((r) => r.result === 'Complete').map((r) => r.id),
      [`${env.namespace}_seed-data_batch_Job`],
    );
    await env.objects.waitUntilGone(
      { apiVersion: 'batch/v1', kind: 'Job', namespace: env.namespace, name: 'seed-data' },
      AbortSignal.timeout(30_000),
    );

    await requestReconcile(env, 'Kustomization', 'mixed', 'retry');
    await waitForReady(
      env,
      'mixed',
      'False',
      'HealthCheckFailed',
      (o) => statusOf(o).lastHandledReconcileAt === 'retry',
    );
    assert.equal(runs('seed-data'), 1, 'the completed Job ran again on the retry');
  });

  it('credit a completion only to the manifest that ran: not to one that was skipped (ssa: IfNotPresent)', async () => {
    const once = (image: string) =>
      jobManifest({
        name: 'init-once',
        image,
        ttlSecondsAfterFinished: 3600,
        annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' },
      });
    await env.git.createRepo('once', {
      'job.yaml': once('ghcr.io/org/my-app:v1.0.0'),
    });
    await create(env, gitRepository(env, 'once'));
    await create(
      env,
      kustomization(env, 'once', { wait: true, sourceRef: { kind: 'GitRepository', name: 'once' } }),
    );
    const first = await waitForReady(env, 'once', 'True', 'ReconciliationSucceeded');
    assert.equal(statusOf(first).jobRuns?.length, 1);

    // The live Job stays (IfNotPresent), so the v1.1.0 manifest never runs: it must not be recorded as done.
    const commit = await env.git.commit(
      'once',
      {
        'job.yaml': once('ghcr.io/org/my-app:v1.1.0'),
      },
      'v1.1.0',
    );
    await requestReconcile(env, 'GitRepository', 'once', commit);
    const second = await waitForApplied(env, 'once', commit);
    assert.deepEqual(
      statusOf(second).jobRuns?.map((r) => [r.revision, r.result]),
      [[statusOf(first).lastAppliedRevision, 'Complete']],
      "the one run is the first manifest's; the skipped one has none",
    );
    assert.equal(runs('init-once'), 1);
  });

  it("keep an older sluice's record (status.completedJobs) across the upgrade to the run ledger", async () => {
    await env.git.createRepo('legacy', { 'job.yaml': migration('ghcr.io/org/my-app:v1.0.0', 'legacy-seed') });
    await create(env, gitRepository(env, 'legacy'));
    const spec = { wait: true, sourceRef: { kind: 'GitRepository', name: 'legacy' } };
    await create(env, kustomization(env, 'legacy', spec));
    const done = await waitForReady(env, 'legacy', 'True', 'ReconciliationSucceeded');
    const legacyJob = { apiVersion: 'batch/v1', kind: 'Job', namespace: env.namespace, name: 'legacy-seed' };
    await env.objects.waitUntilGone(legacyJob, AbortSignal.timeout(30_000));
    // The status as sluice wrote it before the ledger: completedJobs, no jobRuns.
    const [run] = statusOf(done).jobRuns ?? [];
    const completedJobs = [
      { id: run?.id, digest: run?.digest, revision: run?.revision, completedAt: run?.finishedAt },
    ];
    const rest = { ...(done['status'] as Record<string, unknown>) };
    delete rest['jobRuns'];
    // Written as the controller writes its status: server-side apply with its field manager, so the next write
    // owns (and so can drop) completedJobs.
    await env.client.patch(
      `${ksPath(env)}/legacy/status`,
      {
        apiVersion: done.apiVersion,
        kind: done.kind,
        metadata: { name: 'legacy', namespace: env.namespace },
        status: { ...rest, completedJobs },
      },
      ContentType.apply,
      { fieldManager: FieldManager.kustomizationStatus, force: true },
    );
    await requestReconcile(env, 'Kustomization', 'legacy', 'upgraded');
    const upgraded = await waitForReady(
      env,
      'legacy',
      'True',
      'ReconciliationSucceeded',
      (o) => statusOf(o).lastHandledReconcileAt === 'upgraded',
    );
    assert.equal(
      await env.objects.get(legacyJob),
      undefined,
      'the completed Job ran again after the upgrade',
    );
    assert.equal(runs('legacy-seed'), 1);
    assert.deepEqual(
      statusOf(upgraded).jobRuns?.map((r) => [r.id, r.digest, r.result]),
      [[run?.id, run?.digest, 'Complete']],
    );
    assert.equal((upgraded['status'] as { completedJobs?: unknown }).completedJobs, undefined);
  });
});
