// Benchmark: the controller's overhead on seed 001's pipeline (pre-deploy Job → app → post-deploy Job), for
// sluice and for Flux side by side, each with default flags on its own local cluster.
//
// Overhead of one release = time from the new revision being fetched (the GitRepository's artifact changes)
// to the post-deploy Job being Complete, minus what the workloads themselves take: the migration Job's run,
// the Deployment's rollout and the post-deploy Job's run, all measured from watch events.
//
//   node bench/pipeline.ts [--runs 3] [--only sluice|flux]
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KubeClient, ContentType } from '../src/kube/client.ts';
import { ObjectClient } from '../src/kube/objects.ts';
import { installCrds } from '../src/install/install.ts';
import { GitServer } from '../dev/git-server.ts';
import { ownClusters, repoRoot, type LocalCluster } from '../dev/cluster.ts';
import { applyPipeline, release, seedFiles, waitForPipeline } from '../dev/seed.ts';
import { recordTimeline, firstAt, type Timeline } from '../dev/timeline.ts';
import { errorMessage } from '../src/errors.ts';
import { fluxControllerDir, type FluxController } from '../dev/flux.ts';

const run = promisify(execFile);
const cache = process.env.SLUICE_CACHE_DIR ?? path.join(process.env.HOME ?? '', '.cache/sluice');
/** Flux's controllers, as dev/flux/build-controllers.sh builds them (npm run bench:build-flux). */
const fluxBin = (name: FluxController) => fluxControllerDir(name);
const kubectl = path.join(cache, 'bin/kubernetes-v1.36.3/kubectl');
const namespace = 'bench-pipeline';
/** Flux's dependents look again only every 30s, so a release can take minutes there. */
const waitTimeoutMs = 10 * 60_000;

interface Release {
  totalMs: number;
  migrationMs: number;
  rolloutMs: number;
  postDeployMs: number;
  overheadMs: number;
}

interface Engine {
  name: string;
  /**
   * Flux rejects namespaced objects without a namespace ("namespace not specified"), and the seed's manifests
   * name none: for Flux the Kustomizations get `targetNamespace`, as a Flux user would add. Timing is unchanged.
   */
  needsTargetNamespace: boolean;
  cluster: LocalCluster;
  install(client: KubeClient, kubeconfig: string): Promise<void>;
  start(kubeconfig: string): Promise<ChildProcess[]>;
}

const sluice: Engine = {
  name: 'sluice',
  needsTargetNamespace: false,
  cluster: ownClusters.benchSluice,
  install: (client) => installCrds(client, { timeoutMs: 60_000, log: () => undefined }),
  async start(kubeconfig) {
    return [
      spawnLogged('sluice', process.execPath, [
        path.join(repoRoot, 'src/cli/main.ts'),
        'controller',
        '--kubeconfig',
        kubeconfig,
        '--log-level=debug', // the per-phase timings are printed with each release
        '--metrics-addr=0',
        '--health-addr=0',
        '--storage-addr=0',
      ]),
    ];
  },
};

const flux: Engine = {
  name: 'flux',
  needsTargetNamespace: true,
  cluster: ownClusters.benchFlux,
  async install(_client, kubeconfig) {
    const crds: string[] = [];
    for (const name of ['source-controller', 'kustomize-controller'] as const) {
      const dir = path.join(await fluxBin(name), 'crds');
      for (const file of await readdir(dir)) crds.push('-f', path.join(dir, file));
    }
    await run(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', ...crds]);
    await run(kubectl, [
      '--kubeconfig',
      kubeconfig,
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd',
      '--all',
    ]);
  },
  async start(kubeconfig) {
    const storage = await mkdtemp(path.join(tmpdir(), 'flux-storage-'));
    const env = { ...process.env, KUBECONFIG: kubeconfig, RUNTIME_NAMESPACE: 'default' };
    const common = ['--enable-leader-election=false', '--watch-all-namespaces=true', '--log-level=info'];
    return [
      spawnLogged(
        'source-controller',
        path.join(await fluxBin('source-controller'), 'source-controller'),
        [
          ...common,
          `--storage-path=${storage}`,
          '--storage-addr=127.0.0.1:19090',
          '--storage-adv-addr=127.0.0.1:19090',
          '--metrics-addr=127.0.0.1:19091',
          '--health-addr=127.0.0.1:19092',
        ],
        env,
      ),
      spawnLogged(
        'kustomize-controller',
        path.join(await fluxBin('kustomize-controller'), 'kustomize-controller'),
        [...common, '--metrics-addr=127.0.0.1:19093', '--health-addr=127.0.0.1:19094'],
        env,
      ),
    ];
  },
};

const logs: Record<string, string[]> = {};
const running = new Set<ChildProcess>();
const clustersUp = new Set<Engine>();

// Interrupted: stop what this run started (controllers, clusters) before exiting.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of running) child.kill('SIGTERM');
    void Promise.allSettled([...clustersUp].map((engine) => engine.cluster.down())).finally(() =>
      process.exit(130),
    );
  });
}
function spawnLogged(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const lines: string[] = (logs[name] = []);
  const keep = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean).slice(-200));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

async function cluster(engine: Engine, command: 'up' | 'down'): Promise<void> {
  if (command === 'up') {
    clustersUp.add(engine);
    await engine.cluster.up();
  } else {
    await engine.cluster.down();
    clustersUp.delete(engine);
  }
}

async function scenario(engine: Engine, releases: number): Promise<Release[]> {
  await cluster(engine, 'up');
  const kubeconfig = engine.cluster.kubeconfig;
  const client = await KubeClient.load({ kubeconfig });
  const objects = new ObjectClient(client);
  const git = await GitServer.start();
  const processes: ChildProcess[] = [];
  try {
    await engine.install(client, kubeconfig);
    processes.push(...(await engine.start(kubeconfig)));
    const fixture = await seedFiles();
    await git.createRepo('my-app', fixture);
    await client.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    });
    const timeline = recordTimeline(client, namespace);
    await applyPipeline(objects, fixture, {
      namespace,
      gitUrl: git.url('my-app'),
      fieldManager: 'bench',
      targetNamespace: engine.needsTargetNamespace ? namespace : undefined,
    });
    process.stderr.write(`${engine.name}: first sync\n`);
    await waitForPipeline(objects, namespace, { generation: 1 }, AbortSignal.timeout(waitTimeoutMs));

    const results: Release[] = [];
    for (let i = 1; i <= releases; i++) {
      const tag = `v1.0.${i}`;
      const commit = await git.commit('my-app', release(fixture, tag), `release ${tag}`);
      const revision = `main@sha1:${commit}`;
      await objects.patch(
        { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace, name: 'my-app' },
        { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': `${Date.now()}` } } },
        ContentType.mergePatch,
      );
      await waitForPipeline(objects, namespace, { revision }, AbortSignal.timeout(waitTimeoutMs));
      const measured = measure(timeline, revision, tag);
      results.push(measured);
      for (const line of logs[engine.name] ?? []) {
        const entry = JSON.parse(line.startsWith('{') ? line : '{}') as {
          msg?: string;
          revision?: string;
          name?: string;
          phasesMs?: object;
        };
        if (entry.msg === 'reconcile phases' && entry.revision === revision) {
          process.stderr.write(`  ${entry.name}: ${JSON.stringify(entry.phasesMs)}\n`);
        }
      }
      process.stderr.write(
        `${engine.name}: release ${tag}: overhead ${seconds(measured.overheadMs)} of ${seconds(measured.totalMs)}\n`,
      );
    }
    timeline.stop();
    return results;
  } catch (error) {
    for (const [name, lines] of Object.entries(logs))
      process.stderr.write(`--- ${name} (last lines)\n${lines.slice(-15).join('\n')}\n`);
    throw error;
  } finally {
    for (const p of processes) p.kill('SIGTERM');
    await git.stop();
    await client.close();
    await cluster(engine, 'down');
  }
}

function measure(timeline: Timeline, revision: string, tag: string): Release {
  const image = `ghcr.io/org/my-app:${tag}`;
  const m = timeline.moments;
  const fetched = firstAt(
    timeline,
    'new revision fetched',
    (x) => x.kind === 'GitRepository' && x.revision === revision,
  );
  const after = (x: { at: number }) => x.at >= fetched;
  const jobRun = (name: string) => {
    const created = m.find(
      (x) => after(x) && x.kind === 'Job' && x.name === name && x.created && x.image === image,
    );
    if (!created) throw new Error(`no new ${name} Job for ${tag}`);
    const done = firstAt(timeline, `${name} Complete`, (x) => x.uid === created.uid && x.complete);
    return { start: created.at, end: done };
  };
  const migration = jobRun('db-migration');
  const post = jobRun('cache-refresh');
  const rolloutStart = firstAt(
    timeline,
    'Deployment updated',
    (x) => after(x) && x.kind === 'Deployment' && x.image === image,
  );
  const rolloutEnd = firstAt(
    timeline,
    'Deployment Available',
    (x) => after(x) && x.kind === 'Deployment' && x.image === image && x.available,
  );
  const totalMs = post.end - fetched;
  const migrationMs = migration.end - migration.start;
  const rolloutMs = rolloutEnd - rolloutStart;
  const postDeployMs = post.end - post.start;
  return {
    totalMs,
    migrationMs,
    rolloutMs,
    postDeployMs,
    overheadMs: totalMs - migrationMs - rolloutMs - postDeployMs,
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

function table(results: Record<string, Release[]>): string {
  const engines = Object.keys(results);
  const header = ['', ...engines];
  const rows: string[][] = [header];
  const runs = Math.max(...engines.map((e) => results[e]?.length ?? 0));
  for (let i = 0; i < runs; i++) {
    rows.push([`release ${i + 1}: total`, ...engines.map((e) => fmt(results[e]?.[i]?.totalMs))]);
    rows.push([`release ${i + 1}: jobs + rollout`, ...engines.map((e) => fmt(workload(results[e]?.[i])))]);
    rows.push([
      `release ${i + 1}: controller overhead`,
      ...engines.map((e) => fmt(results[e]?.[i]?.overheadMs)),
    ]);
  }
  rows.push([
    'median controller overhead',
    ...engines.map((e) => fmt(median((results[e] ?? []).map((r) => r.overheadMs)))),
  ]);
  const widths = header.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}
const workload = (r: Release | undefined) => (r ? r.migrationMs + r.rolloutMs + r.postDeployMs : undefined);
const fmt = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? '-' : seconds(ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, only: { type: 'string' } },
  });
  const releases = Number(values.runs);
  const engines = [sluice, flux].filter((e) => !values.only || e.name === values.only);
  const results: Record<string, Release[]> = {};
  const notes: string[] = [];
  for (const engine of engines) {
    if (
      engine === flux &&
      !existsSync(path.join(await fluxBin('kustomize-controller'), 'kustomize-controller'))
    ) {
      notes.push(`flux: not built; run npm run bench:build-flux (about 15 minutes) to compare`);
      continue;
    }
    results[engine.name] = await scenario(engine, releases);
  }
  const started = new Date().toISOString();
  const report = [
    `# Pipeline benchmark, ${started}`,
    '',
    `seed 001 (pre-deploy Job → app → post-deploy Job), ${releases} image bumps, default flags, each engine on its own local cluster (kube-apiserver v1.36.3, kwok).`,
    'Flux: source-controller and kustomize-controller v1.9.4 built from the Go module proxy (fluxcd/pkg/artifact pinned to v0.18.1, the newest version the proxy serves); its Kustomizations get targetNamespace, since Flux rejects namespace-less objects (the seed manifests name none).',
    '',
    table(results),
    '',
    ...notes,
  ].join('\n');
  process.stdout.write(`${report}\n`);
  const dir = path.join(repoRoot, 'bench/results');
  await mkdir(dir, { recursive: true });
  const stamp = started.replace(/[:.]/g, '-');
  await writeFile(path.join(dir, `pipeline-${stamp}.md`), `${report}\n`);
  await writeFile(
    path.join(dir, `pipeline-${stamp}.json`),
    `${JSON.stringify({ started, releases, results }, null, 2)}\n`,
  );
}

await main().catch((error: unknown) => {
  process.stderr.write(`✗ ${errorMessage(error)}\n`);
  process.exitCode = 1;
});
