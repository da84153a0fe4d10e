// `npm run demo`: sluice's main job on the local cluster. It starts the control plane (building it the first
// time), serves seed 001's repository from a local git server, installs sluice's CRDs, runs the controllers,
// applies the seed's three Kustomizations unmodified, and prints the pipeline as it moves: the migration Job,
// then the app, then the post-deploy Job. Then it releases a new image tag and shows both Jobs run again, in
// order. Whatever fails (or Ctrl-C) is named, and what the demo started is stopped before it exits.
//
//   npm run demo [-- --keep] [-- --ui] [-- --git-port N]
//     --keep        leave the cluster, the controllers and the git server running until Ctrl-C
//     --ui          serve `sluice ui` on the demo's namespace while the pipeline runs, and open it in a browser
//     --git-port N  serve the repository on this port (default: any free one)
//   SLUICE_CLUSTER_DIR and the SLUICE_*_PORT variables choose the local cluster, as for `npm run cluster:up`.
import { parseArgs } from 'node:util';
import { KubeClient, ContentType } from '../src/kube/client.ts';
import { ObjectClient } from '../src/kube/objects.ts';
import { followPipelines } from '../src/pipeline/follow.ts';
import { startUi } from '../src/ui/server.ts';
import { openBrowser } from '../src/ui/open.ts';
import { installCrds } from '../src/install/install.ts';
import { removeFinalizers } from '../src/install/uninstall.ts';
import { runControllers } from '../src/controllers/run.ts';
import { createLogger } from '../src/runtime/logger.ts';
import { Annotation } from '../src/api/meta.ts';
import { GitRepositoryApi } from '../src/api/gitrepository.ts';
import { GitServer } from './git-server.ts';
import { LocalCluster } from './cluster.ts';
import { applyPipeline, release, seedFiles, stages, waitForPipeline } from './seed.ts';
import { Steps } from './steps.ts';

const namespace = 'sluice-demo';
const fieldManager = 'sluice-demo';
const pipelineTimeoutMs = 5 * 60_000;

/** The pipeline's clock: it starts when the pipeline is applied, so that a first build does not count. */
let started = performance.now();
const elapsed = () => `+${((performance.now() - started) / 1000).toFixed(1)}s`.padStart(8);
const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** Prints each Job, Deployment and Kustomization change of the namespace as one line, as it happens. */
function follow(client: KubeClient, signal: AbortSignal): void {
  const stageOf = (kustomization: string) =>
    stages.find((s) => s.kustomization === kustomization)?.stage ?? '';
  followPipelines(
    client,
    namespace,
    (change) =>
      say(
        `${elapsed()}  ${stageOf(change.kustomization).padEnd(12)} ${change.subject.padEnd(34)} ${change.state}`,
      ),
    { signal, onError: (kind, error) => say(`(stopped following ${kind}s: ${String(error)})`) },
  );
}

const namespaceRef = { apiVersion: 'v1', kind: 'Namespace', name: namespace };

async function deleteNamespace(objects: ObjectClient): Promise<void> {
  for await (const removal of removeFinalizers(objects.client, { namespace })) {
    if ('failure' in removal) throw new Error(removal.failure);
  }
  await objects.delete(namespaceRef);
  await objects.waitUntilGone(namespaceRef, AbortSignal.timeout(60_000));
}

function summary(rows: { release: string; seconds: string; jobs: string }[]): void {
  const header = ['release', 'pipeline time', 'Jobs run (migration, post-deploy)'];
  const table = [header, ...rows.map((r) => [r.release, r.seconds, r.jobs])];
  const widths = header.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length)));
  say('');
  for (const [i, row] of table.entries()) {
    say(`  ${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('   ')}`.trimEnd());
    if (i === 0) say(`  ${widths.map((w) => '-'.repeat(w)).join('   ')}`);
  }
}

async function demo(steps: Steps, options: { keep: boolean; ui: boolean; gitPort?: number }): Promise<void> {
  const cluster = LocalCluster.fromEnvironment();
  const ownCluster = !cluster.started;
  say('sluice demo: ordered Jobs around a deployment, on a real local Kubernetes control plane\n');

  // First what needs nothing else, so that a port already in use fails the demo at once.
  const git = await steps.step('start the git server', () => GitServer.start({ port: options.gitPort }));
  steps.onExit('the git server', () => git.stop());

  say('▶ starting the local cluster');
  // Only while it is up: a start that failed has stopped what it started, and kept its logs to read.
  if (ownCluster) {
    steps.onExit('the local cluster', async () => (cluster.started ? cluster.down() : undefined));
  }
  await steps.step('start the local cluster', (signal) =>
    cluster.up({ signal, onLine: (line) => line.includes('export KUBECONFIG') || say(`   ${line}`) }),
  );
  const client = await steps.step('connect to the cluster', () =>
    KubeClient.load({ kubeconfig: cluster.kubeconfig }),
  );
  steps.onExit('', () => client.close());
  const objects = new ObjectClient(client);

  say("▶ installing sluice's CRDs");
  await steps.step("install sluice's CRDs", () =>
    installCrds(client, { timeoutMs: 60_000, log: () => undefined }),
  );

  // On a cluster the demo started, the namespace goes with the cluster. On another it is deleted once the
  // controllers have stopped, their finalizers taken off first: everything the pipeline applied is in it.
  if (!ownCluster) steps.onExit(`namespace ${namespace}`, () => deleteNamespace(objects), 65_000);

  const controllers = await steps.step('start the controllers', () =>
    runControllers({ client, log: createLogger({ level: 'silent' }), watchNamespace: namespace }),
  );
  steps.onExit('the controllers', () => controllers.stop());

  const files = await steps.step("create the seed's git repository", async () => {
    const files = await seedFiles();
    await git.createRepo('my-app', files);
    return files;
  });
  say(`▶ a git repository with the seed's layout: ${git.url('my-app')}`);
  await steps.step(`create namespace ${namespace}`, async () => {
    // One an earlier run left (killed before it could clean up) goes first: the pipeline starts from nothing.
    if (await objects.get(namespaceRef)) await deleteNamespace(objects);
    await objects.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
      { fieldManager },
    );
  });
  if (options.ui) {
    const ui = await steps.step('start sluice ui', () =>
      startUi({ client, namespace, readOnly: false, port: 0 }),
    );
    steps.onExit('sluice ui', () => ui.close());
    say(`▶ sluice ui: ${ui.url}`);
    openBrowser(ui.url);
  }
  const stopFollowing = new AbortController();
  steps.onExit('', async () => stopFollowing.abort());
  say(`▶ applying ${stages.map((s) => s.file).join(', ')} unmodified in namespace ${namespace}\n`);
  started = performance.now();
  follow(client, AbortSignal.any([stopFollowing.signal, steps.signal]));
  const firstAt = performance.now();
  await steps.step('apply the pipeline', () =>
    applyPipeline(objects, files, { namespace, gitUrl: git.url('my-app'), fieldManager }),
  );
  await steps.step('wait for the first sync', (signal) =>
    waitForPipeline(
      objects,
      namespace,
      { generation: 1 },
      AbortSignal.any([signal, AbortSignal.timeout(pipelineTimeoutMs)]),
    ),
  );
  const firstMs = performance.now() - firstAt;
  const jobUids = () =>
    Promise.all(
      ['db-migration', 'cache-refresh'].map(
        async (name) =>
          (await objects.get({ apiVersion: 'batch/v1', kind: 'Job', namespace, name }))?.metadata?.uid,
      ),
    );
  const before = await steps.step('read the Jobs', jobUids);

  say(
    '\n▶ releasing v1.0.1: one commit bumps the image tag in the migration Job, the Deployment and the cache Job\n',
  );
  const releaseAt = performance.now();
  const commit = await steps.step('commit the release', async () => {
    const commit = await git.commit('my-app', release(files, 'v1.0.1'), 'release v1.0.1');
    await objects.patch(
      { apiVersion: GitRepositoryApi.apiVersion, kind: GitRepositoryApi.kind, namespace, name: 'my-app' },
      { metadata: { annotations: { [Annotation.reconcileRequestedAt]: commit } } },
      ContentType.mergePatch,
    );
    return commit;
  });
  await steps.step('wait for the release', (signal) =>
    waitForPipeline(
      objects,
      namespace,
      { revision: `main@sha1:${commit}` },
      AbortSignal.any([signal, AbortSignal.timeout(pipelineTimeoutMs)]),
    ),
  );
  const releaseMs = performance.now() - releaseAt;
  const after = await steps.step('read the Jobs', jobUids);
  stopFollowing.abort();
  summary([
    { release: 'v1.0.0 (first sync)', seconds: seconds(firstMs), jobs: 'both ran' },
    {
      release: 'v1.0.1 (image bump)',
      seconds: seconds(releaseMs),
      jobs: after.every((uid, i) => uid !== before[i]) ? 'both ran again (recreated by force)' : 'NOT re-run',
    },
  ]);
  say('\nEach stage started the moment the one before it was healthy: no polling between stages.');
  if (options.keep) {
    say(
      `\n--keep: left running. KUBECONFIG=${cluster.kubeconfig}; namespace ${namespace}; git ${git.url('my-app')}`,
    );
    say('Press Ctrl-C to stop everything the demo started.');
    await new Promise<void>((resolve) =>
      steps.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  }
}

const { values } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    ui: { type: 'boolean', default: false },
    'git-port': { type: 'string' },
  },
});
const gitPort = values['git-port'] === undefined ? undefined : Number(values['git-port']);
if (gitPort !== undefined && !(Number.isInteger(gitPort) && gitPort > 0 && gitPort < 65536)) {
  process.stderr.write(`✗ --git-port must be a port number, not "${values['git-port']}"\n`);
  process.exit(2);
}
// Everything the demo started is stopped by now; an exit this explicit cannot be held up by a stray handle.
process.exit(await new Steps(say).run((steps) => demo(steps, { keep: values.keep, ui: values.ui, gitPort })));
