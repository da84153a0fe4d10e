// Faults, on a cluster of their own: the controller survives an apiserver restart (its watches resume) and
// its own kill -9 in the middle of recreating a forced Job (a restart converges, nothing is lost).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { ownClusters, repoRoot, waitForObject, condition } from '../../dev/cluster.ts';
import { GitServer } from '../../dev/git-server.ts';
import { installCrds } from '../../src/install/install.ts';
import { KubeClient, ContentType, type KubeObject } from '../../src/kube/client.ts';
import { ObjectClient } from '../../src/kube/objects.ts';

const cluster = ownClusters.faults;
const kubeconfig = cluster.kubeconfig;
const namespace = 'faults';

const job = (image: string) => `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: ${image}
`;
const cm = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  value: "${value}"\n`;

describe(
  'faults',
  { skip: process.env.SLUICE_TEST_KUBECONFIG ? 'needs a local cluster of its own' : false },
  () => {
    let client: KubeClient;
    let objects: ObjectClient;
    let git: GitServer;
    let controller: ChildProcess | undefined;

    const startController = () => {
      controller = spawn(
        process.execPath,
        [
          path.join(repoRoot, 'src/cli/main.ts'),
          'controller',
          '--kubeconfig',
          kubeconfig,
          '--watch-all-namespaces=false',
          '--metrics-addr=0',
          '--health-addr=0',
          '--storage-addr=0',
        ],
        { env: { ...process.env, RUNTIME_NAMESPACE: namespace }, stdio: 'ignore' },
      );
    };
    const jobRef = { apiVersion: 'batch/v1', kind: 'Job', namespace, name: 'migrate' };
    const ksPath = `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${namespace}/kustomizations`;
    const applied = (revision: string) => (o: KubeObject) =>
      condition(o, 'Ready')?.status === 'True' &&
      (o['status'] as { lastAppliedRevision?: string }).lastAppliedRevision === revision;

    async function push(files: Record<string, string>, message: string): Promise<string> {
      const commit = await git.commit('app', files, message);
      await objects.patch(
        { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace, name: 'app' },
        { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': commit } } },
        ContentType.mergePatch,
      );
      return `main@sha1:${commit}`;
    }

    before(async () => {
      await cluster.up();
      client = await KubeClient.load({ kubeconfig });
      objects = new ObjectClient(client);
      await installCrds(client, { timeoutMs: 60_000, log: () => undefined });
      await objects.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
        { fieldManager: 'e2e-test' },
      );
      git = await GitServer.start();
      const first = await git.createRepo('app', { 'job.yaml': job('app:v1'), 'cm.yaml': cm('1') });
      startController();
      await objects.apply(
        {
          apiVersion: 'source.toolkit.fluxcd.io/v1',
          kind: 'GitRepository',
          metadata: { name: 'app', namespace },
          spec: { url: git.url('app'), interval: '1h', ref: { branch: 'main' } },
        },
        { fieldManager: 'e2e-test' },
      );
      await objects.apply(
        {
          apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
          kind: 'Kustomization',
          metadata: { name: 'app', namespace },
          spec: {
            interval: '1h',
            prune: true,
            wait: true,
            force: true,
            sourceRef: { kind: 'GitRepository', name: 'app' },
          },
        },
        { fieldManager: 'e2e-test' },
      );
      await waitForObject(client, ksPath, 'app', applied(`main@sha1:${first}`), {
        description: 'the first sync',
        timeoutMs: 60_000,
      });
    });

    after(async () => {
      if (controller && controller.exitCode === null) controller.kill('SIGKILL');
      await git?.stop();
      await client?.close();
      await cluster.down();
    });

    it('keeps reconciling after the apiserver restarts, without re-running what was done', async () => {
      const uid = (await objects.get(jobRef))?.metadata?.uid;
      await cluster.restart('kube-apiserver');
      const revision = await push({ 'cm.yaml': cm('2') }, 'only the ConfigMap');
      await waitForObject(client, ksPath, 'app', applied(revision), {
        description: 'the commit after the restart',
        timeoutMs: 90_000,
      });
      const settings = await objects.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace,
        name: 'settings',
      });
      assert.deepEqual(settings?.['data'], { value: '2' });
      assert.equal((await objects.get(jobRef))?.metadata?.uid, uid, 'the completed Job must not run again');
    });

    it('converges after a kill -9 between deleting and recreating a forced Job', async () => {
      // Hold the old Job with a finalizer, so the controller is caught waiting for it to go.
      await objects.patch(
        jobRef,
        { metadata: { finalizers: ['sluice.dev/e2e-hold'] } },
        ContentType.mergePatch,
      );
      const old = await objects.get(jobRef);
      const revision = await push({ 'job.yaml': job('app:v2'), 'cm.yaml': cm('3') }, 'bump the Job');
      await objects.waitFor(jobRef, (o) => !!o?.metadata?.['deletionTimestamp'], AbortSignal.timeout(60_000));
      controller?.kill('SIGKILL');
      await once(controller as ChildProcess, 'exit');

      await objects.patch(jobRef, { metadata: { finalizers: null } }, ContentType.mergePatch);
      await objects.waitUntilGone(jobRef, AbortSignal.timeout(30_000));
      startController();
      await waitForObject(client, ksPath, 'app', applied(revision), {
        description: 'convergence after the restart',
        timeoutMs: 90_000,
      });
      const recreated = await objects.get(jobRef);
      assert.notEqual(recreated?.metadata?.uid, old?.metadata?.uid);
      assert.match(JSON.stringify(recreated?.['spec']), /app:v2/);
      assert.equal(condition(recreated as KubeObject, 'Complete')?.status, 'True');
      const settings = await objects.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace,
        name: 'settings',
      });
      assert.deepEqual(settings?.['data'], { value: '3' }, 'nothing of the commit may be lost');
    });
  },
);
