// `npm run bench:scale`: many Kustomizations of flux-benchmark's shape, sluice and Flux side by side, each on its
// own local cluster. Each Kustomization applies four objects from one GitRepository (a ServiceAccount, a
// Service, a ConfigMap and a Deployment scaled to 0, named by postBuild substitution) into one namespace, with
// `wait: true`, interval 60m and retryInterval 2m, as flux-benchmark's. Measured per engine, N and --concurrent:
// time from applying all N to all Ready; peak RSS of the controller processes and their children; CPU seconds
// with children; API requests (the apiserver's apiserver_request_total); and a no-op pass (requestedAt on every
// Kustomization) until all report it handled. Then, for sluice, the largest N split between two sharded
// controllers (--watch-label-selector, a Lease each); and, for both, one Kustomization of 1000 ConfigMaps, its
// no-op pass beside the floor: a raw server-side apply of the same objects. Prints the tables and the targets
// (with the latest soak and pipeline results); keeps them in bench/results/.
//
//   node bench/scale.ts [--n 100,500,1000] [--concurrent 4,20] [--only sluice|flux] [--large 1000]
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Annotation, FieldManager } from '../src/api/meta.ts';
import { toYaml } from '../src/kustomize/yaml.ts';
import { errorMessage } from '../src/errors.ts';
import { fluxBenchVersion } from '../dev/flux.ts';
import { kubectlPath, kubernetesVersion } from '../dev/cluster.ts';
import { flux, logs, onEngine, shardLabel, sluice, type Engine } from './engines.ts';
import { keepResults, latestResults, markdownTable, median } from './table.ts';
import {
  apiRequests,
  appFiles,
  apply,
  eachParallel,
  gitRepository,
  kustomization,
  namespace,
  noopPass,
  ready,
  totalCpuSeconds,
  treeRssMiB,
  waitForAll,
} from './fleet.ts';

const run = promisify(execFile);

interface FleetMeasure {
  engine: string;
  n: number;
  concurrent: number;
  /** Controllers the fleet was split between (1: not sharded). */
  shards: number;
  readyMs: number;
  peakRssMiB: number;
  cpuSeconds: number;
  apiRequests: number;
  noopMs: number;
  /** With shards: how many Kustomizations each controller reconciled to Ready. */
  split?: number[];
}

interface LargeMeasure {
  engine: string;
  objects: number;
  readyMs: number;
  noopMs: number;
  /** `kubectl apply --server-side` of the same objects: one request after the other. */
  kubectlMs: number;
  /** The same objects applied with this project's client, 4 requests in flight (the controller's dry-run width). */
  clientMs: number;
}

/** N Kustomizations of the app package, on one controller or split between `shards` of them. */
async function fleet(engine: Engine, n: number, concurrent: number, shards = 1): Promise<FleetMeasure> {
  const sharded = shards > 1;
  return onEngine(engine, { concurrent, shards: sharded ? shards : undefined }, async (run) => {
    const { client, objects, git, processes } = run;
    await git.createRepo('app', appFiles);
    await apply(objects, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    const shardOf = (i: number) => `shard${(i % shards) + 1}`;
    const sourceOf = (i: number) => (sharded ? `repo-${shardOf(i)}` : 'repo');
    for (let s = 0; s < shards; s++) {
      const labels = sharded ? { [shardLabel]: shardOf(s) } : undefined;
      await apply(objects, gitRepository(sourceOf(s), git.url('app'), labels));
    }
    const names = Array.from({ length: n }, (_, i) => `app-${i}`);
    const kustomizations = names.map((name, i) =>
      kustomization(
        name,
        sourceOf(i),
        { path: './app', postBuild: { substitute: { INDEX: name } } },
        sharded ? { [shardLabel]: shardOf(i) } : undefined,
      ),
    );
    const roots = processes.map((p) => p.pid ?? 0).filter(Boolean);
    let peakMiB = 0;
    const sampler = setInterval(() => {
      void treeRssMiB(roots).then((mib) => (peakMiB = Math.max(peakMiB, mib)));
    }, 250);
    try {
      const requestsBefore = await apiRequests(client);
      const cpuBefore = await totalCpuSeconds(roots);
      const label = `${engine.name} N=${n} --concurrent=${concurrent}${sharded ? ` ${shards} shards` : ''}`;
      process.stderr.write(`${label}: applying\n`);
      const start = performance.now();
      const allReady = waitForAll(client, n, ready);
      await eachParallel(kustomizations, 16, (ks) => apply(objects, ks));
      await allReady;
      const readyMs = performance.now() - start;
      const split = sharded
        ? Array.from({ length: shards }, (_, i) => finishedCount(`sluice-shard${i + 1}`))
        : undefined;
      process.stderr.write(`${label}: all Ready in ${(readyMs / 1000).toFixed(1)}s; no-op pass\n`);
      const noopMs = await noopPass(client, objects, names);
      return {
        engine: engine.name,
        n,
        concurrent,
        shards,
        readyMs,
        peakRssMiB: peakMiB,
        cpuSeconds: (await totalCpuSeconds(roots)) - cpuBefore,
        apiRequests: (await apiRequests(client)) - requestsBefore,
        noopMs,
        split,
      };
    } finally {
      clearInterval(sampler);
    }
  });
}

/** How many "Reconciliation finished" lines the controller logged as `name` has printed. */
function finishedCount(name: string): number {
  return (logs[name] ?? []).filter((line) => line.includes('"Reconciliation finished')).length;
}

/** One Kustomization of `count` ConfigMaps: its first apply, its no-op pass, and the floor under that pass. */
async function large(engine: Engine, count: number): Promise<LargeMeasure> {
  return onEngine(engine, {}, async ({ client, objects, git, kubeconfig }) => {
    const configMap = (i: number) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\ndata:\n  index: "${i}"\n`;
    const manifests = Array.from({ length: count }, (_, i) => configMap(i)).join('---\n');
    await git.createRepo('large', { 'large/configmaps.yaml': manifests });
    await apply(objects, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    await apply(objects, gitRepository('large', git.url('large')));
    process.stderr.write(`${engine.name}: one Kustomization of ${count} ConfigMaps: applying\n`);
    const start = performance.now();
    const allReady = waitForAll(client, 1, ready);
    await apply(objects, kustomization('large', 'large', { path: './large' }));
    await allReady;
    const readyMs = performance.now() - start;
    process.stderr.write(`${engine.name}: applied in ${(readyMs / 1000).toFixed(1)}s; no-op pass\n`);
    const noopMs = await noopPass(client, objects, ['large']);
    // The floor: the same objects as the controller applies them (its owner labels and field manager), so
    // that the server finds nothing to change, as in the no-op pass.
    const applied = Array.from({ length: count }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `cm-${i}`,
        namespace,
        labels: { [Annotation.kustomizeName]: 'large', [Annotation.kustomizeNamespace]: namespace },
      },
      data: { index: String(i) },
    }));
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'bench-large-')), 'configmaps.yaml');
    await writeFile(file, toYaml(applied));
    const fieldManager = FieldManager.kustomizeController;
    let t = performance.now();
    await run(kubectlPath(), [
      '--kubeconfig',
      kubeconfig,
      'apply',
      '--server-side',
      '--force-conflicts',
      `--field-manager=${fieldManager}`,
      '-f',
      file,
    ]);
    const kubectlMs = performance.now() - t;
    t = performance.now();
    await eachParallel(applied, 4, (object) => objects.apply(object, { fieldManager }));
    const clientMs = performance.now() - t;
    await rm(path.dirname(file), { recursive: true, force: true });
    return { engine: engine.name, objects: count, readyMs, noopMs, kubectlMs, clientMs };
  });
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

function fleetTable(measures: FleetMeasure[]): string {
  return markdownTable(
    [
      'engine',
      'N',
      '--concurrent',
      'controllers',
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
      m.shards > 1 ? `${m.shards} shards (${(m.split ?? []).join(' + ')} reconciled)` : '1',
      s(m.readyMs),
      `${m.peakRssMiB.toFixed(0)} MiB`,
      `${m.cpuSeconds.toFixed(1)} s`,
      String(m.apiRequests),
      s(m.noopMs),
    ]),
  );
}

function largeTable(measures: LargeMeasure[]): string {
  return markdownTable(
    [
      'engine',
      'objects',
      'first apply to Ready',
      'no-op pass',
      'floor: kubectl apply --server-side',
      'floor: client, 4 in flight',
      'no-op ÷ kubectl',
      'no-op ÷ client',
    ],
    measures.map((m) => [
      m.engine,
      String(m.objects),
      s(m.readyMs),
      s(m.noopMs),
      s(m.kubectlMs),
      s(m.clientMs),
      ratio(m.noopMs, m.kubectlMs),
      ratio(m.noopMs, m.clientMs),
    ]),
  );
}

interface SoakResults {
  n: number;
  minutes: number;
  driftPercent: number;
  baselineMiB: number;
  endMiB: number;
}
interface PipelineResults {
  results: Record<string, { overheadMs: number }[]>;
}

/** Issue 14's targets, each with what this run (or the latest soak and pipeline run) measured. */
async function targetsTable(fleetMeasures: FleetMeasure[], largeMeasures: LargeMeasure[]): Promise<string> {
  const rows: string[][] = [];
  const single = fleetMeasures.filter((m) => m.shards === 1);
  const largestN = Math.max(...single.filter((m) => m.engine === 'flux').map((m) => m.n));
  for (const c of new Set(single.map((m) => m.concurrent))) {
    const of = (engine: string) =>
      single.find((m) => m.engine === engine && m.n === largestN && m.concurrent === c);
    const [ours, theirs] = [of('sluice'), of('flux')];
    if (!ours || !theirs) continue;
    const time = ours.readyMs / theirs.readyMs;
    rows.push([
      `time to all Ready, N=${largestN}, --concurrent=${c}`,
      '≤ 0.33× Flux',
      `${s(ours.readyMs)} vs ${s(theirs.readyMs)}: ${time.toFixed(2)}×`,
      time <= 1 / 3 ? 'met' : 'missed',
    ]);
    const memory = ours.peakRssMiB / theirs.peakRssMiB;
    rows.push([
      `peak RSS, N=${largestN}, --concurrent=${c}`,
      '≤ 1× Flux',
      `${ours.peakRssMiB.toFixed(0)} vs ${theirs.peakRssMiB.toFixed(0)} MiB: ${memory.toFixed(2)}×`,
      memory <= 1 ? 'met' : 'missed',
    ]);
  }
  const oursLarge = largeMeasures.find((m) => m.engine === 'sluice');
  if (oursLarge) {
    const floor = oursLarge.noopMs / oursLarge.kubectlMs;
    rows.push([
      `no-op pass of one Kustomization with ${oursLarge.objects} objects`,
      '≤ 1.2× a raw server-side apply',
      `${s(oursLarge.noopMs)} vs kubectl's ${s(oursLarge.kubectlMs)}: ${floor.toFixed(2)}× (vs the client with 4 in flight, ${s(oursLarge.clientMs)}: ${ratio(oursLarge.noopMs, oursLarge.clientMs)})`,
      floor <= 1.2 ? 'met' : 'missed',
    ]);
  }
  const soak = await latestResults<SoakResults>('soak');
  rows.push(
    soak
      ? [
          `RSS drift over ${soak.data.minutes} minutes at N=${soak.data.n}, 1-minute intervals`,
          '< 10%',
          `${soak.data.baselineMiB.toFixed(0)} → ${soak.data.endMiB.toFixed(0)} MiB: ${soak.data.driftPercent.toFixed(1)}% (${soak.file})`,
          Math.abs(soak.data.driftPercent) < 10 ? 'met' : 'missed',
        ]
      : ['RSS drift over 30 minutes', '< 10%', 'not measured yet: npm run bench:soak', '-'],
  );
  const pipeline = await latestResults<PipelineResults>('pipeline');
  const overheads = (pipeline?.data.results['sluice'] ?? []).map((r) => r.overheadMs);
  rows.push(
    overheads.length > 0
      ? [
          'seed 001 controller overhead per release',
          '< 0.3 s',
          `median ${(median(overheads) / 1000).toFixed(2)} s (${pipeline?.file})`,
          median(overheads) < 300 ? 'met' : 'missed',
        ]
      : ['seed 001 controller overhead per release', '< 0.3 s', 'not measured yet: npm run bench', '-'],
  );
  return markdownTable(['target', 'goal', 'measured', ''], rows);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '100,500,1000' },
      concurrent: { type: 'string', default: '4,20' },
      only: { type: 'string' },
      large: { type: 'string', default: '1000' },
    },
  });
  const sizes = (values.n ?? '').split(',').map(Number);
  const concurrencies = (values.concurrent ?? '').split(',').map(Number);
  const largeObjects = Number(values.large);
  const fleetMeasures: FleetMeasure[] = [];
  const largeMeasures: LargeMeasure[] = [];
  const notes: string[] = [];
  for (const engine of [sluice, flux].filter((e) => !values.only || e.name === values.only)) {
    const missing = await engine.missing();
    if (missing) {
      notes.push(missing);
      continue;
    }
    for (const n of sizes) for (const c of concurrencies) fleetMeasures.push(await fleet(engine, n, c));
    if (engine === sluice) {
      for (const c of concurrencies) fleetMeasures.push(await fleet(engine, Math.max(...sizes), c, 2));
    }
    if (largeObjects > 0) largeMeasures.push(await large(engine, largeObjects));
  }
  const started = new Date().toISOString();
  const report = [
    `# Scale benchmark, ${started}`,
    '',
    `N Kustomizations of flux-benchmark's shape (ServiceAccount, Service, ConfigMap, Deployment scaled to 0; wait: true), one GitRepository (one per shard when sharded), each engine on its own local cluster (kube-apiserver ${kubernetesVersion()}, kwok), on this project's 2-core machine. Flux: source-controller and kustomize-controller ${await fluxBenchVersion()} (v1.10 cannot be built here: the Go module proxy refuses modules it needs; see dev/cluster/versions.sh).`,
    '',
    fleetTable(fleetMeasures),
    '',
    `One Kustomization of ${largeObjects} ConfigMaps (wait: true), and the floor under its no-op pass: the same objects, as the controller applies them, applied again server-side.`,
    '',
    largeTable(largeMeasures),
    '',
    '## Targets',
    '',
    await targetsTable(fleetMeasures, largeMeasures),
    '',
    ...notes,
  ].join('\n');
  await keepResults('scale', started, report, { fleet: fleetMeasures, large: largeMeasures });
}

await main().catch((error: unknown) => {
  process.stderr.write(`✗ ${errorMessage(error)}\n`);
  process.exitCode = 1;
});
