// The Kustomization knobs a Flux user relies on: suspend, history, post-build substitution, the per-object
// annotations (ssa, reconcile, force) and deletion policies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  useControllerEnv,
  gitRepository,
  kustomization,
  create,
  waitForReady,
  type ControllerEnv,
  requestReconcile,
} from '../support/controller.ts';
import { condition } from '../../dev/cluster.ts';
import type { KubeObject } from '../../src/kube/client.ts';

interface Status {
  lastAppliedRevision?: string;
  lastHandledReconcileAt?: string;
  history?: {
    digest: string;
    lastReconciledStatus: string;
    totalReconciliations: number;
    metadata: { revision: string };
  }[];
}
const statusOf = (o: KubeObject) => (o['status'] ?? {}) as Status;
const cm = (name: string, extra = '') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;

function patchSpec(env: ControllerEnv, name: string, spec: Record<string, unknown>) {
  return env.objects.patch(
    { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: env.namespace, name },
    { spec },
    'application/merge-patch+json',
  );
}

/** Pushes a commit and has the source pick it up at once; returns Flux's revision string. */
async function push(env: ControllerEnv, repo: string, files: Record<string, string | null>): Promise<string> {
  const commit = await env.git.commit(repo, files, 'change');
  await requestReconcile(env, 'GitRepository', repo, commit);
  return `main@sha1:${commit}`;
}

const applied = (revision: string) => (o: KubeObject) => statusOf(o).lastAppliedRevision === revision;

describe('Kustomization options', () => {
  const env = useControllerEnv('e2e-opts');
  const live = (name: string) =>
    env.objects.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: env.namespace, name });

  it('records history, and a suspended Kustomization applies nothing until resumed', async () => {
    const first = `main@sha1:${await env.git.createRepo('suspend', { 'a.yaml': cm('a') })}`;
    await create(env, gitRepository(env, 'suspend'));
    await create(
      env,
      kustomization(env, 'suspend', { sourceRef: { kind: 'GitRepository', name: 'suspend' } }),
    );
    const ready = await waitForReady(env, 'suspend', 'True', 'ReconciliationSucceeded');
    const [snapshot] = statusOf(ready).history ?? [];
    assert.match(snapshot?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(snapshot?.lastReconciledStatus, 'ReconciliationSucceeded');
    assert.equal(snapshot?.totalReconciliations, 1);
    assert.equal(snapshot?.metadata.revision, first);

    await patchSpec(env, 'suspend', { suspend: true });
    const second = await push(env, 'suspend', { 'b.yaml': cm('b') });
    await requestReconcile(env, 'Kustomization', 'suspend', 'while-suspended');
    const suspended = await waitForReady(
      env,
      'suspend',
      'True',
      undefined,
      (o) => statusOf(o).lastHandledReconcileAt === 'while-suspended',
    );
    assert.equal(statusOf(suspended).lastAppliedRevision, first, 'a suspended Kustomization must not apply');
    assert.equal(await live('b'), undefined);

    await patchSpec(env, 'suspend', { suspend: false });
    const resumed = await waitForReady(env, 'suspend', 'True', undefined, applied(second));
    assert.ok(await live('b'));
    assert.equal(statusOf(resumed).history?.length, 2, 'a new manifest digest adds a history entry');
  });

  it('substitutes variables from ConfigMaps, Secrets and inline values, and fails on an unset one (strict)', async () => {
    const ns = env.namespace;
    await env.objects.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'vars', namespace: ns },
        data: { APP_TAG: 'v9', REGION: 'eu' },
      },
      { fieldManager: 'e2e-test' },
    );
    await env.objects.apply(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'secret-vars', namespace: ns },
        stringData: { PASSWORD: 'hunter2' },
      },
      { fieldManager: 'e2e-test' },
    );
    await env.git.createRepo('vars', {
      'cm.yaml': cm(
        'rendered',
        'data:\n  tag: ${APP_TAG}\n  region: ${REGION}\n  password: ${PASSWORD}\n  level: ${LEVEL:=info}\n',
      ),
    });
    await create(env, gitRepository(env, 'vars'));
    await create(
      env,
      kustomization(env, 'vars', {
        sourceRef: { kind: 'GitRepository', name: 'vars' },
        postBuild: {
          substitute: { REGION: 'us' },
          substituteFrom: [
            { kind: 'ConfigMap', name: 'vars' },
            { kind: 'Secret', name: 'secret-vars' },
            { kind: 'ConfigMap', name: 'not-there', optional: true },
          ],
        },
      }),
    );
    await waitForReady(env, 'vars', 'True');
    assert.deepEqual((await live('rendered'))?.['data'], {
      tag: 'v9',
      region: 'us',
      password: 'hunter2',
      level: 'info',
    });

    await push(env, 'vars', {
      'cm.yaml': cm('rendered', 'data:\n  tag: ${APP_TAG}\n  missing: ${NOT_SET}\n'),
    });
    const failed = await waitForReady(env, 'vars', 'False', 'BuildFailed');
    assert.match(condition(failed, 'Ready')?.message ?? '', /variable not set \(strict mode\).*NOT_SET/);
  });

  it('honours ssa: IfNotPresent and Ignore, reconcile: disabled, and a per-object force: enabled', async () => {
    const ns = env.namespace;
    const job = (image: string) =>
      `apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    kustomize.toolkit.fluxcd.io/force: Enabled\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: ${image}\n`;
    const marked = (name: string, key: string, value: string, data: string) =>
      cm(name, `  annotations:\n    kustomize.toolkit.fluxcd.io/${key}: ${value}\ndata:\n  v: "${data}"\n`);
    await env.git.createRepo('marks', {
      'once.yaml': marked('once', 'ssa', 'IfNotPresent', '1'),
      'ignored.yaml': marked('ignored', 'ssa', 'Ignore', '1'),
      'disabled.yaml': marked('disabled', 'reconcile', 'disabled', '1'),
      'job.yaml': job('app:v1'),
    });
    await create(env, gitRepository(env, 'marks'));
    await create(
      env,
      kustomization(env, 'marks', { force: false, sourceRef: { kind: 'GitRepository', name: 'marks' } }),
    );
    await waitForReady(env, 'marks', 'True');
    assert.deepEqual((await live('once'))?.['data'], { v: '1' });
    assert.equal(await live('ignored'), undefined);
    assert.equal(await live('disabled'), undefined);
    const jobRef = { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'migrate' };
    const firstJob = (await env.objects.get(jobRef))?.metadata?.uid;

    const revision = await push(env, 'marks', {
      'once.yaml': marked('once', 'ssa', 'IfNotPresent', '2'),
      'job.yaml': job('app:v2'),
    });
    await waitForReady(env, 'marks', 'True', undefined, applied(revision));
    assert.deepEqual(
      (await live('once'))?.['data'],
      { v: '1' },
      'IfNotPresent must not update an existing object',
    );
    assert.notEqual(
      (await env.objects.get(jobRef))?.metadata?.uid,
      firstJob,
      'force: enabled must recreate the Job',
    );
  });

  it('deletionPolicy Orphan keeps the objects; Delete removes them even with prune: false', async () => {
    await env.git.createRepo('orphan', { 'cm.yaml': cm('orphaned') });
    await env.git.createRepo('delete', { 'cm.yaml': cm('deleted') });
    await create(env, gitRepository(env, 'orphan'));
    await create(env, gitRepository(env, 'delete'));
    await create(
      env,
      kustomization(env, 'orphan', {
        deletionPolicy: 'Orphan',
        sourceRef: { kind: 'GitRepository', name: 'orphan' },
      }),
    );
    await create(
      env,
      kustomization(env, 'delete', {
        prune: false,
        deletionPolicy: 'Delete',
        sourceRef: { kind: 'GitRepository', name: 'delete' },
      }),
    );
    await waitForReady(env, 'orphan', 'True');
    await waitForReady(env, 'delete', 'True');
    const signal = AbortSignal.timeout(30_000);
    for (const name of ['orphan', 'delete']) {
      const ref = {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        namespace: env.namespace,
        name,
      };
      await env.objects.delete(ref);
      await env.objects.waitUntilGone(ref, signal);
    }
    assert.ok(await live('orphaned'));
    assert.equal(await live('deleted'), undefined);
  });
});

describe('Flux feature gates on the controller', () => {
  const env = useControllerEnv('e2e-ks-gates', {
    controller: { featureGates: { StrictPostBuildSubstitutions: false } },
  });

  it('StrictPostBuildSubstitutions=false substitutes an unset variable with nothing, as Flux does', async () => {
    await env.git.createRepo('lenient', { 'cm.yaml': cm('lenient', 'data:\n  shell: "x${NOT_SET}y"\n') });
    await create(env, gitRepository(env, 'lenient'));
    await create(
      env,
      kustomization(env, 'lenient', {
        sourceRef: { kind: 'GitRepository', name: 'lenient' },
        postBuild: { substitute: { REGION: 'us' } },
      }),
    );
    await waitForReady(env, 'lenient', 'True');
    const live = await env.objects.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: env.namespace,
      name: 'lenient',
    });
    assert.deepEqual(live?.['data'], { shell: 'xy' });
  });
});
