// `sluice get pipelines` and `sluice get pipeline NAME [--watch]` on seed 001: the three stages in order with
// their Jobs and the app's rollout; a release seen moving stage by stage from watches; a failing migration shown
// as the pipeline failed at stage 1 with the Job's exit code.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  applySeed,
  requestReconcile,
  useControllerEnv,
  waitForReady,
  type ControllerEnv,
} from '../support/controller.ts';
import { runSluice, spawnSluice } from '../support/cli.ts';
import { failingMigration, release, seedFiles } from '../../dev/seed.ts';
import type { Pipeline } from '../../src/pipeline/pipeline.ts';

/** `sluice get pipeline NAME --watch` as a process, its output collected until `stop()`. */
function watchPipeline(namespace: string, name: string) {
  const child = spawnSluice(['get', 'pipeline', name, '--watch', '-n', namespace]);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return {
    output: () => output,
    /** Resolves once `pattern` is in the output; fails after `ms`. */
    async waitFor(pattern: RegExp, ms = 30_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!pattern.test(output)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(): Promise<number | null> {
      child.kill('SIGINT');
      return exited;
    },
  };
}

/** Commits to the seed's repository and asks its GitRepository to fetch at once. */
async function push(env: ControllerEnv, files: Record<string, string>, message: string): Promise<void> {
  await requestReconcile(env, 'GitRepository', 'my-app', await env.git.commit('my-app', files, message));
}

describe('sluice get pipelines and get pipeline', () => {
  const env = useControllerEnv('e2e-pipelines');
  const sluice = (...args: string[]) => runSluice([...args, '-n', env.namespace]);

  it('lists the pipeline and shows its stages in order, with Jobs and the rollout; then follows a release', async () => {
    const files = await applySeed(env);
    await waitForReady(env, 'app-post-deploy', 'True', 'ReconciliationSucceeded');

    const list = await sluice('get', 'pipelines');
    assert.equal(list.code, 0, list.stderr);
    const [header, row] = list.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^NAME\s+STAGES\s+REVISION\s+STATE\s+AGE\s*$/);
    assert.match(
      row ?? '',
      /^app-pre-deploy\s+app-pre-deploy → app-deploy → app-post-deploy\s+main@sha1:[0-9a-f]{8}\s+Ready\s+\d+s\s*$/,
    );

    const shown = await sluice('get', 'pipeline', 'app-deploy');
    assert.equal(shown.code, 0, shown.stderr);
    const lines = shown.stdout.split('\n');
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `^${env.namespace}/app-pre-deploy: Ready, revision main@sha1:[0-9a-f]{8}, source GitRepository/${env.namespace}/my-app$`,
      ),
    );
    const names = lines
      .slice(3)
      .map((l) => l.split('\t')[1]?.trim())
      .filter(Boolean);
    assert.deepEqual(names, [
      'app-pre-deploy',
      '└ Job/db-migration',
      'app-deploy',
      '└ Deployment/my-app',
      'app-post-deploy',
      '└ Job/cache-refresh',
    ]);
    assert.match(shown.stdout, /└ Job\/db-migration\s+main@sha1:[0-9a-f]{8}\s+Complete, attempt 1/);
    assert.match(shown.stdout, /└ Deployment\/my-app\s+v1\.0\.0 Available ✔ \(2 replicas\)/);

    const json = await sluice('get', 'pipeline', 'app-pre-deploy', '-o', 'json');
    const pipeline = JSON.parse(json.stdout) as Pipeline;
    assert.deepEqual(
      pipeline.stages.map((s) => [s.index, s.name, s.state]),
      [
        [1, 'app-pre-deploy', 'Ready'],
        [2, 'app-deploy', 'Ready'],
        [3, 'app-post-deploy', 'Ready'],
      ],
    );

    const watch = watchPipeline(env.namespace, 'app-pre-deploy');
    try {
      await watch.waitFor(/└ Job\/cache-refresh/);
      await push(env, release(files, 'v1.0.1'), 'release v1.0.1');
      await watch.waitFor(/app-post-deploy\s+Job\/cache-refresh\s+Complete ✔/);
      await waitForReady(env, 'app-post-deploy', 'True', 'ReconciliationSucceeded');
    } finally {
      assert.equal(await watch.stop(), 0);
    }
    const changes = watch.output().split('\n\n').pop()?.trim().split('\n') ?? [];
    const at = (pattern: RegExp) => {
      const index = changes.findIndex((l) => pattern.test(l));
      assert.ok(index >= 0, `no ${pattern} in:\n${changes.join('\n')}`);
      return index;
    };
    // Nothing replayed from before the watch started (the old Jobs' Complete), then the release in order.
    assert.match(changes.find((l) => l.includes('Job/cache-refresh')) ?? '', /Job\/cache-refresh\s+Created$/);
    assert.match(changes.find((l) => l.includes('Job/db-migration')) ?? '', /Job\/db-migration\s+Created$/);
    assert.ok(at(/Job\/db-migration\s+Complete ✔/) < at(/Deployment\/my-app\s+v1\.0\.1 rolling out/));
    assert.ok(at(/Deployment\/my-app\s+v1\.0\.1 Available ✔/) < at(/Job\/cache-refresh\s+Created/));
  });

  it('shows a failing migration as the pipeline failed at stage 1, with the exit code', async () => {
    const files = await seedFiles();
    await push(
      env,
      failingMigration(files, 'v1.0.2', { exitCode: 3, message: 'relation users already exists' }),
      'release v1.0.2',
    );
    await waitForReady(env, 'app-pre-deploy', 'False', 'HealthCheckFailed');
    const list = await sluice('get', 'pipelines');
    assert.match(list.stdout, /Failed at stage 1 \(app-pre-deploy\)/);
    const shown = await sluice('get', 'pipeline', 'app-pre-deploy');
    assert.match(
      shown.stdout,
      /^1\s+app-pre-deploy\s+main@sha1:[0-9a-f]{8}\s+Failed: health check failed .*exited 3: "relation users already exists"/m,
    );
    assert.match(shown.stdout, /└ Job\/db-migration\s+main@sha1:[0-9a-f]{8}\s+Failed \(exit 3\), attempt 1/);
  });

  it('says so when there is no such pipeline', async () => {
    const result = await sluice('get', 'pipeline', 'nope');
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `✗ no pipeline with a Kustomization 'nope' in "${env.namespace}" namespace\n`,
    );
  });
});
