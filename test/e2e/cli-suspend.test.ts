// `sluice suspend` and `sluice resume` as a user runs them, against the real cluster with the controllers
// running: Flux's messages byte for byte (the namespace and commit filled in), exit codes, and a resume that
// fails exits at once with the Kustomization's own message instead of waiting out --timeout.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { condition } from '../../dev/cluster.ts';
import {
  create,
  gitRepository,
  kustomization,
  ksPath,
  useControllerEnv,
  waitForReady,
} from '../support/controller.ts';
import { runSluice } from '../support/cli.ts';
import type { KubeObject } from '../../src/kube/client.ts';

const sluice = (...args: string[]) => runSluice(args);

describe('sluice suspend and resume', () => {
  const env = useControllerEnv('e2e-cli-suspend');

  it('suspends and resumes a Kustomization, waiting for the reconcile', async () => {
    const ns = env.namespace;
    const commit = await env.git.createRepo('app', {
      'settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n',
    });
    await create(env, gitRepository(env, 'app'));
    await create(env, kustomization(env, 'app', {}));
    await waitForReady(env, 'app', 'True');

    const suspend = await sluice('suspend', 'ks', 'app', 'nope', '-n', ns);
    assert.deepEqual(suspend, {
      code: 1,
      stdout: '',
      stderr:
        `► suspending kustomization app in ${ns} namespace\n` +
        `✔ kustomization suspended\n` +
        `✗ Kustomization nope not found in ${ns} namespace\n`,
    });
    const suspended = await env.client.get<KubeObject>(`${ksPath(env)}/app`);
    assert.equal((suspended['spec'] as { suspend?: boolean }).suspend, true);
    assert.match(
      (await sluice('get', 'ks', 'app', '-n', ns, '--no-header')).stdout,
      /^app\t\S+\tTrue\tTrue\t/,
    );

    const resume = await sluice('resume', 'ks', 'app', '-n', ns);
    assert.deepEqual(resume, {
      code: 0,
      stdout: '',
      stderr:
        `► resuming kustomization app in ${ns} namespace\n` +
        `✔ kustomization resumed\n` +
        `◎ waiting for Kustomization reconciliation\n` +
        `✔ Kustomization app reconciliation completed\n` +
        `✔ applied revision main@sha1:${commit}\n`,
    });
    const resumed = await env.client.get<KubeObject>(`${ksPath(env)}/app`);
    assert.equal((resumed['spec'] as { suspend?: boolean }).suspend, false);
  });

  it('suspends and resumes a GitRepository as "source git"', async () => {
    const ns = env.namespace;
    const suspend = await sluice('suspend', 'source', 'git', 'app', '-n', ns);
    assert.equal(suspend.code, 0);
    assert.equal(suspend.stderr, `► suspending source git app in ${ns} namespace\n✔ source git suspended\n`);
    const resume = await sluice('resume', 'source', 'git', 'app', '-n', ns, '--no-wait');
    assert.equal(resume.code, 0);
    assert.equal(resume.stderr, `► resuming source git app in ${ns} namespace\n✔ source git resumed\n`);
  });

  it('resume of a failing Kustomization exits 1 with its Ready message as soon as it fails', async () => {
    const ns = env.namespace;
    await create(env, kustomization(env, 'broken', { path: './missing', suspend: true }));
    const resume = await sluice('resume', 'ks', 'broken', '-n', ns);
    const broken = await waitForReady(env, 'broken', 'False');
    const message = condition(broken, 'Ready')?.message ?? '';
    assert.ok(message.length > 0);
    assert.deepEqual(resume, {
      code: 1,
      stdout: '',
      stderr:
        `► resuming kustomization broken in ${ns} namespace\n` +
        `✔ kustomization resumed\n` +
        `◎ waiting for Kustomization reconciliation\n` +
        `✗ Kustomization broken reconciliation failed: ${message}\n`,
    });
    // The failure line (not "reconciliation not completed after 5m0s") shows it did not wait out the timeout.
  });

  it('resume of an unknown name fails with exit 1', async () => {
    const resume = await sluice('resume', 'ks', 'nope', '-n', env.namespace);
    assert.deepEqual(resume, {
      code: 1,
      stdout: '',
      stderr: `✗ Kustomization nope not found in ${env.namespace} namespace\n`,
    });
  });
});
