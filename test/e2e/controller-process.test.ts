// `sluice controller` as a user runs it: a separate process, Flux's flags, JSON logs, and a clean exit on SIGTERM.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createTestNamespace, deleteTestNamespace, testClient, testKubeconfig } from '../support/cluster.ts';
import { repoRoot, waitForObject, condition } from '../../dev/cluster.ts';
import { GitServer } from '../../dev/git-server.ts';
import { installCrds } from '../../src/install/install.ts';
import { ObjectClient } from '../../src/kube/objects.ts';
import type { KubeClient } from '../../src/kube/client.ts';

describe('sluice controller (a separate process)', () => {
  let client: KubeClient;
  let objects: ObjectClient;
  let namespace: string;
  let git: GitServer;
  let controller: ChildProcess;
  let logs = '';

  before(async () => {
    client = await testClient();
    objects = new ObjectClient(client);
    await installCrds(client, { timeoutMs: 60_000, log: () => undefined });
    namespace = await createTestNamespace(client, 'e2e-proc');
    git = await GitServer.start();
    await git.createRepo('app', {
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-process\n',
    });
    controller = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'src/cli/main.ts'),
        'controller',
        '--kubeconfig',
        testKubeconfig(),
        '--watch-all-namespaces=false',
        '--metrics-addr=0',
        '--health-addr=0',
        '--storage-addr=0',
        '--concurrent=2',
      ],
      { env: { ...process.env, RUNTIME_NAMESPACE: namespace }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    controller.stderr?.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  });

  after(async () => {
    if (controller.exitCode === null) controller.kill('SIGKILL');
    await git?.stop();
    await deleteTestNamespace(client, namespace);
    await client.close();
  });

  it('reconciles the namespace it is told to watch, then stops cleanly on SIGTERM', async () => {
    await objects.apply(
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'GitRepository',
        metadata: { name: 'app', namespace },
        spec: { url: git.url('app'), interval: '1m', ref: { branch: 'main' } },
      },
      { fieldManager: 'e2e-test' },
    );
    const ks = {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      namespace,
      name: 'app',
    };
    await objects.apply(
      {
        apiVersion: ks.apiVersion,
        kind: ks.kind,
        metadata: { name: ks.name, namespace },
        spec: { interval: '1m', prune: true, sourceRef: { kind: 'GitRepository', name: 'app' } },
      },
      { fieldManager: 'e2e-test' },
    );
    await waitForObject(
      client,
      `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${namespace}/kustomizations`,
      'app',
      (o) => condition(o, 'Ready')?.status === 'True',
      { description: 'Kustomization app Ready', timeoutMs: 60_000 },
    );
    assert.ok(await objects.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'from-process' }));

    // Delete while the controller runs, so the finalizers are handled and the namespace can go.
    const repo = { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace, name: 'app' };
    for (const ref of [ks, repo]) {
      await objects.delete(ref);
      await objects.waitUntilGone(ref, AbortSignal.timeout(30_000));
    }
    assert.equal(
      await objects.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'from-process' }),
      undefined,
    );

    controller.kill('SIGTERM');
    const [code] = (await once(controller, 'exit')) as [number | null];
    assert.equal(code, 0, logs);
    const lines = logs
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; msg: string; ts: string });
    assert.ok(
      lines.some((l) => l.msg === 'controllers started'),
      logs,
    );
    assert.equal(lines.at(-1)?.msg, 'stopped');
    for (const line of lines) assert.match(line.ts, /^\d{4}-\d\d-\d\dT/);
  });
});
