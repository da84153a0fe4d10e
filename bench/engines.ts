// The two engines the benchmarks run side by side, each on its own local cluster: sluice's controller (this
// checkout, `sluice controller`) and Flux's source-controller and kustomize-controller (built from the Go module
// proxy by dev/flux/build-controllers.sh, at versions.sh's FLUX_BENCH_CONTROLLERS_VERSION). Also what every benchmark needs around them: their processes, their
// last log lines, and stopping everything on Ctrl-C.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { promisify } from 'node:util';
import { mkdtemp, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeClient } from '../src/kube/client.ts';
import { ObjectClient } from '../src/kube/objects.ts';
import { GitServer } from '../dev/git-server.ts';
import { installCrds } from '../src/install/install.ts';
import { controllerNodeOptions } from '../src/install/manifests.ts';
import { kubectlPath, ownClusters, repoRoot, type LocalCluster } from '../dev/cluster.ts';
import { fluxBenchVersion, fluxControllerDir, type FluxController } from '../dev/flux.ts';

const run = promisify(execFile);

export interface EngineOptions {
  /** Kustomizations reconciled in parallel (`--concurrent`, both engines' flag). */
  concurrent?: number;
  logLevel?: 'info' | 'debug';
  /**
   * sluice only: this many controllers on the one cluster, controller i reconciling the objects labelled
   * `sharding.fluxcd.io/key: shard<i>` (--watch-label-selector), each electing a leader on its own Lease.
   */
  shards?: number;
}

/** The label a sharded controller selects its objects by, as in Flux's sharding guide. */
export const shardLabel = 'sharding.fluxcd.io/key';

export interface Engine {
  name: 'sluice' | 'flux';
  /**
   * Flux rejects namespaced objects without a namespace ("namespace not specified"), and the seed's manifests
   * name none: for Flux the Kustomizations get `targetNamespace`, as a Flux user would add. Timing is unchanged.
   */
  needsTargetNamespace: boolean;
  cluster: LocalCluster;
  /** Whether its binaries are there; why not, when they are not. */
  missing(): Promise<string | undefined>;
  install(client: KubeClient, kubeconfig: string): Promise<void>;
  start(kubeconfig: string, options?: EngineOptions): Promise<ChildProcess[]>;
}

export const sluice: Engine = {
  name: 'sluice',
  needsTargetNamespace: false,
  cluster: ownClusters.benchSluice,
  missing: () => Promise.resolve(undefined),
  install: (client) => installCrds(client, { timeoutMs: 60_000, log: () => undefined }),
  async start(kubeconfig, options = {}) {
    const args = [
      path.join(repoRoot, 'src/cli/main.ts'),
      'controller',
      '--kubeconfig',
      kubeconfig,
      `--log-level=${options.logLevel ?? 'info'}`,
      ...(options.concurrent ? [`--concurrent=${options.concurrent}`] : []),
      '--metrics-addr=0',
      '--health-addr=0',
      '--storage-addr=0',
    ];
    // With Node's flags as the installed Deployment sets them (after any of the caller's, say --cpu-prof).
    const nodeOptions = [process.env.NODE_OPTIONS, controllerNodeOptions].filter(Boolean).join(' ');
    const env = { ...process.env, NODE_OPTIONS: nodeOptions };
    if (!options.shards) return [spawnLogged('sluice', process.execPath, args, env)];
    return Array.from({ length: options.shards }, (_, i) =>
      spawnLogged(
        `sluice-shard${i + 1}`,
        process.execPath,
        [
          ...args,
          `--watch-label-selector=${shardLabel}=shard${i + 1}`,
          '--enable-leader-election',
          '--leader-election-namespace=default',
        ],
        env,
      ),
    );
  },
};

export const flux: Engine = {
  name: 'flux',
  needsTargetNamespace: true,
  cluster: ownClusters.benchFlux,
  async missing() {
    for (const name of ['source-controller', 'kustomize-controller'] as const) {
      if (!existsSync(path.join(await fluxControllerDir(name, await fluxBenchVersion()), name)))
        return `flux: ${name} not built; run npm run bench:build-flux (about 15 minutes) to compare`;
    }
    return undefined;
  },
  async install(_client, kubeconfig) {
    const crds: string[] = [];
    for (const name of ['source-controller', 'kustomize-controller'] as const) {
      const dir = path.join(await fluxControllerDir(name, await fluxBenchVersion()), 'crds');
      for (const file of await readdir(dir)) crds.push('-f', path.join(dir, file));
    }
    await run(kubectlPath(), ['--kubeconfig', kubeconfig, 'apply', '--server-side', ...crds]);
    await run(kubectlPath(), [
      '--kubeconfig',
      kubeconfig,
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd',
      '--all',
    ]);
  },
  async start(kubeconfig, options = {}) {
    const storage = await mkdtemp(path.join(tmpdir(), 'flux-storage-'));
    const env = { ...process.env, KUBECONFIG: kubeconfig, RUNTIME_NAMESPACE: 'default' };
    const common = [
      '--enable-leader-election=false',
      '--watch-all-namespaces=true',
      `--log-level=${options.logLevel ?? 'info'}`,
      ...(options.concurrent ? [`--concurrent=${options.concurrent}`] : []),
    ];
    const bin = async (name: FluxController) =>
      path.join(await fluxControllerDir(name, await fluxBenchVersion()), name);
    return [
      spawnLogged(
        'source-controller',
        await bin('source-controller'),
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
        await bin('kustomize-controller'),
        [...common, '--metrics-addr=127.0.0.1:19093', '--health-addr=127.0.0.1:19094'],
        env,
      ),
    ];
  },
};

/** The lines each controller printed, by name, for a failure report and the benchmarks' breakdowns. */
export const logs: Record<string, string[]> = {};
const newLines = new EventEmitter<{ line: [name: string, line: string] }>();

/** Resolves once the controller logged as `name` has printed a line `matches` accepts. */
export function logged(name: string, matches: (line: string) => boolean, signal: AbortSignal): Promise<void> {
  if ((logs[name] ?? []).some(matches)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onLine = (from: string, line: string) => {
      if (from !== name || !matches(line)) return;
      newLines.off('line', onLine);
      resolve();
    };
    newLines.on('line', onLine);
    signal.addEventListener(
      'abort',
      () => {
        newLines.off('line', onLine);
        reject(new Error(`${name} did not log the line waited for: ${String(signal.reason)}`));
      },
      { once: true },
    );
  });
}
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
  // A binary that cannot start is reported with the logs, not as an uncaught error that skips the clean-up.
  child.once('error', (error) => lines.push(`${name} did not start: ${error.message}`));
  // Whole lines only: a chunk may end in the middle of one.
  const keeper = () => {
    let partial = '';
    return (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts.filter(Boolean)) {
        lines.push(line);
        newLines.emit('line', name, line);
      }
    };
  };
  child.stdout?.on('data', keeper());
  child.stderr?.on('data', keeper());
  return child;
}

/** Brings the engine's own cluster up or down, remembering it for Ctrl-C. */
export async function cluster(engine: Engine, command: 'up' | 'down'): Promise<void> {
  if (command === 'up') {
    clustersUp.add(engine);
    await engine.cluster.up();
  } else {
    await engine.cluster.down();
    clustersUp.delete(engine);
  }
}

/** Prints the controllers' last lines: what a failed benchmark shows. */
export function reportLogs(): void {
  for (const [name, lines] of Object.entries(logs))
    process.stderr.write(`--- ${name} (last lines)\n${lines.slice(-15).join('\n')}\n`);
}

/** What a benchmark scenario gets: the engine running on its own new cluster, and a git server. */
export interface EngineRun {
  kubeconfig: string;
  client: KubeClient;
  objects: ObjectClient;
  git: GitServer;
  /** The controllers' processes. */
  processes: ChildProcess[];
}

/**
 * Brings the engine's cluster up, installs its CRDs, starts its controllers and a git server, runs `body`, and
 * stops all of it again, whatever happens (a failure first prints the controllers' last lines).
 */
export async function onEngine<T>(
  engine: Engine,
  options: EngineOptions,
  body: (run: EngineRun) => Promise<T>,
): Promise<T> {
  await cluster(engine, 'up');
  const kubeconfig = engine.cluster.kubeconfig;
  const client = await KubeClient.load({ kubeconfig });
  const git = await GitServer.start();
  const processes: ChildProcess[] = [];
  try {
    await engine.install(client, kubeconfig);
    processes.push(...(await engine.start(kubeconfig, options)));
    return await body({ kubeconfig, client, objects: new ObjectClient(client), git, processes });
  } catch (error) {
    reportLogs();
    throw error;
  } finally {
    for (const p of processes) p.kill('SIGTERM');
    await git.stop();
    await client.close();
    await cluster(engine, 'down');
  }
}
