// `npm run bench:soak`: does the controller's memory stay flat? N Kustomizations of the scale benchmark's shape
// with a 1-minute interval, so every one is reconciled again each minute, for 30 minutes on its own local
// cluster. The RSS of the controller (with any children) is sampled every 10 s; the drift is the median of the
// last 5 minutes against the median of minutes 5 to 10 (the first 5 are the initial apply and the caches
// filling). Prints a table per minute (RSS, passes finished); keeps it in bench/results/.
//
//   node bench/soak.ts [--n 1000] [--minutes 30] [--only sluice|flux]
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../src/errors.ts';
import { fluxBenchVersion } from '../dev/flux.ts';
import { kubernetesVersion } from '../dev/cluster.ts';
import { flux, logs, onEngine, sluice, type Engine } from './engines.ts';
import { keepResults, markdownTable, median } from './table.ts';
import {
  appFiles,
  apply,
  eachParallel,
  gitRepository,
  kustomization,
  namespace,
  ready,
  treeRssMiB,
  waitForAll,
} from './fleet.ts';

const sampleMs = 10_000;

interface Minute {
  minute: number;
  medianMiB: number;
  maxMiB: number;
  /** "Reconciliation finished" lines logged during the minute. */
  passes: number;
}

interface Soak {
  engine: string;
  n: number;
  minutes: number;
  baselineMiB: number;
  endMiB: number;
  driftPercent: number;
  perMinute: Minute[];
}

async function soak(engine: Engine, n: number, minutes: number): Promise<Soak> {
  return onEngine(engine, {}, async ({ client, objects, git, processes }) => {
    await git.createRepo('app', appFiles);
    await apply(objects, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    await apply(objects, gitRepository('repo', git.url('app')));
    const kustomizations = Array.from({ length: n }, (_, i) =>
      kustomization(`app-${i}`, 'repo', {
        path: './app',
        interval: '1m',
        postBuild: { substitute: { INDEX: `app-${i}` } },
      }),
    );
    const roots = processes.map((p) => p.pid ?? 0).filter(Boolean);
    const samples: { at: number; mib: number }[] = [];
    const passesAt: number[] = [];
    const start = Date.now();
    process.stderr.write(`${engine.name}: ${n} Kustomizations, interval 1m, for ${minutes} minutes\n`);
    const allReady = waitForAll(client, n, ready);
    await eachParallel(kustomizations, 16, (ks) => apply(objects, ks));
    await allReady;
    process.stderr.write(`${engine.name}: all Ready after ${((Date.now() - start) / 1000).toFixed(0)}s\n`);
    let seenLines = 0;
    const name = engine === sluice ? 'sluice' : 'kustomize-controller';
    while (Date.now() - start < minutes * 60_000) {
      samples.push({ at: Date.now() - start, mib: await treeRssMiB(roots) });
      const lines = logs[name] ?? [];
      for (const line of lines.slice(seenLines)) {
        if (line.includes('"Reconciliation finished')) passesAt.push(Date.now() - start);
      }
      seenLines = lines.length;
      const minute = Math.floor((Date.now() - start) / 60_000);
      if (samples.length % 6 === 0) {
        process.stderr.write(`  minute ${minute}: ${samples.at(-1)?.mib.toFixed(0)} MiB\n`);
      }
      await sleep(sampleMs);
    }
    const perMinute: Minute[] = Array.from({ length: minutes }, (_, m) => {
      const inMinute = samples.filter((x) => Math.floor(x.at / 60_000) === m).map((x) => x.mib);
      return {
        minute: m + 1,
        medianMiB: median(inMinute),
        maxMiB: Math.max(...inMinute),
        passes: passesAt.filter((at) => Math.floor(at / 60_000) === m).length,
      };
    });
    const between = (from: number, to: number) =>
      median(samples.filter((x) => x.at >= from * 60_000 && x.at < to * 60_000).map((x) => x.mib));
    const baselineMiB = between(5, 10);
    const endMiB = between(minutes - 5, minutes);
    return {
      engine: engine.name,
      n,
      minutes,
      baselineMiB,
      endMiB,
      driftPercent: (endMiB / baselineMiB - 1) * 100,
      perMinute,
    };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '1000' },
      minutes: { type: 'string', default: '30' },
      only: { type: 'string', default: 'sluice' },
    },
  });
  const n = Number(values.n);
  const minutes = Number(values.minutes);
  if (minutes < 15)
    throw new Error('--minutes must be at least 15: the drift compares minutes 5-10 with the last 5');
  const engine = [sluice, flux].find((e) => e.name === values.only);
  if (!engine) throw new Error(`--only takes sluice or flux, not ${values.only}`);
  const missing = await engine.missing();
  if (missing) throw new Error(missing);
  const result = await soak(engine, n, minutes);
  const started = new Date().toISOString();
  const version = engine === flux ? ` (Flux ${await fluxBenchVersion()})` : '';
  const report = [
    `# Soak benchmark, ${started}`,
    '',
    `${result.engine}${version}: ${n} Kustomizations of the scale benchmark's shape, interval 1m, for ${minutes} minutes on its own local cluster (kube-apiserver ${kubernetesVersion()}, kwok), on this project's 2-core machine. RSS of the controller processes and their children, sampled every 10 s.`,
    '',
    `RSS drift: ${result.baselineMiB.toFixed(0)} MiB (median of minutes 5-10) → ${result.endMiB.toFixed(0)} MiB (median of the last 5): ${result.driftPercent.toFixed(1)}%.`,
    '',
    markdownTable(
      ['minute', 'RSS (median)', 'RSS (max)', 'passes finished'],
      result.perMinute.map((m) => [
        String(m.minute),
        `${m.medianMiB.toFixed(0)} MiB`,
        `${m.maxMiB.toFixed(0)} MiB`,
        String(m.passes),
      ]),
    ),
  ].join('\n');
  await keepResults('soak', started, report, result);
}

await main().catch((error: unknown) => {
  process.stderr.write(`✗ ${errorMessage(error)}\n`);
  process.exitCode = 1;
});
