// A new revision while a pre-deploy Job runs. By default the running Job finishes (recorded for its own
// revision), then the new revision's Job runs, and the app is applied only for a revision whose pre-deploy Job
// completed: force never kills a running Job of an older revision, even one a restarted controller meets. With
// sluice.dev/on-new-revision: cancel, the health check stops, the running Job is deleted (Cancelled in the
// ledger) and the new revision is applied at once. Asserted from watch timelines.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  create,
  gitRepository,
  kustomization,
  ksPath,
  requestReconcile,
  jobRunsOf,
  useControllerEnv,
  useTimeline,
  waitForEvent,
  waitForReady,
  type ControllerEnv,
} from '../support/controller.ts';
import { jobManifest } from '../support/manifests.ts';
import { firstAt, type Timeline } from '../../dev/timeline.ts';
import { waitForObject } from '../../dev/cluster.ts';
import type { KubeObject } from '../../src/kube/client.ts';

const image = (tag: string) => `ghcr.io/org/my-app:${tag}`;

/** The release `tag`: a migration that runs for `migration`, and the app's Deployment. */
const releaseFiles = (tag: string, migration: string) => ({
  'pre/job.yaml': jobManifest({
    image: image(tag),
    podAnnotations: { 'sluice.dev/run-duration': migration },
  }),
  'app/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: my-app',
    'spec:',
    '  replicas: 1',
    '  selector:',
    '    matchLabels: {app: my-app}',
    '  template:',
    '    metadata:',
    '      labels: {app: my-app}',
    '    spec:',
    '      containers:',
    '      - name: app',
    `        image: ${image(tag)}`,
    '',
  ].join('\n'),
});

/** pre (the migration, force) and app (dependsOn pre), both waiting for health, on one source. */
async function pipeline(
  env: ControllerEnv,
  options: { annotations?: Record<string, string>; migration?: string; beforeV2?: () => Promise<void> } = {},
) {
  await env.git.createRepo('my-app', releaseFiles('v1', options.migration ?? '4s'));
  await create(env, gitRepository(env, 'my-app'));
  const source = { sourceRef: { kind: 'GitRepository', name: 'my-app' } };
  const preKs = kustomization(env, 'pre', {
    ...source,
    path: './pre',
    wait: true,
    force: true,
    timeout: '1m',
  });
  preKs.metadata = { ...preKs.metadata, annotations: options.annotations };
  await create(env, preKs);
  await create(
    env,
    kustomization(env, 'app', {
      ...source,
      path: './app',
      wait: true,
      timeout: '1m',
      dependsOn: [{ name: 'pre' }],
    }),
  );
  // v1's migration is running: now v2 arrives.
  const running = await waitForObject(
    env.client,
    ksPath(env),
    'pre',
    (ks) => jobRunsOf(ks)[0]?.result === 'Running',
    {
      description: "v1's migration recorded as Running",
    },
  );
  const v1 = jobRunsOf(running)[0]?.revision ?? '';
  await options.beforeV2?.();
  const commit = await env.git.commit('my-app', releaseFiles('v2', '500ms'), 'v2');
  await requestReconcile(env, 'GitRepository', 'my-app', commit);
  return { v1, v2: `main@sha1:${commit}` };
}

const appliedAt = (revision: string) => (ks: KubeObject) =>
  (ks['status'] as { lastAppliedRevision?: string }).lastAppliedRevision === revision;

function jobRuns(timeline: Timeline) {
  const jobs = timeline.moments.filter((m) => m.kind === 'Job');
  const uids = [...new Set(jobs.map((m) => m.uid))];
  return uids.map((uid) => ({
    uid,
    image: jobs.find((m) => m.uid === uid)?.image,
    created: firstAt(timeline, `Job ${uid} created`, (m) => m.uid === uid && m.created),
    completed: jobs.find((m) => m.uid === uid && m.complete)?.at,
    deleted: jobs.find((m) => m.uid === uid && m.deleted)?.at,
  }));
}

describe('a new revision while the migration runs: by default it finishes first', () => {
  const env = useControllerEnv('e2e-new-revision-finish');
  const timeline = useTimeline(env);

  it('runs the new migration after the old one completed, and never applies the old app', async () => {
    const { v1, v2 } = await pipeline(env);
    await waitForReady(env, 'app', 'True', 'ReconciliationSucceeded', appliedAt(v2));
    const [first, second, ...more] = jobRuns(timeline);
    assert.equal(more.length, 0);
    assert.equal(first?.image, image('v1'));
    assert.equal(second?.image, image('v2'));
    assert.ok(first?.completed !== undefined, "v1's migration ran to completion");
    assert.ok(
      (second?.created ?? 0) > (first?.completed ?? Infinity),
      "v2's migration started after v1's ended",
    );
    const apps = timeline.moments.filter((m) => m.kind === 'Deployment');
    assert.ok(apps.length > 0);
    assert.deepEqual(
      apps.filter((m) => m.image !== image('v2')),
      [],
      'the app was applied for v1, whose migration was superseded',
    );
    const pre = await waitForReady(env, 'pre', 'True', 'ReconciliationSucceeded', appliedAt(v2));
    assert.deepEqual(
      jobRunsOf(pre).map((r) => [r.revision, r.result]),
      [
        [v2, 'Complete'],
        [v1, 'Complete'],
      ],
    );
  });
});

describe('a new revision after a controller restart stopped the pass of a running migration', () => {
  const env = useControllerEnv('e2e-new-revision-restart');
  const timeline = useTimeline(env);

  it('waits for the old migration instead of letting force delete it', async () => {
    // The restart drops the pass that was waiting on v1's migration; the next pass meets it still running.
    const { v1, v2 } = await pipeline(env, { migration: '6s', beforeV2: () => env.restartControllers() });
    const reconciling = (ks: KubeObject) =>
      (ks['status'] as { conditions?: { type: string; message: string }[] }).conditions?.find(
        (c) => c.type === 'Reconciling',
      );
    const waiting = await waitForObject(
      env.client,
      ksPath(env),
      'pre',
      (ks) => reconciling(ks)?.message.startsWith('Waiting for Job/') ?? false,
      { description: 'pre waiting for the running migration' },
    );
    assert.equal(
      reconciling(waiting)?.message,
      `Waiting for Job/${env.namespace}/db-migration of revision ${v1} to finish before applying revision ${v2}`,
    );
    await waitForReady(env, 'app', 'True', 'ReconciliationSucceeded', appliedAt(v2));
    const [first, second] = jobRuns(timeline);
    assert.ok(first?.completed !== undefined, "v1's migration was killed before it completed");
    assert.ok((second?.created ?? 0) > (first?.completed ?? Infinity));
    const pre = await waitForReady(env, 'pre', 'True', 'ReconciliationSucceeded', appliedAt(v2));
    assert.deepEqual(
      jobRunsOf(pre).map((r) => [r.revision, r.result]),
      [
        [v2, 'Complete'],
        [v1, 'Complete'],
      ],
    );
  });
});

describe('a new revision with sluice.dev/on-new-revision: cancel', () => {
  const env = useControllerEnv('e2e-new-revision-cancel');
  const timeline = useTimeline(env);

  it('stops the old migration at once, records it as Cancelled, and applies the new revision', async () => {
    const { v1, v2 } = await pipeline(env, { annotations: { 'sluice.dev/on-new-revision': 'cancel' } });
    await waitForReady(env, 'app', 'True', 'ReconciliationSucceeded', appliedAt(v2));
    const [first, second, ...more] = jobRuns(timeline);
    assert.equal(more.length, 0);
    assert.equal(first?.completed, undefined, "v1's migration was left to complete");
    assert.ok(first?.deleted !== undefined);
    assert.ok(
      (second?.created ?? 0) > (first?.deleted ?? Infinity),
      "v2's migration started before v1's was gone",
    );
    assert.deepEqual(
      timeline.moments.filter((m) => m.kind === 'Deployment' && m.image !== image('v2')),
      [],
    );
    const pre = await waitForReady(env, 'pre', 'True', 'ReconciliationSucceeded', appliedAt(v2));
    assert.deepEqual(
      jobRunsOf(pre).map((r) => [r.revision, r.result, r.failure?.message]),
      [
        [v2, 'Complete', undefined],
        [v1, 'Cancelled', `cancelled for revision ${v2}`],
      ],
    );
    const event = await waitForEvent(
      env,
      'Kustomization',
      'pre',
      (e) => e.reason === 'HealthCheckCanceled',
      'cancel',
    );
    assert.equal(
      event.message,
      `health check canceled for revision ${v1}: the source has a new revision, ${v2}`,
    );
  });
});
