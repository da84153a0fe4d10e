// An e2e environment for controller tests: a fresh namespace, sluice's CRDs, a real git server, and the
// controllers running in this process and watching only that namespace. Teardown deletes the Flux objects
// while the controllers still run (their finalizers need them), then stops everything.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient, KubeObject } from '../../src/kube/client.ts';
import type { JobRun } from '../../src/api/kustomization.ts';
import { ObjectClient } from '../../src/kube/objects.ts';
import { installCrds } from '../../src/install/install.ts';
import {
  runControllers,
  type ControllerOptions,
  type RunningControllers,
} from '../../src/controllers/run.ts';
import { GitRepositoryApi } from '../../src/api/gitrepository.ts';
import { OCIRepositoryApi } from '../../src/api/ocirepository.ts';
import { KustomizationApi } from '../../src/api/kustomization.ts';
import { createLogger, type Logger } from '../../src/runtime/logger.ts';
import { Writable } from 'node:stream';
import { listWatch } from '../../src/kube/watch.ts';
import { createTestNamespace, deleteTestNamespace, testClient } from './cluster.ts';
import { waitForObject, condition } from '../../dev/cluster.ts';
import { GitServer } from '../../dev/git-server.ts';
import { recordTimeline, type Timeline } from '../../dev/timeline.ts';
import { applyPipeline, seedFiles } from '../../dev/seed.ts';

export interface ControllerEnv {
  /** Set when the environment could not be made safely; tests then skip with this reason. */
  skipReason?: string;
  client: KubeClient;
  objects: ObjectClient;
  namespace: string;
  git: GitServer;
  controllers: RunningControllers;
  /** Stops the controllers and starts them again with the same options, as a controller restart does. */
  restartControllers(): Promise<void>;
}

let crdsInstalled: Promise<void> | undefined;

export interface ControllerEnvOptions {
  /** This exact namespace instead of a fresh one. */
  namespace?: string;
  /** Controller flags, e.g. defaultServiceAccount or noCrossNamespaceRefs. */
  controller?: Partial<ControllerOptions>;
}

/**
 * `prefix` names a fresh namespace; `{ namespace }` asks for that exact one (seed manifests name theirs), which
 * must not exist yet: the controllers would otherwise reconcile someone else's objects in it.
 */
export function useControllerEnv(prefix: string, options: ControllerEnvOptions = {}): ControllerEnv {
  const env = {} as ControllerEnv;
  before(async () => {
    env.client = await testClient();
    env.objects = new ObjectClient(env.client);
    if (options.namespace) {
      const ref = { apiVersion: 'v1', kind: 'Namespace', name: options.namespace };
      const existing = await env.objects.get(ref);
      if (existing && existing.metadata?.labels?.['sluice.dev/e2e'] !== 'true') {
        env.skipReason = `namespace ${options.namespace} already exists on this cluster and is not a test namespace`;
        return;
      }
      if (existing) {
        // Left by an earlier run (perhaps still terminating): let it go first.
        await env.objects.delete(ref);
        await env.objects.waitUntilGone(ref, AbortSignal.timeout(60_000));
      }
      await env.client.create('/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: options.namespace, labels: { 'sluice.dev/e2e': 'true' } },
      });
    }
    crdsInstalled ??= installCrds(env.client, { timeoutMs: 60_000, log: () => undefined });
    await crdsInstalled;
    env.namespace = options.namespace ?? (await createTestNamespace(env.client, prefix));
    env.git = await GitServer.start();
    const start = () =>
      runControllers({
        client: env.client,
        watchNamespace: env.namespace,
        requeueDependencyMs: 1000,
        // SLUICE_TEST_LOG=debug shows the controllers' logs while tests run.
        log: createLogger({ level: process.env.SLUICE_TEST_LOG ?? 'silent' }),
        ...options.controller,
      });
    env.controllers = await start();
    env.restartControllers = async () => {
      await env.controllers.stop();
      env.controllers = await start();
    };
  });
  after(async () => {
    if (!env.client || env.skipReason) return;
    const signal = AbortSignal.timeout(30_000);
    for (const api of [KustomizationApi, GitRepositoryApi, OCIRepositoryApi]) {
      const path = `/apis/${api.group}/${api.version}/namespaces/${env.namespace}/${api.plural}`;
      const list = await env.client.get<{ items: KubeObject[] }>(path);
      for (const item of list.items) {
        const ref = {
          apiVersion: api.apiVersion,
          kind: api.kind,
          namespace: env.namespace,
          name: item.metadata?.name ?? '',
        };
        await env.objects.delete(ref);
        await env.objects.waitUntilGone(ref, signal);
      }
    }
    await env.controllers?.stop();
    await env.git?.stop();
    await deleteTestNamespace(env.client, env.namespace);
    await env.client.close();
  });
  return env;
}

export function gitRepository(
  env: ControllerEnv,
  name: string,
  spec: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: GitRepositoryApi.apiVersion,
    kind: GitRepositoryApi.kind,
    metadata: { name, namespace: env.namespace },
    spec: { url: env.git.url(name), interval: '1m', ref: { branch: 'main' }, ...spec },
  };
}

export function kustomization(env: ControllerEnv, name: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: KustomizationApi.apiVersion,
    kind: KustomizationApi.kind,
    metadata: { name, namespace: env.namespace },
    spec: { interval: '1m', prune: true, sourceRef: { kind: 'GitRepository', name: 'app' }, ...spec },
  };
}

/** Asks for a reconcile now, as `flux reconcile` does: a new reconcile.fluxcd.io/requestedAt value. */
export async function requestReconcile(
  env: ControllerEnv,
  kind: 'GitRepository' | 'OCIRepository' | 'Kustomization',
  name: string,
  value = String(Date.now()),
): Promise<void> {
  const api = {
    GitRepository: GitRepositoryApi,
    OCIRepository: OCIRepositoryApi,
    Kustomization: KustomizationApi,
  }[kind];
  await env.objects.patch(
    { apiVersion: api.apiVersion, kind, namespace: env.namespace, name },
    { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': value } } },
    'application/merge-patch+json',
  );
}

export async function create(env: ControllerEnv, object: KubeObject): Promise<void> {
  await env.objects.apply(object, { fieldManager: 'e2e-test' });
}

export const ksPath = (env: ControllerEnv) =>
  `/apis/${KustomizationApi.group}/${KustomizationApi.version}/namespaces/${env.namespace}/${KustomizationApi.plural}`;

export const gitPath = (env: ControllerEnv) =>
  `/apis/${GitRepositoryApi.group}/${GitRepositoryApi.version}/namespaces/${env.namespace}/${GitRepositoryApi.plural}`;

/** Waits until the Kustomization's Ready condition has `status` (and, if given, `reason`). */
export function waitForReady(
  env: ControllerEnv,
  name: string,
  status: 'True' | 'False',
  reason?: string,
  extra: (ks: KubeObject) => boolean = () => true,
): Promise<KubeObject> {
  return waitForObject(
    env.client,
    ksPath(env),
    name,
    (ks) => {
      const ready = condition(ks, 'Ready');
      return ready?.status === status && (!reason || ready.reason === reason) && extra(ks);
    },
    {
      description: `Kustomization ${name} Ready=${status}${reason ? ` (${reason})` : ''}`,
      timeoutMs: 60_000,
    },
  );
}

/** Waits until a source's Ready condition has `status` (and `extra` holds), on a watch. */
export function waitForSource(
  env: ControllerEnv,
  kind: 'GitRepository' | 'OCIRepository',
  name: string,
  status: 'True' | 'False',
  extra: (source: KubeObject) => boolean = () => true,
): Promise<KubeObject> {
  const api = kind === 'GitRepository' ? GitRepositoryApi : OCIRepositoryApi;
  return waitForObject(
    env.client,
    `/apis/${api.group}/${api.version}/namespaces/${env.namespace}/${api.plural}`,
    name,
    (source) => condition(source, 'Ready')?.status === status && extra(source),
    { description: `${kind} ${name} Ready=${status}` },
  );
}

/** Waits until the Kustomization is Ready, having applied `commit` of branch main. */
export function waitForApplied(env: ControllerEnv, name: string, commit: string): Promise<KubeObject> {
  return waitForReady(
    env,
    name,
    'True',
    'ReconciliationSucceeded',
    (ks) =>
      (ks['status'] as { lastAppliedRevision?: string } | undefined)?.lastAppliedRevision ===
      `main@sha1:${commit}`,
  );
}

interface Event {
  type: string;
  reason: string;
  message: string;
  lastTimestamp: string;
}

/** Waits, on a watch, until an event about the object satisfies `match`, and returns it. */
export async function waitForEvent(
  env: ControllerEnv,
  kind: string,
  name: string,
  match: (event: Event) => boolean,
  description: string,
): Promise<Event> {
  const path = `/api/v1/namespaces/${env.namespace}/events`;
  const fieldSelector = `involvedObject.kind=${kind},involvedObject.name=${name}`;
  const signal = AbortSignal.timeout(30_000);
  for await (const e of listWatch<Event & KubeObject>(env.client, path, { fieldSelector, signal })) {
    if ((e.type === 'ADDED' || e.type === 'MODIFIED') && match(e.object)) return e.object;
  }
  const seen = (await eventsFor(env, kind, name)).map((e) => `${e.type}/${e.reason}: ${e.message}`);
  throw new Error(
    `timed out waiting for an event about ${kind}/${name}: ${description}; events: ${JSON.stringify(seen)}`,
  );
}

/** A debug-level controller logger that keeps every line it writes, for tests that search the log. */
export function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

/**
 * Waits until the Kustomization is Ready=False with `reason` and a message matching `message`, and has a Warning
 * event saying the same; returns the Kustomization.
 */
export async function waitForRefusal(
  env: ControllerEnv,
  name: string,
  reason: string,
  message: RegExp,
): Promise<KubeObject> {
  const ks = await waitForReady(env, name, 'False', reason);
  assert.match(condition(ks, 'Ready')?.message ?? '', message);
  const warning = await waitForEvent(env, 'Kustomization', name, (e) => e.type === 'Warning', 'a Warning');
  assert.match(warning.message, message);
  return ks;
}

/** The events recorded about an object in the environment's namespace, oldest first. */
export async function eventsFor(
  env: ControllerEnv,
  kind: string,
  name: string,
): Promise<{ type: string; reason: string; message: string }[]> {
  const list = await env.client.get<{
    items: { type: string; reason: string; message: string; lastTimestamp: string }[];
  }>(`/api/v1/namespaces/${env.namespace}/events`, {
    fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}`,
  });
  return list.items.sort((a, b) => a.lastTimestamp.localeCompare(b.lastTimestamp));
}

/** A Kustomization's run ledger (status.jobRuns), newest first. */
export const jobRunsOf = (ks: KubeObject): JobRun[] =>
  (ks['status'] as { jobRuns?: JobRun[] } | undefined)?.jobRuns ?? [];

/** A watch timeline of the environment's namespace (dev/timeline.ts), recorded for the whole suite. */
export function useTimeline(env: ControllerEnv): Timeline {
  let recording: Timeline | undefined;
  before(() => {
    recording = recordTimeline(env.client, env.namespace);
  });
  after(() => recording?.stop());
  return {
    get moments() {
      return recording?.moments ?? [];
    },
    get error() {
      return recording?.error;
    },
    stop: () => recording?.stop(),
  };
}

/**
 * Seed 001 in the suite's namespace: `files` (default: the seed as written) as the repository `my-app` on the
 * suite's git server, and its GitRepository and three Kustomizations applied unmodified. Returns the files.
 */
export async function applySeed(
  env: ControllerEnv,
  options: { files?: Record<string, string>; targetNamespace?: string } = {},
): Promise<Record<string, string>> {
  const files = options.files ?? (await seedFiles());
  await env.git.createRepo('my-app', files);
  await applyPipeline(env.objects, files, {
    namespace: env.namespace,
    gitUrl: env.git.url('my-app'),
    fieldManager: 'e2e-test',
    targetNamespace: options.targetNamespace,
  });
  return files;
}
