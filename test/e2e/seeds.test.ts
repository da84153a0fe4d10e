// The user's pipelines, from the seed documents' manifests byte for byte: seed 001 (v1: pre-deploy migration
// Job → app → post-deploy Job) and seed 000 (v1beta2: a pre Job, then the application). Ordering is proven
// from a timeline of watch events, recorded as they arrive.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import {
  useControllerEnv,
  create,
  waitForReady,
  gitRepository,
  type ControllerEnv,
  requestReconcile,
} from '../support/controller.ts';
import { condition, repoRoot } from '../../dev/cluster.ts';
import type { KubeObject } from '../../src/kube/client.ts';
import { recordTimeline, firstAt, type Timeline } from '../../dev/timeline.ts';

const seed001 = path.join(repoRoot, 'test/fixtures/seed-001');
const seed000 = path.join(repoRoot, 'test/fixtures/seed-000');

async function manifest(dir: string, file: string): Promise<KubeObject> {
  return YAML.parse(await readFile(path.join(dir, file), 'utf8')) as KubeObject;
}

/** Applies a manifest as `kubectl apply -n <namespace>` would: unmodified, in the given namespace. */
async function applyIn(env: ControllerEnv, object: KubeObject): Promise<void> {
  await create(env, { ...object, metadata: { ...object.metadata, namespace: env.namespace } });
}

const lastApplied = (revision: string) => (o: KubeObject) =>
  (o['status'] as { lastAppliedRevision?: string }).lastAppliedRevision === revision;

describe('seed 001: pre-deploy Job → app → post-deploy Job (v1)', () => {
  const env = useControllerEnv('e2e-seed001');
  let timeline: Timeline;
  const uid = async (name: string) =>
    (await env.objects.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: env.namespace, name }))?.metadata
      ?.uid;

  /** Pushes a commit and asks the source to fetch it now; returns Flux's revision string. */
  async function push(files: Record<string, string | null>, message: string): Promise<string> {
    const commit = await env.git.commit('my-app', files, message);
    await requestReconcile(env, 'GitRepository', 'my-app', commit);
    return `main@sha1:${commit}`;
  }

  async function retag(tag: string, extraJob = ''): Promise<Record<string, string>> {
    const read = (f: string) => readFile(path.join(seed001, f), 'utf8');
    const bump = (text: string) => text.replaceAll('ghcr.io/org/my-app:v1.0.0', `ghcr.io/org/my-app:${tag}`);
    return {
      'pre-deploy/migration.job.yaml': bump(await read('pre-deploy/migration.job.yaml')).replace(
        'spec:\n  template:',
        `spec:${extraJob}\n  template:`,
      ),
      'deploy/deployment.yaml': bump(await read('deploy/deployment.yaml')),
      'post-deploy/cache.job.yaml': bump(await read('post-deploy/cache.job.yaml')),
    };
  }

  before(() => {
    timeline = recordTimeline(env.client, env.namespace);
  });
  after(() => timeline?.stop());

  it('first sync: the migration completes before the app exists; the post-deploy Job starts after the app is Available', async () => {
    await env.git.createRepo('my-app', seed001);
    await create(env, gitRepository(env, 'my-app'));
    for (const file of ['flux/pre-deploy.yaml', 'flux/deploy.yaml', 'flux/post-deploy.yaml']) {
      await applyIn(env, await manifest(seed001, file));
    }
    const post = await waitForReady(env, 'app-post-deploy', 'True', 'ReconciliationSucceeded');
    const migrated = firstAt(
      timeline,
      'migration Job Complete',
      (x) => x.name === 'db-migration' && x.complete,
    );
    const appCreated = firstAt(timeline, 'Deployment created', (x) => x.kind === 'Deployment' && x.created);
    const appAvailable = firstAt(
      timeline,
      'Deployment Available',
      (x) => x.kind === 'Deployment' && x.available,
    );
    const cacheCreated = firstAt(
      timeline,
      'cache Job created',
      (x) => x.name === 'cache-refresh' && x.created,
    );
    assert.ok(migrated < appCreated, 'the Deployment was created before the migration Job completed');
    assert.ok(
      appAvailable < cacheCreated,
      'the post-deploy Job was created before the Deployment was Available',
    );
    assert.equal(condition(post, 'Healthy')?.status, 'True');
    for (const name of ['app-pre-deploy', 'app-deploy'])
      await waitForReady(env, name, 'True', 'ReconciliationSucceeded');
  });

  it('an image bump everywhere re-runs both Jobs, and the new app waits for the new migration', async () => {
    const before = { migration: await uid('db-migration'), cache: await uid('cache-refresh') };
    const revision = await push(await retag('v1.0.1'), 'release v1.0.1');
    await waitForReady(env, 'app-post-deploy', 'True', 'ReconciliationSucceeded', lastApplied(revision));
    const after = { migration: await uid('db-migration'), cache: await uid('cache-refresh') };
    assert.notEqual(after.migration, before.migration, 'the migration Job must be recreated');
    assert.notEqual(after.cache, before.cache, 'the post-deploy Job must be recreated');
    const migrated = firstAt(
      timeline,
      'new migration Complete',
      (x) => x.uid === after.migration && x.complete,
    );
    const appUpdated = firstAt(
      timeline,
      'Deployment at v1.0.1',
      (x) => x.kind === 'Deployment' && x.image.endsWith(':v1.0.1'),
    );
    const appAvailable = firstAt(
      timeline,
      'v1.0.1 Available',
      (x) => x.kind === 'Deployment' && x.image.endsWith(':v1.0.1') && x.available,
    );
    const cacheCreated = firstAt(
      timeline,
      'new cache Job created',
      (x) => x.uid === after.cache && x.created,
    );
    assert.ok(migrated < appUpdated, 'the Deployment was updated before the new migration Job completed');
    assert.ok(appAvailable < cacheCreated, 'the post-deploy Job ran before the new Deployment was Available');
  });

  it('a failing migration stops the chain with HealthCheckFailed; a fixing commit recovers it', async () => {
    const failing = await retag('v1.0.2', '\n  backoffLimit: 0');
    failing['pre-deploy/migration.job.yaml'] = (failing['pre-deploy/migration.job.yaml'] ?? '').replace(
      '  template:\n    spec:',
      '  template:\n    metadata:\n      labels:\n        pod-container-running-failed.stage.kwok.x-k8s.io: "true"\n    spec:',
    );
    await push(failing, 'release v1.0.2 (migration fails)');
    const pre = await waitForReady(env, 'app-pre-deploy', 'False', 'HealthCheckFailed');
    assert.match(
      condition(pre, 'Ready')?.message ?? '',
      new RegExp(
        // Flux's text, then sluice's cause: which pod and container, and how it ended (kwok's default message).
        `^health check failed after .+: failed early due to stalled resources: \\[Job/${env.namespace}/db-migration status: 'Failed'\\]` +
          `: pod db-migration-[a-z0-9]{5} container migration exited 1: "container failed"$`,
      ),
    );
    const deploy = await waitForReady(env, 'app-deploy', 'False', 'DependencyNotReady');
    assert.match(
      condition(deploy, 'Ready')?.message ?? '',
      /dependency '.*\/app-pre-deploy' (is not ready|revision is not up to date)/,
    );
    const app = await env.objects.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: env.namespace,
      name: 'my-app',
    });
    assert.match(JSON.stringify(app?.['spec']), /my-app:v1\.0\.1/, 'the app must not move to v1.0.2');

    const fixed = await push(await retag('v1.0.3'), 'release v1.0.3 (fixed migration)');
    for (const name of ['app-pre-deploy', 'app-deploy', 'app-post-deploy']) {
      await waitForReady(env, name, 'True', 'ReconciliationSucceeded', lastApplied(fixed));
    }
  });

  it('a commit changing only the Deployment runs neither Job again', async () => {
    const before = { migration: await uid('db-migration'), cache: await uid('cache-refresh') };
    const files = await retag('v1.0.3');
    const revision = await push(
      {
        'deploy/deployment.yaml': (files['deploy/deployment.yaml'] ?? '').replace(
          'replicas: 2',
          'replicas: 3',
        ),
      },
      'scale to 3',
    );
    await waitForReady(env, 'app-post-deploy', 'True', 'ReconciliationSucceeded', lastApplied(revision));
    assert.deepEqual({ migration: await uid('db-migration'), cache: await uid('cache-refresh') }, before);
  });
});

describe('a Job still running at the timeout', () => {
  const env = useControllerEnv('e2e-timeout');

  it('fails the health check with the timeout message, leaves the Job running, and is Ready once it completes', async () => {
    await env.git.createRepo('slow', {
      'job.yaml': `apiVersion: batch/v1
kind: Job
metadata:
  name: slow-migration
spec:
  template:
    metadata:
      annotations:
        sluice.dev/run-duration: 40s
    spec:
      restartPolicy: Never
      containers:
      - name: migration
        image: ghcr.io/org/my-app:v1.0.0
`,
    });
    await create(env, gitRepository(env, 'slow'));
    await create(env, {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'slow', namespace: env.namespace },
      spec: {
        interval: '1h',
        retryInterval: '5s',
        timeout: '30s',
        wait: true,
        prune: true,
        sourceRef: { kind: 'GitRepository', name: 'slow' },
      },
    });
    const failed = await waitForReady(env, 'slow', 'False', 'HealthCheckFailed');
    assert.match(
      condition(failed, 'Ready')?.message ?? '',
      new RegExp(
        `^health check failed after 30(\\.\\d+)?s: timeout waiting for: \\[Job/${env.namespace}/slow-migration status: 'InProgress'\\]$`,
      ),
    );
    assert.equal(condition(failed, 'Reconciling')?.reason, 'ProgressingWithRetry');
    const ref = { apiVersion: 'batch/v1', kind: 'Job', namespace: env.namespace, name: 'slow-migration' };
    const job = await env.objects.get(ref);
    assert.ok(job, 'the Job must be left running');
    assert.equal(condition(job, 'Complete'), undefined);
    const ready = await waitForReady(env, 'slow', 'True', 'ReconciliationSucceeded');
    assert.equal(condition(ready, 'Healthy')?.status, 'True');
    assert.equal(
      (await env.objects.get(ref))?.metadata?.uid,
      job.metadata?.uid,
      'the same Job completed: it was not re-run',
    );
  });
});

describe('seed 000: a pre Job, then the application (v1beta2, flux-system)', () => {
  const env = useControllerEnv('e2e-seed000', { namespace: 'flux-system' });

  it('runs the pre Job to completion before the application is applied', async (t) => {
    if (env.skipReason) return t.skip(env.skipReason);
    await env.git.createRepo('flux-system', seed000);
    await create(env, gitRepository(env, 'flux-system'));
    const timeline = recordTimeline(env.client, env.namespace);
    try {
      for (const file of ['flux/pre.yaml', 'flux/application.yaml'])
        await applyIn(env, await manifest(seed000, file));
      await waitForReady(env, 'application', 'True', 'ReconciliationSucceeded');
      await waitForReady(env, 'pre', 'True', 'ReconciliationSucceeded');
      const preDone = firstAt(timeline, 'pre Job Complete', (x) => x.name === 'pre' && x.complete);
      const appCreated = firstAt(
        timeline,
        'application created',
        (x) => x.kind === 'Deployment' && x.created,
      );
      assert.ok(preDone < appCreated, 'the application was applied before the pre Job completed');
    } finally {
      timeline.stop();
    }
  });
});
