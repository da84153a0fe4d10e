// `npm run bench:scale`: many Kustomizations of flux-benchmark's shape, sluice and Flux side by side, each on its
// own local cluster. Each Kustomization applies four objects from one GitRepository (a ServiceAccount, a
// Service, a ConfigMap and a Deployment scaled to 0, named by postBuild substitution) into one namespace, with
// `wait: true`, interval 60m and retryInterval 2m, as flux-benchmark's. Measured per engine, N and --concurrent:
// time from applying all N to all Ready; peak RSS of the controller processes and their children; CPU seconds
// with children; API requests (the apiserver's apiserver_request_total); and a no-op pass (requestedAt on every
// Kustomization) until all report it handled. Prints a table; keeps it in bench/results/.
//
//   node bench/scale.ts [--n 100,500,1000] [--concurrent 4,20] [--only sluice|flux]
import { readFile, readdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ContentType, type KubeClient, type KubeObject } from '../src/kube/client.ts';
import type { ObjectClient } from '../src/kube/objects.ts';
import { listWatch } from '../src/kube/watch.ts';
import { KustomizationApi } from '../src/api/kustomization.ts';
import { GitRepositoryApi } from '../src/api/gitrepository.ts';
import { Annotation, collectionPath } from '../src/api/meta.ts';
import { errorMessage } from '../src/errors.ts';
import { fluxBenchVersion } from '../dev/flux.ts';
import { kubernetesVersion } from '../dev/cluster.ts';
import { flux, onEngine, sluice, type Engine } from './engines.ts';
import { keepResults, markdownTable } from './table.ts';

const namespace = 'bench-scale';
const timeoutMs = 30 * 60_000;

/** The app package every Kustomization applies, its names from `${INDEX}`. */
const appFiles: Record<string, string> = {
  'app/serviceaccount.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${INDEX}\n',
  'app/service.yaml':
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: ${INDEX}\nspec:\n  selector:\n    app: ${INDEX}\n  ports:\n  - port: 80\n    targetPort: 8080\n',
  'app/configmap.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${INDEX}\ndata:\n  index: ${INDEX}\n',
  'app/deployment.yaml':
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${INDEX}\nspec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: ${INDEX}\n  template:\n    metadata:\n      labels:\n        app: ${INDEX}\n    spec:\n      serviceAccountName: ${INDEX}\n      containers:\n      - name: app\n        image: ghcr.io/stefanprodan/podinfo:6.5.3\n        ports:\n        - containerPort: 8080\n',
};

interface Measure {
  engine: string;
  n: number;
  concurrent: number;
  readyMs: number;
  peakRssMiB: number;
  cpuSeconds: number;
  apiRequests: number;
  noopMs: number;
}

/** Every process in the trees under `roots` (the controllers and, say, their kustomize children). */
async function processTree(roots: number[]): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const tree = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return [...tree];
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
}

/** CPU seconds of the process and its waited-for children (utime, stime, cutime, cstime). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return ticks / 100; // USER_HZ
}

/** The apiserver's request count so far, all verbs and resources. */
async function apiRequests(client: KubeClient): Promise<number> {
  let text = '';
  for await (const chunk of await client.stream('/metrics', {})) text += (chunk as Buffer).toString('utf8');
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('apiserver_request_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Resolves when `done` holds for all N Kustomizations, from one watch of them. */
async function waitForAll(client: KubeClient, n: number, done: (ks: KubeObject) => boolean): Promise<void> {
  const finished = new Set<string>();
  const abort = AbortSignal.timeout(timeoutMs);
  for await (const e of listWatch<KubeObject>(client, collectionPath(KustomizationApi, namespace), {
    signal: abort,
  })) {
    if (e.type === 'SYNCED') {
      if (finished.size >= n) return;
      continue;
    }
    const name = e.object.metadata?.name ?? '';
    if (e.type !== 'DELETED' && done(e.object)) finished.add(name);
    else finished.delete(name);
    if (finished.size >= n) return;
  }
}

const ready = (ks: KubeObject) => {
  const status = ks['status'] as
    { observedGeneration?: number; conditions?: { type: string; status: string }[] } | undefined;
  return (
    status?.observedGeneration === ks.metadata?.generation &&
    status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
  );
};

/** Applies `objects` with `parallel` requests in flight. */
async function applyAll(objects: ObjectClient, list: KubeObject[], parallel = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < list.length) {
        const object = list[next++] as KubeObject;
        await objects.apply(object, { fieldManager: 'bench-scale' });
      }
    }),
  );
}

async function scenario(engine: Engine, n: number, concurrent: number): Promise<Measure> {
  return onEngine(engine, { concurrent }, async ({ client, objects, git, processes }) => {
    let sampler: NodeJS.Timeout | undefined;
    try {
      await git.createRepo('app', appFiles);
      await objects.apply(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
        { fieldManager: 'bench-scale' },
      );
      await objects.apply(
        {
          apiVersion: GitRepositoryApi.apiVersion,
          kind: GitRepositoryApi.kind,
          metadata: { name: 'repo', namespace },
          spec: { url: git.url('app'), interval: '60m', ref: { branch: 'main' } },
        },
        { fieldManager: 'bench-scale' },
      );
      const kustomizations = Array.from({ length: n }, (_, i) => ({
        apiVersion: KustomizationApi.apiVersion,
        kind: KustomizationApi.kind,
        metadata: { name: `app-${i}`, namespace },
        spec: {
          interval: '60m',
          retryInterval: '2m',
          path: './app',
          prune: true,
          wait: true,
          timeout: '5m',
          targetNamespace: namespace,
          sourceRef: { kind: 'GitRepository', name: 'repo' },
          postBuild: { substitute: { INDEX: `app-${i}` } },
        },
      }));
      const roots = processes.map((p) => p.pid ?? 0).filter(Boolean);
      let peakKiB = 0;
      sampler = setInterval(() => {
        void processTree(roots).then(async (pids) => {
          const total = (await Promise.all(pids.map(rssKiB))).reduce((a, b) => a + b, 0);
          peakKiB = Math.max(peakKiB, total);
        });
      }, 250);
      const requestsBefore = await apiRequests(client);
      const cpuBefore = (await Promise.all(roots.map(cpuSeconds))).reduce((a, b) => a + b, 0);
      process.stderr.write(`${engine.name} N=${n} --concurrent=${concurrent}: applying\n`);
      const start = performance.now();
      const allReady = waitForAll(client, n, ready);
      await applyAll(objects, kustomizations);
      await allReady;
      const readyMs = performance.now() - start;
      process.stderr.write(
        `${engine.name} N=${n}: all Ready in ${(readyMs / 1000).toFixed(1)}s; no-op pass\n`,
      );
      const requestedAt = new Date().toISOString();
      const noopStart = performance.now();
      const allHandled = waitForAll(
        client,
        n,
        (ks) =>
          ready(ks) &&
          (ks['status'] as { lastHandledReconcileAt?: string } | undefined)?.lastHandledReconcileAt ===
            requestedAt,
      );
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < n) {
            const i = next++;
            await objects.patch(
              {
                apiVersion: KustomizationApi.apiVersion,
                kind: KustomizationApi.kind,
                namespace,
                name: `app-${i}`,
              },
              { metadata: { annotations: { [Annotation.reconcileRequestedAt]: requestedAt } } },
              ContentType.mergePatch,
            );
          }
        }),
      );
      await allHandled;
      const noopMs = performance.now() - noopStart;
      const cpuAfter = (await Promise.all(roots.map(cpuSeconds))).reduce((a, b) => a + b, 0);
      const requestsAfter = await apiRequests(client);
      return {
        engine: engine.name,
        n,
        concurrent,
        readyMs,
        peakRssMiB: peakKiB / 1024,
        cpuSeconds: cpuAfter - cpuBefore,
        apiRequests: requestsAfter - requestsBefore,
        noopMs,
      };
    } finally {
      clearInterval(sampler);
    }
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '100,500,1000' },
      concurrent: { type: 'string', default: '4,20' },
      only: { type: 'string' },
    },
  });
  const sizes = (values.n ?? '').split(',').map(Number);
  const concurrencies = (values.concurrent ?? '').split(',').map(Number);
  const measures: Measure[] = [];
  const notes: string[] = [];
  for (const engine of [sluice, flux].filter((e) => !values.only || e.name === values.only)) {
    const missing = await engine.missing();
    if (missing) {
      notes.push(missing);
      continue;
    }
    for (const n of sizes) for (const c of concurrencies) measures.push(await scenario(engine, n, c));
  }
  const started = new Date().toISOString();
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const report = [
    `# Scale benchmark, ${started}`,
    '',
    `N Kustomizations of flux-benchmark's shape (ServiceAccount, Service, ConfigMap, Deployment scaled to 0; wait: true), one GitRepository, each engine on its own local cluster (kube-apiserver ${kubernetesVersion()}, kwok), on this project's 2-core machine. Flux: source-controller and kustomize-controller ${await fluxBenchVersion()}.`,
    '',
    markdownTable(
      [
        'engine',
        'N',
        '--concurrent',
        'time to all Ready',
        'peak RSS (controllers + children)',
        'CPU (with children)',
        'API requests',
        'no-op pass of all N',
      ],
      measures.map((m) => [
        m.engine,
        String(m.n),
        String(m.concurrent),
        s(m.readyMs),
        `${m.peakRssMiB.toFixed(0)} MiB`,
        `${m.cpuSeconds.toFixed(1)} s`,
        String(m.apiRequests),
        s(m.noopMs),
      ]),
    ),
    '',
    ...notes,
  ].join('\n');
  await keepResults('scale', started, report, { measures });
}

await main().catch((error: unknown) => {
  process.stderr.write(`✗ ${errorMessage(error)}\n`);
  process.exitCode = 1;
});
