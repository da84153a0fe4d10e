// What the scale and soak benchmarks share: the flux-benchmark shape (its app package, a GitRepository and
// Kustomizations of it), waiting on all the Kustomizations from one watch, a no-op pass of them, and the
// controllers' memory and CPU as /proc has them.
import { readFile, readdir } from 'node:fs/promises';
import { ContentType, type KubeClient, type KubeObject } from '../src/kube/client.ts';
import type { ObjectClient } from '../src/kube/objects.ts';
import { listWatch } from '../src/kube/watch.ts';
import { KustomizationApi } from '../src/api/kustomization.ts';
import { GitRepositoryApi } from '../src/api/gitrepository.ts';
import { Annotation, collectionPath } from '../src/api/meta.ts';

export const namespace = 'bench-scale';
const timeoutMs = 30 * 60_000;

/** The app package every Kustomization applies, its names from `${INDEX}`. */
export const appFiles: Record<string, string> = {
  'app/serviceaccount.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${INDEX}\n',
  'app/service.yaml':
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: ${INDEX}\nspec:\n  selector:\n    app: ${INDEX}\n  ports:\n  - port: 80\n    targetPort: 8080\n',
  'app/configmap.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${INDEX}\ndata:\n  index: ${INDEX}\n',
  'app/deployment.yaml':
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${INDEX}\nspec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: ${INDEX}\n  template:\n    metadata:\n      labels:\n        app: ${INDEX}\n    spec:\n      serviceAccountName: ${INDEX}\n      containers:\n      - name: app\n        image: ghcr.io/stefanprodan/podinfo:6.5.3\n        ports:\n        - containerPort: 8080\n',
};

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

/** The RSS of the controllers and their children together, now. */
export async function treeRssMiB(roots: number[]): Promise<number> {
  const pids = await processTree(roots);
  return (await Promise.all(pids.map(rssKiB))).reduce((a, b) => a + b, 0) / 1024;
}

/** CPU seconds of the process and its waited-for children (utime, stime, cutime, cstime). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return ticks / 100; // USER_HZ
}

export const totalCpuSeconds = async (roots: number[]) =>
  (await Promise.all(roots.map(cpuSeconds))).reduce((a, b) => a + b, 0);

/** The apiserver's request count so far, all verbs and resources. */
export async function apiRequests(client: KubeClient): Promise<number> {
  let text = '';
  for await (const chunk of await client.stream('/metrics', {})) text += (chunk as Buffer).toString('utf8');
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('apiserver_request_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Resolves when `done` holds for all N Kustomizations, from one watch of them. */
export async function waitForAll(
  client: KubeClient,
  n: number,
  done: (ks: KubeObject) => boolean,
): Promise<void> {
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

export const ready = (ks: KubeObject) => {
  const status = ks['status'] as
    { observedGeneration?: number; conditions?: { type: string; status: string }[] } | undefined;
  return (
    status?.observedGeneration === ks.metadata?.generation &&
    status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
  );
};

/** Runs `fn` on every item, `parallel` at a time. */
export async function eachParallel<T>(
  items: T[],
  parallel: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

export const apply = (objects: ObjectClient, object: KubeObject) =>
  objects.apply(object, { fieldManager: 'bench-scale' });

/** Asks for a reconcile of each named Kustomization and waits until all have handled it and are Ready. */
export async function noopPass(client: KubeClient, objects: ObjectClient, names: string[]): Promise<number> {
  const requestedAt = new Date().toISOString();
  const start = performance.now();
  const allHandled = waitForAll(
    client,
    names.length,
    (ks) =>
      ready(ks) &&
      (ks['status'] as { lastHandledReconcileAt?: string } | undefined)?.lastHandledReconcileAt ===
        requestedAt,
  );
  await eachParallel(names, 16, (name) =>
    objects.patch(
      { apiVersion: KustomizationApi.apiVersion, kind: KustomizationApi.kind, namespace, name },
      { metadata: { annotations: { [Annotation.reconcileRequestedAt]: requestedAt } } },
      ContentType.mergePatch,
    ),
  );
  await allHandled;
  return performance.now() - start;
}

export const gitRepository = (name: string, url: string, labels?: Record<string, string>): KubeObject => ({
  apiVersion: GitRepositoryApi.apiVersion,
  kind: GitRepositoryApi.kind,
  metadata: { name, namespace, labels },
  spec: { url, interval: '60m', ref: { branch: 'main' } },
});

export const kustomization = (
  name: string,
  source: string,
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
): KubeObject => ({
  apiVersion: KustomizationApi.apiVersion,
  kind: KustomizationApi.kind,
  metadata: { name, namespace, labels },
  spec: {
    interval: '60m',
    retryInterval: '2m',
    prune: true,
    wait: true,
    timeout: '5m',
    targetNamespace: namespace,
    sourceRef: { kind: 'GitRepository', name: source },
    ...spec,
  },
});
