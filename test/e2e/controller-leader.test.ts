// Two `sluice controller` replicas with leader election, as a Deployment with two pods runs them: one holds
// the Lease and reconciles, the other stands by; killing the leader hands the Lease and the work over. Both
// serve /metrics and the probes.
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
import type { KubeClient, KubeObject } from '../../src/kube/client.ts';
import type { Lease } from '../../src/runtime/leaderelection.ts';

interface LogLine {
  msg: string;
  address?: string;
  identity?: string;
  [key: string]: unknown;
}

/** One `sluice controller` process and what it has logged so far. */
class Replica {
  readonly process: ChildProcess;
  private output = '';

  constructor(namespace: string) {
    this.process = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'src/cli/main.ts'),
        'controller',
        '--kubeconfig',
        testKubeconfig(),
        '--watch-all-namespaces=false',
        '--enable-leader-election',
        '--leader-election-lease-duration=4s',
        '--leader-election-renew-deadline=3s',
        '--leader-election-retry-period=1s',
        '--metrics-addr=127.0.0.1:0',
        '--health-addr=127.0.0.1:0',
        '--storage-addr=127.0.0.1:0',
      ],
      { env: { ...process.env, RUNTIME_NAMESPACE: namespace }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.process.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /** exitCode stays null for a process killed by a signal. */
  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  get logs(): string {
    return this.output;
  }

  lines(): LogLine[] {
    return this.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  }

  logged(msg: string): LogLine | undefined {
    return this.lines().find((l) => l.msg === msg);
  }

  async waitForLog(msg: string, timeoutMs = 30_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logged(msg);
      if (line) return line;
      if (!this.running) throw new Error(`exited before logging "${msg}":\n${this.logs}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for "${msg}":\n${this.logs}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async address(server: 'serving metrics' | 'serving health probes'): Promise<string> {
    const line = await this.waitForLog(server);
    assert.ok(line.address, this.logs);
    return line.address;
  }

  async identity(): Promise<string> {
    const line = await this.waitForLog('attempting to acquire leader lease');
    assert.ok(line.identity, this.logs);
    return line.identity;
  }

  async get(server: 'serving metrics' | 'serving health probes', route: string): Promise<Response> {
    return fetch(`http://${await this.address(server)}${route}`);
  }

  async metrics(): Promise<string> {
    return (await this.get('serving metrics', '/metrics')).text();
  }

  stop(signal: NodeJS.Signals): Promise<unknown[]> {
    const exited = once(this.process, 'exit');
    this.process.kill(signal);
    return exited;
  }
}

/** Polls until `check` passes, so assertions on metrics fed by watch events do not race them. */
async function eventually(check: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describe('sluice controller with leader election (two processes)', () => {
  let client: KubeClient;
  let objects: ObjectClient;
  let namespace: string;
  let git: GitServer;
  let first: string;
  const replicas: Replica[] = [];

  const leasePath = () =>
    `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/sluice-controller-leader-election`;
  const ksPath = () => `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${namespace}/kustomizations`;
  const configMap = () => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'settings' });
  const configMapFile = (color: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: ${color}\n`;

  before(async () => {
    client = await testClient();
    objects = new ObjectClient(client);
    await installCrds(client, { timeoutMs: 60_000, log: () => undefined });
    namespace = await createTestNamespace(client, 'e2e-leader');
    git = await GitServer.start();
    first = await git.createRepo('app', { 'cm.yaml': configMapFile('blue') });
    replicas.push(new Replica(namespace), new Replica(namespace));
  });

  after(async () => {
    for (const replica of replicas) if (replica.running) await replica.stop('SIGKILL');
    await git?.stop();
    await deleteTestNamespace(client, namespace);
    await client.close();
  });

  it('runs the controllers in the lease holder only, and hands over to the standby when the leader dies', async () => {
    const identities = await Promise.all(replicas.map((r) => r.identity()));
    const holder = async () => (await client.get<Lease>(leasePath())).spec?.holderIdentity;
    await eventually(async () => assert.ok(identities.includes((await holder()) ?? '')));
    const leaderIndex = identities.indexOf((await holder()) ?? '');
    const leader = replicas[leaderIndex] as Replica;
    const standby = replicas[1 - leaderIndex] as Replica;
    await leader.waitForLog('controllers started');
    assert.equal(standby.logged('successfully acquired lease'), undefined, standby.logs);
    assert.equal(standby.logged('controllers started'), undefined, standby.logs);
    for (const replica of replicas) {
      assert.equal((await replica.get('serving health probes', '/healthz')).status, 200);
      // A healthy standby is ready too: a rollout must not wait for it to lead.
      assert.equal((await replica.get('serving health probes', '/readyz')).status, 200);
    }

    await objects.apply(
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'GitRepository',
        metadata: { name: 'app', namespace },
        spec: { url: git.url('app'), interval: '1m', ref: { branch: 'main' } },
      },
      { fieldManager: 'e2e-test' },
    );
    await objects.apply(
      {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'app', namespace },
        spec: { interval: '1m', prune: true, sourceRef: { kind: 'GitRepository', name: 'app' } },
      },
      { fieldManager: 'e2e-test' },
    );
    const isReadyAt = (revision: string) => (ks: KubeObject) =>
      condition(ks, 'Ready')?.status === 'True' &&
      (ks['status'] as { lastAppliedRevision?: string }).lastAppliedRevision === revision;
    await waitForObject(client, ksPath(), 'app', isReadyAt(`main@sha1:${first}`), {
      description: 'Kustomization app Ready at the first revision',
      timeoutMs: 60_000,
    });
    assert.deepEqual((await objects.get(configMap()))?.['data'], { color: 'blue' });

    const series = `{kind="Kustomization",name="app",namespace="${namespace}"`;
    const queue = '{name="kustomization",controller="kustomization"}';
    const assertMetrics = async (replica: Replica) => {
      const text = await replica.metrics();
      assert.match(text, new RegExp(`^gotk_reconcile_duration_seconds_count${series}} [1-9]`, 'm'));
      assert.ok(text.includes(`gotk_reconcile_condition${series},type="Ready",status="True"} 1\n`), text);
      assert.ok(text.includes(`gotk_reconcile_condition${series},type="Ready",status="False"} 0\n`), text);
      assert.match(text, new RegExp(`^workqueue_adds_total${queue.replace(/[{}]/g, '\\$&')} [1-9]`, 'm'));
      assert.ok(text.includes('leader_election_master_status{name="sluice-controller-leader-election"} 1\n'));
    };
    await eventually(() => assertMetrics(leader));
    assert.doesNotMatch(await standby.metrics(), /^gotk_reconcile_duration_seconds_count/m);

    // A Kustomization that depends on itself is stalled: a terminal error in the metrics, not a success.
    await objects.apply(
      {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'loop', namespace },
        spec: {
          interval: '1m',
          prune: true,
          sourceRef: { kind: 'GitRepository', name: 'app' },
          dependsOn: [{ name: 'loop' }],
        },
      },
      { fieldManager: 'e2e-test' },
    );
    await waitForObject(
      client,
      ksPath(),
      'loop',
      (ks) => condition(ks, 'Stalled')?.reason === 'DependencyCycle',
      {
        description: 'Kustomization loop Stalled by its dependency cycle',
      },
    );
    const terminal = 'controller_runtime_terminal_reconcile_errors_total{controller="kustomization"}';
    await eventually(async () =>
      assert.match(await leader.metrics(), new RegExp(`^${terminal.replace(/[{}]/g, '\\$&')} [1-9]`, 'm')),
    );

    // The leader dies without releasing the lease: the standby waits out the lease duration, then leads.
    const [, killSignal] = await leader.stop('SIGKILL');
    assert.equal(killSignal, 'SIGKILL');
    const second = await git.commit('app', { 'cm.yaml': configMapFile('green') }, 'green');
    await objects.patch(
      { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace, name: 'app' },
      { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': String(Date.now()) } } },
      'application/merge-patch+json',
    );
    await standby.waitForLog('controllers started', 30_000);
    const lease = await client.get<Lease>(leasePath());
    assert.equal(lease.spec?.holderIdentity, identities[1 - leaderIndex]);
    assert.equal(lease.spec?.leaseTransitions, 1);
    await waitForObject(client, ksPath(), 'app', isReadyAt(`main@sha1:${second}`), {
      description: 'Kustomization app Ready at the second revision, applied by the new leader',
      timeoutMs: 60_000,
    });
    assert.deepEqual((await objects.get(configMap()))?.['data'], { color: 'green' });
    await eventually(() => assertMetrics(standby));

    // Delete while a controller runs, so the finalizers are handled and the namespace can go.
    for (const ref of [
      { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace, name: 'loop' },
      { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace, name: 'app' },
      { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace, name: 'app' },
    ]) {
      await objects.delete(ref);
      await objects.waitUntilGone(ref, AbortSignal.timeout(30_000));
    }

    // A clean shutdown hands the lease back, so a next replica need not wait out its duration.
    const [code] = await standby.stop('SIGTERM');
    assert.equal(code, 0, standby.logs);
    const released = await client.get<Lease>(leasePath());
    assert.equal(released.spec?.holderIdentity, '');
    assert.equal(released.spec?.leaseDurationSeconds, 1);
    assert.equal(standby.lines().at(-1)?.msg, 'stopped');
  });

  it('exits with 1 when it cannot renew its lease, so Kubernetes restarts it as a standby', async () => {
    const replica = new Replica(namespace);
    replicas.push(replica);
    await replica.waitForLog('controllers started');
    // Another holder (one that saw this replica as gone, say) now owns the lease: every renewal is refused.
    const lease = await client.get<Lease>(leasePath());
    await client.request('PUT', leasePath(), {
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 60 } },
    });
    const [code] = await once(replica.process, 'exit');
    assert.equal(code, 1, replica.logs);
    assert.ok(replica.logged('leader election lost'), replica.logs);
  });
});
