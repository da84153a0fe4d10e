// `sluice reconcile` as a user runs it: a separate process against the real cluster, with the controllers
// running, judged by its stderr and exit code.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import {
  useControllerEnv,
  gitRepository,
  kustomization,
  create,
  waitForReady,
  gitPath,
} from '../support/controller.ts';
import { createTestNamespace, deleteTestNamespace, testKubeconfig } from '../support/cluster.ts';
import { condition, repoRoot, waitForObject } from '../../dev/cluster.ts';

interface Run {
  /** null when the test's deadline killed the process. */
  code: number | null;
  stderr: string;
}

/** Runs `sluice <args>` in the test namespace; a run still going after `deadlineMs` is killed. */
async function sluice(namespace: string, args: string[], deadlineMs = 60_000): Promise<Run> {
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'src/cli/main.ts'), ...args, '-n', namespace, '--kubeconfig', testKubeconfig()],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(deadline);
  return { code, stderr };
}

/** The `◎ <Reconciling message>` lines, which depend on how the controller's passes interleave with the run. */
const isProgress = (line: string) => line.startsWith('◎ ') && !line.startsWith('◎ waiting for ');

const failingJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        pod-container-running-failed.stage.kwok.x-k8s.io: "true"
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: ghcr.io/org/migrate:v1
`;

describe('sluice reconcile', () => {
  const env = useControllerEnv('e2e-cli-rec');

  it('reconcile ks --with-source fetches a new commit, applies it and prints its revision', async () => {
    const ns = env.namespace;
    await env.git.createRepo('app', { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n' });
    await create(env, gitRepository(env, 'app'));
    await create(env, kustomization(env, 'app', {}));
    await waitForReady(env, 'app', 'True');
    const commit = await env.git.commit(
      'app',
      { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n' },
      'rename',
    );

    const run = await sluice(ns, ['reconcile', 'ks', 'app', '--with-source']);

    assert.equal(run.code, 0, run.stderr);
    const lines = run.stderr.replaceAll(commit, '<hash>').trimEnd().split('\n');
    assert.deepEqual(
      lines.filter((line) => !isProgress(line)),
      [
        `► annotating GitRepository app in ${ns} namespace`,
        '✔ GitRepository annotated',
        '◎ waiting for GitRepository reconciliation',
        '✔ fetched revision main@sha1:<hash>',
        `► annotating Kustomization app in ${ns} namespace`,
        '✔ Kustomization annotated',
        '◎ waiting for Kustomization reconciliation',
        '✔ applied revision main@sha1:<hash>',
      ],
    );
    for (const line of lines.filter(isProgress)) {
      assert.match(
        line,
        /^◎ (building artifact: new upstream revision '|\w+ (manifests|drift) for revision )main@sha1:<hash>/,
      );
    }
  });

  it('reconcile source git waits for the artifact and prints its revision', async () => {
    const run = await sluice(env.namespace, ['reconcile', 'source', 'git', 'app']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /\n✔ fetched revision main@sha1:[0-9a-f]{40}\n$/);
  });

  it('fails at once when the pass fails, instead of waiting out --timeout', async () => {
    const ns = env.namespace;
    await env.git.createRepo('failing', { 'job.yaml': failingJob });
    await create(env, gitRepository(env, 'failing'));
    // Without an artifact yet, a pass would end at once with "Source artifact not found" (ArtifactFailed).
    await waitForObject(
      env.client,
      gitPath(env),
      'failing',
      (o) => condition(o, 'Ready')?.status === 'True',
      {
        description: 'GitRepository failing Ready',
      },
    );
    await create(
      env,
      kustomization(env, 'failing', {
        sourceRef: { kind: 'GitRepository', name: 'failing' },
        wait: true,
        timeout: '5m',
      }),
    );

    // The deadline is shorter than --timeout: only a fail-fast run exits by itself in time.
    const run = await sluice(ns, ['reconcile', 'ks', 'failing', '--timeout', '2m'], 90_000);

    assert.equal(run.code, 1, `the command did not fail by itself: ${run.stderr}`);
    const last = run.stderr.trimEnd().split('\n').at(-1) ?? '';
    assert.match(
      last,
      new RegExp(
        `^✗ Kustomization reconciliation failed: health check failed after [^:]+: ` +
          `failed early due to stalled resources: \\[Job/${ns}/migrate status: 'Failed'\\]` +
          `: pod migrate-[a-z0-9]{5} container migrate exited 1: "container failed"$`,
      ),
    );
  });

  it('refuses a suspended Kustomization', async () => {
    await create(env, kustomization(env, 'suspended', { suspend: true }));
    const run = await sluice(env.namespace, ['reconcile', 'ks', 'suspended']);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, '✗ resource is suspended\n');
  });

  it('says which object it could not find', async () => {
    const run = await sluice(env.namespace, ['reconcile', 'kustomization', 'missing']);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `✗ Kustomization missing not found in ${env.namespace} namespace\n`);
  });

  it('refuses --with-source for a source kind it cannot reconcile', async () => {
    await create(env, kustomization(env, 'oci', { sourceRef: { kind: 'OCIRepository', name: 'app' } }));
    const run = await sluice(env.namespace, ['reconcile', 'ks', 'oci', '--with-source']);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      '✗ cannot reconcile source of kind OCIRepository: sluice supports GitRepository sources only\n',
    );
  });

  it('says which dependency it waits for, and its state, and at --timeout what it was waiting for', async () => {
    const ns = env.namespace;
    // Depends on the failing Kustomization of the test above, on the same source.
    await create(
      env,
      kustomization(env, 'after-failing', {
        sourceRef: { kind: 'GitRepository', name: 'failing' },
        dependsOn: [{ name: 'failing' }],
      }),
    );
    await waitForReady(env, 'after-failing', 'False', 'DependencyNotReady');
    const run = await sluice(ns, ['reconcile', 'ks', 'after-failing', '--timeout', '4s']);
    assert.equal(run.code, 1);
    const lines = run.stderr.trimEnd().split('\n');
    assert.ok(lines.includes(`◎ dependency '${ns}/failing' is not ready`), run.stderr);
    const state = lines.find((l) =>
      l.startsWith(`◎ dependency ${ns}/failing is Ready=False (HealthCheckFailed): `),
    );
    assert.ok(state, run.stderr);
    assert.equal(
      lines.at(-1),
      `✗ timed out waiting for Kustomization reconciliation after 4s: dependency '${ns}/failing' is not ready; ${state.slice(2)}`,
    );
  });

  it('gives up after --timeout when no controller handles the request', async () => {
    const unwatched = await createTestNamespace(env.client, 'e2e-cli-rec-unwatched');
    try {
      await create(env, {
        ...kustomization(env, 'idle', {}),
        metadata: { name: 'idle', namespace: unwatched },
      });
      const run = await sluice(unwatched, ['reconcile', 'ks', 'idle', '--timeout', '2s']);
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        [
          `► annotating Kustomization idle in ${unwatched} namespace`,
          '✔ Kustomization annotated',
          '◎ waiting for Kustomization reconciliation',
          '✗ timed out waiting for Kustomization reconciliation after 2s',
          '',
        ].join('\n'),
      );
    } finally {
      await deleteTestNamespace(env.client, unwatched);
    }
  });
});
