// `npm run demo`: sluice's main job on the local cluster. It starts the control plane (building it the first
// time), serves seed 001's repository from a local git server, runs the controllers, applies the seed's three
// Kustomizations unmodified, and prints the pipeline as it moves: the migration Job, then the app, then the
// post-deploy Job. Then it releases a new image tag and shows both Jobs run again, in order.
//
//   npm run demo [-- --keep]     --keep leaves the cluster, the controllers and the git server running
import { execFile } from 'node:child_process';
import { promisify, parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { KubeClient, ContentType, type KubeObject } from '../src/kube/client.ts';
import { ObjectClient } from '../src/kube/objects.ts';
import { installCrds } from '../src/cli/install.ts';
import { runControllers } from '../src/controllers/run.ts';
import { createLogger } from '../src/runtime/logger.ts';
import { GitServer } from '../test/support/git-server.ts';
import { readTree } from '../test/support/files.ts';
import { repoRoot, localKubeconfig, waitForObject, condition } from '../test/support/cluster.ts';

const run = promisify(execFile);
const namespace = 'sluice-demo';
const seed = path.join(repoRoot, 'test/fixtures/seed-001');
const stages = [
  { stage: 'pre-deploy', kustomization: 'app-pre-deploy' },
  { stage: 'deploy', kustomization: 'app-deploy' },
  { stage: 'post-deploy', kustomization: 'app-post-deploy' },
];

const started = performance.now();
const elapsed = () => `+${((performance.now() - started) / 1000).toFixed(1)}s`.padStart(8);
const say = (line: string) => process.stdout.write(`${line}\n`);
/** Commit hashes cut to 8 characters, as flux prints revisions. */
const short = (revision: string) => revision.replace(/([0-9a-f]{8})[0-9a-f]{32,120}/g, '$1');
const step = (stage: string, subject: string, state: string) =>
  say(`${elapsed()}  ${stage.padEnd(12)} ${subject.padEnd(34)} ${state}`);

/** Prints each Job, Deployment and Kustomization change of the namespace as one line, as it happens. */
function follow(client: KubeClient): AbortController {
  const abort = new AbortController();
  const stageOf = (o: KubeObject) => {
    const owner = o.metadata?.labels?.['kustomize.toolkit.fluxcd.io/name'];
    return stages.find((s) => s.kustomization === (owner ?? o.metadata?.name))?.stage ?? '';
  };
  const last = new Map<string, string>();
  const show = (o: KubeObject, subject: string, state: string) => {
    if (!state || last.get(subject) === state) return;
    last.set(subject, state);
    step(stageOf(o), subject, state);
  };
  const describe: Record<string, (o: KubeObject) => string> = {
    Job: (o) => {
      if (condition(o, 'Complete')?.status === 'True') return 'Complete ✔';
      if (condition(o, 'Failed')?.status === 'True')
        return `Failed ✗ ${condition(o, 'Failed')?.message ?? ''}`;
      return (o['status'] as { startTime?: string } | undefined)?.startTime ? 'Running' : 'Created';
    },
    Deployment: (o) => {
      const spec = o['spec'] as {
        replicas?: number;
        template?: { spec?: { containers?: { image?: string }[] } };
      };
      const status = (o['status'] ?? {}) as {
        updatedReplicas?: number;
        replicas?: number;
        observedGeneration?: number;
      };
      const image = spec.template?.spec?.containers?.[0]?.image?.split(':').pop();
      // A status written for the previous generation says nothing about the new image yet.
      const rolled =
        status.observedGeneration === o.metadata?.generation &&
        condition(o, 'Available')?.status === 'True' &&
        status.updatedReplicas === spec.replicas &&
        status.replicas === spec.replicas;
      return rolled ? `${image} Available ✔ (${spec.replicas} replicas)` : `${image} rolling out`;
    },
    Kustomization: (o) => {
      const ready = condition(o, 'Ready');
      const progress = condition(o, 'Reconciling')?.message ?? '';
      const applied =
        (o['status'] as { lastAppliedRevision?: string } | undefined)?.lastAppliedRevision ?? '';
      if (ready?.status === 'True') return `Ready ✔ applied ${short(applied)}`;
      if (ready?.reason === 'DependencyNotReady') return 'waiting for its dependency';
      if (ready?.message?.startsWith('Source artifact not found')) return 'waiting for the source';
      if (ready?.status === 'False') return `Ready ✗ ${ready.message}`;
      if (progress.startsWith('Detecting drift')) return `applying ${short(progress.split(' ')[4] ?? '')}`;
      if (progress.startsWith('Running health checks')) return 'applied, waiting for health checks';
      return '';
    },
  };
  const collections: [string, string][] = [
    ['Kustomization', `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${namespace}/kustomizations`],
    ['Job', `/apis/batch/v1/namespaces/${namespace}/jobs`],
    ['Deployment', `/apis/apps/v1/namespaces/${namespace}/deployments`],
  ];
  for (const [kind, collection] of collections) {
    void (async () => {
      try {
        for await (const e of client.watch(collection, {}, abort.signal)) {
          if (e.type === 'BOOKMARK' || e.type === 'DELETED') continue;
          show(e.object, `${kind}/${e.object.metadata?.name}`, describe[kind]?.(e.object) ?? '');
        }
      } catch (error) {
        if (!abort.signal.aborted) say(`(stopped following ${kind}s: ${String(error)})`);
      }
    })();
  }
  return abort;
}

async function waitPipeline(client: KubeClient, revision?: string): Promise<KubeObject[]> {
  const done: KubeObject[] = [];
  for (const { kustomization } of stages) {
    done.push(
      await waitForObject(
        client,
        `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${namespace}/kustomizations`,
        kustomization,
        (o) => {
          const applied = (o['status'] as { lastAppliedRevision?: string } | undefined)?.lastAppliedRevision;
          return condition(o, 'Ready')?.status === 'True' && (revision ? applied === revision : !!applied);
        },
        {
          description: `${kustomization} to apply ${revision ?? 'the first revision'}`,
          timeoutMs: 5 * 60_000,
        },
      ),
    );
  }
  return done;
}

function summary(rows: { release: string; seconds: string; jobs: string }[]): void {
  const header = ['release', 'pipeline time', 'Jobs run (migration, post-deploy)'];
  const table = [header, ...rows.map((r) => [r.release, r.seconds, r.jobs])];
  const widths = header.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length)));
  say('');
  for (const [i, row] of table.entries()) {
    say(`  ${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('   ')}`);
    if (i === 0) say(`  ${widths.map((w) => '-'.repeat(w)).join('   ')}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false } } });
  const clusterWasUp = existsSync(path.join(repoRoot, '.cluster', 'pids'));
  say('sluice demo: ordered Jobs around a deployment, on a real local Kubernetes control plane\n');
  say('▶ starting the local cluster (the first run builds it from source, which takes a while)');
  await run('bash', [path.join(repoRoot, 'scripts/cluster/up.sh')]).catch((error: { stderr?: string }) => {
    throw new Error(`the local cluster did not start:\n${error.stderr ?? String(error)}`);
  });
  const client = await KubeClient.load({ kubeconfig: localKubeconfig });
  const objects = new ObjectClient(client);
  const git = await GitServer.start();
  const controllers = await runControllers({
    client,
    log: createLogger({ level: 'silent' }),
    watchNamespace: namespace,
  });
  let following: AbortController | undefined;
  try {
    await installCrds(client, { timeoutMs: 60_000, log: () => undefined });
    const repo = await readTree(seed);
    await git.createRepo('my-app', repo);
    await objects.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
      { fieldManager: 'sluice-demo' },
    );
    say(`▶ a git repository with the seed's layout: ${git.url('my-app')}`);
    say(
      `▶ applying flux/pre-deploy.yaml, flux/deploy.yaml, flux/post-deploy.yaml unmodified in namespace ${namespace}\n`,
    );
    following = follow(client);
    const apply = (o: KubeObject) =>
      objects.apply({ ...o, metadata: { ...o.metadata, namespace } }, { fieldManager: 'sluice-demo' });
    await apply({
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'my-app' },
      spec: { url: git.url('my-app'), interval: '1m', ref: { branch: 'main' } },
    });
    const firstAt = performance.now();
    for (const f of ['flux/pre-deploy.yaml', 'flux/deploy.yaml', 'flux/post-deploy.yaml']) {
      await apply(YAML.parse(repo[f] ?? '') as KubeObject);
    }
    await waitPipeline(client);
    const firstSeconds = ((performance.now() - firstAt) / 1000).toFixed(1);
    const uids = async () =>
      Promise.all(
        ['db-migration', 'cache-refresh'].map(
          async (name) =>
            (await objects.get({ apiVersion: 'batch/v1', kind: 'Job', namespace, name }))?.metadata?.uid,
        ),
      );
    const before = await uids();

    say(
      '\n▶ releasing v1.0.1: one commit bumps the image tag in the migration Job, the Deployment and the cache Job\n',
    );
    const bumped = Object.fromEntries(
      Object.entries(repo)
        .filter(([f]) => !f.startsWith('flux/'))
        .map(([f, text]) => [f, text.replaceAll('my-app:v1.0.0', 'my-app:v1.0.1')]),
    );
    const commit = await git.commit('my-app', bumped, 'release v1.0.1');
    const releaseAt = performance.now();
    await objects.patch(
      { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace, name: 'my-app' },
      { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': commit } } },
      ContentType.mergePatch,
    );
    await waitPipeline(client, `main@sha1:${commit}`);
    const releaseSeconds = ((performance.now() - releaseAt) / 1000).toFixed(1);
    const after = await uids();
    following.abort();
    summary([
      { release: 'v1.0.0 (first sync)', seconds: `${firstSeconds}s`, jobs: 'both ran' },
      {
        release: 'v1.0.1 (image bump)',
        seconds: `${releaseSeconds}s`,
        jobs: after.every((uid, i) => uid !== before[i])
          ? 'both ran again (recreated by force)'
          : 'NOT re-run',
      },
    ]);
    say('\nEach stage started the moment the one before it was healthy: no polling between stages.');
    if (values.keep) {
      say(
        `\n--keep: left running. KUBECONFIG=${localKubeconfig}; namespace ${namespace}; git ${git.url('my-app')}`,
      );
      say(
        'Press Ctrl-C to stop the controllers and the git server (the cluster stays up: npm run cluster:down).',
      );
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    following?.abort();
    // Delete while the controllers run: their finalizers prune what the demo created.
    await objects.delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace }).catch(() => false);
    await objects
      .waitUntilGone({ apiVersion: 'v1', kind: 'Namespace', name: namespace }, AbortSignal.timeout(60_000))
      .catch(() => undefined);
    await controllers.stop();
    await git.stop();
    await client.close();
    if (!clusterWasUp && !values.keep) {
      say('▶ stopping the local cluster the demo started');
      await run('bash', [path.join(repoRoot, 'scripts/cluster/down.sh')]);
    }
  }
}

await main().catch((error: unknown) => {
  process.stderr.write(`✗ ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
