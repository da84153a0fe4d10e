// Every port of a running controller (artifact server, metrics, health probes) survives a table of malformed and
// hostile requests, and the controller still answers its probes and reconciles.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createTestNamespace, deleteTestNamespace, testClient, testKubeconfig } from '../support/cluster.ts';
import { repoRoot, waitForObject, condition } from '../../dev/cluster.ts';
import { GitServer } from '../../dev/git-server.ts';
import { hostileRequests, sendRaw } from '../../dev/hostile-requests.ts';
import { installCrds } from '../../src/install/install.ts';
import { ObjectClient } from '../../src/kube/objects.ts';
import type { KubeClient, KubeObject } from '../../src/kube/client.ts';

describe('the controller’s ports under hostile requests', () => {
  let client: KubeClient;
  let objects: ObjectClient;
  let namespace: string;
  let git: GitServer;
  let controller: ChildProcess;
  let logs = '';
  const ports: Record<string, number> = {};

  /** The address the controller logged with `msg`, once it has. */
  const loggedPort = (msg: string) =>
    new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${msg}' log line: ${logs}`)), 60_000);
      const look = () => {
        for (const line of logs.split('\n')) {
          if (!line.startsWith('{')) continue;
          const entry = JSON.parse(line) as { msg: string; address?: string };
          if (entry.msg === msg && entry.address) {
            clearTimeout(timer);
            controller.stderr?.off('data', look);
            return resolve(Number(entry.address.split(':').at(-1)));
          }
        }
      };
      controller.stderr?.on('data', look);
      look();
    });

  const kustomization = (name: string, configMap: string) => ({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace },
    spec: {
      interval: '1h',
      prune: true,
      path: `./${configMap}`,
      sourceRef: { kind: 'GitRepository', name: 'app' },
    },
  });

  before(async () => {
    client = await testClient();
    objects = new ObjectClient(client);
    await installCrds(client, { timeoutMs: 60_000, log: () => undefined });
    namespace = await createTestNamespace(client, 'e2e-hostile');
    git = await GitServer.start();
    await git.createRepo('app', {
      'first/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n',
      'second/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n',
    });
    controller = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'src/cli/main.ts'),
        'controller',
        '--kubeconfig',
        testKubeconfig(),
        '--watch-all-namespaces=false',
        '--metrics-addr=127.0.0.1:0',
        '--health-addr=127.0.0.1:0',
        '--storage-addr=127.0.0.1:0',
      ],
      { env: { ...process.env, RUNTIME_NAMESPACE: namespace }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    controller.stderr?.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    ports.metrics = await loggedPort('serving metrics');
    ports.health = await loggedPort('serving health probes');
    await objects.apply(
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'GitRepository',
        metadata: { name: 'app', namespace },
        spec: { url: git.url('app'), interval: '1h', ref: { branch: 'main' } },
      },
      { fieldManager: 'e2e-test' },
    );
    await objects.apply(kustomization('first', 'first'), { fieldManager: 'e2e-test' });
    const repo = await waitForObject<KubeObject>(
      client,
      `/apis/source.toolkit.fluxcd.io/v1/namespaces/${namespace}/gitrepositories`,
      'app',
      (o) => condition(o, 'Ready')?.status === 'True',
      { description: 'GitRepository app Ready', timeoutMs: 60_000 },
    );
    const url = (repo['status'] as { artifact: { url: string } }).artifact.url;
    ports.artifacts = Number(new URL(url).port);
  });

  after(async () => {
    if (controller && controller.exitCode === null) controller.kill('SIGKILL');
    await git?.stop();
    await deleteTestNamespace(client, namespace);
    await client.close();
  });

  it('answers every malformed request with a 4xx or a closed connection, and leaks no file', async () => {
    for (const [port, number] of Object.entries(ports)) {
      for (const request of hostileRequests) {
        const answer = await sendRaw(number, request);
        assert.ok(
          answer.status === undefined || (answer.status >= 400 && answer.status < 500),
          `${port}: ${request.name}: ${answer.head}`,
        );
        assert.doesNotMatch(answer.head, /root:x:0:0/, `${port}: ${request.name}`);
        assert.equal(controller.exitCode, null, `${port}: ${request.name} ended the controller: ${logs}`);
      }
    }
  });

  it('still answers its probes and reconciles afterwards', async () => {
    const healthz = await fetch(`http://127.0.0.1:${ports.health}/healthz`);
    assert.equal(healthz.status, 200);
    const metrics = await fetch(`http://127.0.0.1:${ports.metrics}/metrics`);
    assert.equal(metrics.status, 200);
    await objects.apply(kustomization('second', 'second'), { fieldManager: 'e2e-test' });
    for (const name of ['first', 'second']) {
      await waitForObject(
        client,
        `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${namespace}/kustomizations`,
        name,
        (o) => condition(o, 'Ready')?.status === 'True',
        { description: `Kustomization ${name} Ready`, timeoutMs: 60_000 },
      );
      assert.ok(await objects.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name }));
    }
    // Deleted while the controller runs, so their finalizers are handled and the namespace can go.
    const refs = ['first', 'second'].map((name) => ({
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      namespace,
      name,
    }));
    refs.push({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace, name: 'app' });
    for (const ref of refs) {
      await objects.delete(ref);
      await objects.waitUntilGone(ref, AbortSignal.timeout(30_000));
    }
  });
});
