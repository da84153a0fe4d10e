// The local control plane as the demo, the benchmark and the tests drive it: where a cluster keeps its state and
// which ports it listens on, starting and stopping it with dev/cluster's scripts, and waiting on its objects.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { homedir } from 'node:os';
import path from 'node:path';
import type { KubeClient, KubeObject } from '../src/kube/client.ts';
import { waitForState } from '../src/kube/watch.ts';
import type { Condition } from '../src/api/meta.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ClusterPorts {
  etcd: number;
  etcdPeer: number;
  apiserver: number;
  kcm: number;
  scheduler: number;
  kubelet: number;
}

/** The ports of the cluster in `slot`: slot 0 is the scripts' defaults; each slot adds 1000 to every port. */
function slotPorts(slot: number): ClusterPorts {
  const offset = slot * 1000;
  return {
    etcd: 12379 + offset,
    etcdPeer: 12380 + offset,
    apiserver: 16443 + offset,
    kcm: 20257 + offset,
    scheduler: 20259 + offset,
    kubelet: 20250 + offset,
  };
}

const portVariables: Record<keyof ClusterPorts, string> = {
  etcd: 'SLUICE_ETCD_PORT',
  etcdPeer: 'SLUICE_ETCD_PEER_PORT',
  apiserver: 'SLUICE_APISERVER_PORT',
  kcm: 'SLUICE_KCM_PORT',
  scheduler: 'SLUICE_SCHEDULER_PORT',
  kubelet: 'SLUICE_KWOK_KUBELET_PORT',
};

export interface UpOptions {
  /** Each line the start prints (the build's progress among them); default: none shown. */
  onLine?(line: string): void;
  /** Stops the start (and a build it runs) when aborted. */
  signal?: AbortSignal;
}

/** One local cluster: its state directory, and ports (undefined: whatever the environment or defaults say). */
export class LocalCluster {
  readonly dir: string;
  readonly ports: ClusterPorts | undefined;

  constructor(dir: string, ports?: ClusterPorts) {
    this.dir = dir;
    this.ports = ports;
  }

  /** The cluster the environment names, as the scripts read it: SLUICE_CLUSTER_DIR (else .cluster) and ports. */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): LocalCluster {
    return new LocalCluster(env.SLUICE_CLUSTER_DIR || path.join(repoRoot, '.cluster'));
  }

  /** A cluster of its own for a suite or the benchmark: `.cluster-<name>`, on the ports of `slot`. */
  static named(name: string, slot: number): LocalCluster {
    return new LocalCluster(path.join(repoRoot, `.cluster-${name}`), slotPorts(slot));
  }

  get kubeconfig(): string {
    return path.join(this.dir, 'kubeconfig');
  }

  /** Whether it was started and not stopped since (its processes may still have died). */
  get started(): boolean {
    return existsSync(path.join(this.dir, 'pids'));
  }

  /** The environment the scripts see for this cluster. */
  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_CLUSTER_DIR: this.dir };
    // A named cluster is started here, whatever cluster the tests were pointed at.
    delete env.SLUICE_TEST_KUBECONFIG;
    for (const [key, variable] of Object.entries(portVariables)) {
      const port = this.ports?.[key as keyof ClusterPorts];
      if (port !== undefined) env[variable] = String(port);
    }
    return env;
  }

  /** Starts it (building the binaries first when they are not cached); a no-op while it is up. */
  up(options: UpOptions = {}): Promise<void> {
    return this.script('up.sh', [], options);
  }

  /** Stops exactly the processes `up` started and removes its state. */
  down(): Promise<void> {
    return this.script('down.sh', []);
  }

  /** Restarts one component (e.g. kube-apiserver) with the command line it was started with. */
  restart(component: string): Promise<void> {
    return this.script('restart.sh', [component]);
  }

  private script(name: string, args: string[], options: UpOptions = {}): Promise<void> {
    const child = spawn('bash', [path.join(repoRoot, 'dev/cluster', name), ...args], {
      env: this.env(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const last: string[] = [];
    let partial = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        last.push(line);
        if (last.length > 20) last.shift();
        options.onLine?.(line);
      }
    });
    const stop = () => child.kill('SIGTERM');
    options.signal?.addEventListener('abort', stop, { once: true });
    return new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        options.signal?.removeEventListener('abort', stop);
        if (code === 0) return resolve();
        const how = code === null ? `was stopped (${signal})` : `failed (exit ${code})`;
        // Lines already shown to onLine are not repeated.
        reject(new Error(`dev/cluster/${name} ${how}${options.onLine ? '' : `:\n${last.join('\n')}`}`));
      });
    });
  }
}

export interface WaitOptions {
  timeoutMs?: number;
  /** What is awaited, for the timeout message: "Job db-migration to complete". */
  description: string;
}

/**
 * Watches one object (by collection path and name) until `done` accepts it, and returns that state.
 * Fails after the deadline with the last state seen, so a timeout says what the object looked like.
 */
export async function waitForObject<T extends KubeObject>(
  client: KubeClient,
  collectionPath: string,
  name: string,
  done: (object: T) => boolean,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const signal = AbortSignal.timeout(timeoutMs);
  let last: T | undefined;
  try {
    return (await waitForState<T>(
      client,
      collectionPath,
      name,
      (object) => {
        last = object;
        return object !== undefined && done(object);
      },
      signal,
    )) as T;
  } catch (error) {
    if (!signal.aborted) throw error;
    const seen = last ? JSON.stringify({ status: last['status'] }) : 'the object did not exist';
    throw new Error(`timed out after ${timeoutMs}ms waiting for ${options.description}; last seen: ${seen}`, {
      cause: error,
    });
  }
}

/** A condition of any object's status, by type. */
export function condition(
  object: KubeObject,
  type: string,
): Pick<Condition, 'type' | 'status' | 'reason' | 'message'> | undefined {
  const status = object['status'] as { conditions?: Condition[] } | undefined;
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * The clusters of their own that suites, the benchmark and CI start, by slot: one place to see that no two share
 * ports. Slot 0 is the default cluster (.cluster); slot 4 is .ci/run's demo on a new cluster (.cluster-ci-demo).
 */
export const ownClusters = {
  benchSluice: LocalCluster.named('bench-sluice', 1),
  install: LocalCluster.named('install', 2),
  faults: LocalCluster.named('faults', 3),
  benchFlux: LocalCluster.named('bench-flux', 5),
  demo: LocalCluster.named('demo-e2e', 6),
  build: LocalCluster.named('build-e2e', 7),
  fluxControllers: LocalCluster.named('flux-controllers', 8),
  remote: LocalCluster.named('remote-e2e', 9),
};

const versionsFile = () => readFileSync(path.join(repoRoot, 'dev/cluster/versions.sh'), 'utf8');

/** The Kubernetes minor the local cluster runs: $SLUICE_KUBERNETES, else versions.sh's default ("1.37"). */
export function kubernetesMinor(): string {
  return process.env.SLUICE_KUBERNETES || (/SLUICE_KUBERNETES:-(\d+\.\d+)/.exec(versionsFile())?.[1] ?? '');
}

/** The exact Kubernetes version of that minor in versions.sh, e.g. "v1.36.3". */
export function kubernetesVersion(): string {
  const minor = kubernetesMinor().replace('.', '\\.');
  return new RegExp(`^\\s*${minor}\\) KUBERNETES_VERSION=(\\S+)`, 'm').exec(versionsFile())?.[1] ?? '';
}

/** The cache the build scripts use (their SLUICE_CACHE_DIR default included). */
export const cacheBin = (): string =>
  path.join(
    process.env.SLUICE_CACHE_DIR ??
      path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'sluice'),
    'bin',
  );

/** The kubectl build.sh built for that version, in the cache. */
export function kubectlPath(): string {
  return path.join(cacheBin(), `kubernetes-${kubernetesVersion()}`, 'kubectl');
}
