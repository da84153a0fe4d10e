// Flux's own controllers beside sluice, on a cluster of their own (they need Flux's CRDs for kinds sluice does not
// serve): Flux's kustomize-controller reconciles a Kustomization from a sluice GitRepository, fetching the
// artifact over HTTP from sluice's storage server as it would from source-controller; and Flux's
// notification-controller, fed by sluice's --events-addr, sends seed 001's failing migration to a generic
// Provider (a local HTTP receiver) through an Alert on Kustomizations.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { ownClusters, waitForObject, condition } from '../../dev/cluster.ts';
import { GitServer } from '../../dev/git-server.ts';
import { ensureFluxControllers, fluxControllerDir, type FluxController } from '../../dev/flux.ts';
import { seedFiles, applyPipeline, release } from '../../dev/seed.ts';
import { KubeClient, type KubeObject } from '../../src/kube/client.ts';
import { ObjectClient } from '../../src/kube/objects.ts';
import { installCrds } from '../../src/install/install.ts';
import { runControllers, type RunningControllers } from '../../src/controllers/run.ts';
import { GitRepositoryApi } from '../../src/api/gitrepository.ts';
import { KustomizationApi } from '../../src/api/kustomization.ts';
import { collectionPath } from '../../src/api/meta.ts';
import type { FluxEvent } from '../../src/runtime/events.ts';

const cluster = ownClusters.fluxControllers;
/** Ports of this suite's own, on the cluster's slot: notification-controller's event and receiver servers. */
const eventsPort = 28901;
const receiverPort = 28902;
const sources = 'sluice-sources';
const apps = 'flux-apps';

describe("Flux's controllers beside sluice", () => {
  let client: KubeClient;
  let objects: ObjectClient;
  let git: GitServer;
  let sluice: RunningControllers;
  const flux: ChildProcess[] = [];
  const fluxOutput: string[] = [];
  let receiver: http.Server;
  const received: FluxEvent[] = [];

  /** Starts one of Flux's controllers as a process on this cluster, with `env`. */
  async function startFlux(name: FluxController, args: string[], env: Record<string, string>): Promise<void> {
    const binary = path.join(await fluxControllerDir(name), name);
    // Flux's controllers read the kubeconfig from $KUBECONFIG (they take no --kubeconfig flag).
    const child = spawn(binary, ['--metrics-addr=127.0.0.1:0', '--health-addr=127.0.0.1:0', ...args], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfig, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => fluxOutput.push(`[${name}] ${chunk}`));
    child.on('exit', (code) => fluxOutput.push(`[${name}] exited with ${code}\n`));
    flux.push(child);
  }

  /** Applies the CRDs a Flux controller's module ships, but never over sluice's own. */
  async function applyFluxCrds(name: FluxController, files: (file: string) => boolean): Promise<void> {
    const dir = path.join(await fluxControllerDir(name), 'crds');
    for (const file of (await readdir(dir)).filter(files)) {
      const crd = parse(await readFile(path.join(dir, file), 'utf8')) as KubeObject;
      await objects.apply(crd, { fieldManager: 'e2e-test' });
    }
  }

  before(async () => {
    await ensureFluxControllers(['kustomize-controller', 'notification-controller'], (l) =>
      process.stderr.write(`${l}\n`),
    );
    await ensureFluxControllers(['source-controller'], (l) => process.stderr.write(`${l}\n`), { crds: true });
    // A fresh cluster: one a killed run left behind goes first.
    if (cluster.started) await cluster.down();
    await cluster.up();
    client = await KubeClient.load({ kubeconfig: cluster.kubeconfig });
    objects = new ObjectClient(client);
    await installCrds(client, { timeoutMs: 60_000, log: () => undefined });
    await applyFluxCrds('source-controller', (f) => /buckets|ocirepositories|externalartifacts/.test(f));
    await applyFluxCrds('kustomize-controller', () => false); // sluice's Kustomization CRD serves Flux's controller
    await applyFluxCrds('notification-controller', () => true);
    for (const name of [sources, apps]) {
      await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
    receiver = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push(JSON.parse(body) as FluxEvent);
        res.writeHead(200).end();
        receiver.emit('flux-event');
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    git = await GitServer.start();
    sluice = await runControllers({
      client,
      watchNamespace: sources,
      requeueDependencyMs: 1000,
      storageAddr: '127.0.0.1:0',
      eventsAddr: `http://127.0.0.1:${eventsPort}/`,
    });
    // Sharded as Flux shards: it reconciles only the Kustomizations labelled for it, and reads sources anywhere.
    await startFlux('kustomize-controller', ['--watch-label-selector=sharding.fluxcd.io/key=flux'], {});
    await startFlux(
      'notification-controller',
      [`--events-addr=127.0.0.1:${eventsPort}`, `--receiverAddr=127.0.0.1:${receiverPort}`],
      { RUNTIME_NAMESPACE: sources },
    );
  });

  after(async () => {
    const running = flux.filter((child) => child.exitCode === null && child.signalCode === null);
    for (const child of running) child.kill('SIGTERM');
    await Promise.all(running.map((child) => once(child, 'exit')));
    await sluice?.stop();
    await git?.stop();
    receiver?.close();
    await client?.close();
    await cluster.down();
  });

  const waitFor = (
    api: typeof GitRepositoryApi | typeof KustomizationApi,
    namespace: string,
    name: string,
    done: (o: KubeObject) => boolean,
    description: string,
  ) =>
    waitForObject(client, collectionPath(api, namespace), name, done, {
      description,
      timeoutMs: 90_000,
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}\nFlux's controllers said:\n${fluxOutput.join('').slice(-4000)}`);
    });

  it("Flux's kustomize-controller applies a sluice GitRepository's artifact, fetched over HTTP", async () => {
    await git.createRepo('app', {
      'settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n',
    });
    await objects.apply(
      {
        apiVersion: GitRepositoryApi.apiVersion,
        kind: GitRepositoryApi.kind,
        metadata: { name: 'app', namespace: sources },
        spec: { url: git.url('app'), interval: '1m', ref: { branch: 'main' } },
      },
      { fieldManager: 'e2e-test' },
    );
    const repo = await waitFor(
      GitRepositoryApi,
      sources,
      'app',
      (o) => condition(o, 'Ready')?.status === 'True',
      'the GitRepository Ready',
    );
    const artifact = (
      repo['status'] as {
        artifact: { url: string; digest: string; size: number; revision: string; path: string };
      }
    ).artifact;
    assert.equal(artifact.url, `http://${sluice.storageAddress}/${artifact.path}`);
    assert.match(artifact.path, /^gitrepository\/sluice-sources\/app\/[0-9a-f]{40}\.tar\.gz$/);
    const download = await fetch(artifact.url);
    assert.equal(download.status, 200);
    const bytes = Buffer.from(await download.arrayBuffer());
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, artifact.digest);
    assert.equal(bytes.length, artifact.size);
    assert.equal((await fetch(`http://${sluice.storageAddress}/gitrepository/../../etc/passwd`)).status, 404);

    await objects.apply(
      {
        apiVersion: KustomizationApi.apiVersion,
        kind: KustomizationApi.kind,
        metadata: { name: 'from-sluice', namespace: apps, labels: { 'sharding.fluxcd.io/key': 'flux' } },
        spec: {
          interval: '1m',
          prune: true,
          path: './',
          targetNamespace: apps,
          sourceRef: { kind: 'GitRepository', name: 'app', namespace: sources },
        },
      },
      { fieldManager: 'e2e-test' },
    );
    const ks = await waitFor(
      KustomizationApi,
      apps,
      'from-sluice',
      (o) =>
        condition(o, 'Ready')?.status === 'True' &&
        (o['status'] as { lastAppliedRevision?: string }).lastAppliedRevision !== undefined,
      "Flux's Kustomization Ready, its revision applied",
    );
    assert.equal(
      (ks['status'] as { lastAppliedRevision?: string }).lastAppliedRevision,
      artifact.revision,
      JSON.stringify(ks['status']),
    );
    const applied = await objects.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: apps,
      name: 'settings',
    });
    assert.equal((applied?.['data'] as Record<string, string> | undefined)?.['color'], 'blue');
    assert.equal(applied?.metadata?.labels?.['kustomize.toolkit.fluxcd.io/name'], 'from-sluice');
  });

  it("Flux's notification-controller alerts on seed 001's failing migration, from sluice's events", async () => {
    const notification = (kind: string, name: string, spec: Record<string, unknown>): KubeObject => ({
      apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
      kind,
      metadata: { name, namespace: sources },
      spec,
    });
    const address = receiver.address() as AddressInfo;
    await objects.apply(
      notification('Provider', 'receiver', {
        type: 'generic',
        address: `http://127.0.0.1:${address.port}/hook`,
      }),
      { fieldManager: 'e2e-test' },
    );
    await objects.apply(
      notification('Alert', 'pipeline', {
        providerRef: { name: 'receiver' },
        eventSeverity: 'error',
        eventSources: [{ kind: 'Kustomization', name: '*' }],
      }),
      { fieldManager: 'e2e-test' },
    );
    const files = await seedFiles();
    const failing = release(files, 'v1.0.1');
    failing['pre-deploy/migration.job.yaml'] = (failing['pre-deploy/migration.job.yaml'] ?? '').replace(
      'spec:\n  template:\n    spec:',
      'spec:\n  backoffLimit: 0\n  template:\n    metadata:\n      labels:\n        pod-container-running-failed.stage.kwok.x-k8s.io: "true"\n    spec:',
    );
    await git.createRepo('my-app', { ...files, ...failing });
    await applyPipeline(
      objects,
      { ...files, ...failing },
      { namespace: sources, gitUrl: git.url('my-app'), fieldManager: 'e2e-test' },
    );
    const pre = await waitFor(
      KustomizationApi,
      sources,
      'app-pre-deploy',
      (o) => condition(o, 'Ready')?.reason === 'HealthCheckFailed',
      'the migration failed',
    );
    const revision = (pre['status'] as { lastAttemptedRevision: string }).lastAttemptedRevision;

    const arrived = () =>
      received.some((e) => e.involvedObject.name === 'app-pre-deploy' && e.severity === 'error');
    const deadline = AbortSignal.timeout(60_000);
    while (!arrived()) {
      await once(receiver, 'flux-event', { signal: deadline }).catch(() => {
        throw new Error(
          `no alert arrived within 60s; received ${JSON.stringify(received)}\n${fluxOutput.join('').slice(-4000)}`,
        );
      });
    }
    const alert = received.find(
      (e) => e.involvedObject.name === 'app-pre-deploy' && e.severity === 'error',
    ) as FluxEvent;
    assert.equal(alert.involvedObject.kind, 'Kustomization');
    assert.equal(alert.involvedObject.namespace, sources);
    assert.equal(alert.reason, 'HealthCheckFailed');
    assert.equal(alert.message, condition(pre, 'Ready')?.message);
    assert.match(
      alert.message,
      /db-migration status: 'Failed'\]: pod db-migration-[a-z0-9]{5} container migration exited 1/,
    );
    assert.equal(alert.reportingController, 'kustomize-controller');
    assert.equal(Object.entries(alert.metadata ?? {}).find(([k]) => k.endsWith('revision'))?.[1], revision);
    // eventSeverity error: the Normal events of the same pipeline were not sent.
    assert.deepEqual(
      received.filter((e) => e.severity !== 'error'),
      [],
    );
  });
});
