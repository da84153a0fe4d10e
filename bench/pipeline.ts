// Benchmark: the controller's overhead on seed 001's pipeline (pre-deploy Job → app → post-deploy Job), for
// sluice and for Flux side by side, each with default flags on its own local cluster.
//
// Overhead of one release = time from the new revision being fetched (the GitRepository's artifact changes)
// to the post-deploy Job being Complete, minus what the workloads themselves take: the migration Job's run,
// the Deployment's rollout (from its update until its controller reports the rollout complete, Progressing
// with reason NewReplicaSetAvailable, which is what a health check waits for) and the post-deploy Job's run,
// all measured from watch events.
//
//   node bench/pipeline.ts [--runs 3] [--only sluice|flux]
import { parseArgs } from 'node:util';
import { ContentType } from '../src/kube/client.ts';
import { fluxBenchVersion } from '../dev/flux.ts';
import { kubernetesVersion } from '../dev/cluster.ts';
import { applyPipeline, release, seedFiles, stages, waitForPipeline } from '../dev/seed.ts';
import { recordTimeline, firstAt, type Timeline } from '../dev/timeline.ts';
import { errorMessage } from '../src/errors.ts';
import { flux, logged, logs, onEngine, sluice, type Engine } from './engines.ts';
import { keepResults, markdownTable, median } from './table.ts';

const namespace = 'bench-pipeline';
/** Flux's dependents look again only every 30s, so a release can take minutes there. */
const waitTimeoutMs = 10 * 60_000;

interface Release {
  totalMs: number;
  migrationMs: number;
  rolloutMs: number;
  postDeployMs: number;
  overheadMs: number;
  /** sluice: where each stage's share of the overhead went, from its debug log. */
  stages?: StageOverhead[];
  /** When the new revision's artifact was seen (epoch ms). */
  fetchedAt: number;
}

/** One stage's overhead in a release, in ms. */
interface StageOverhead {
  stage: string;
  /** From the source's new artifact (first stage) or the dependency's end to this stage's pass starting. */
  hop: number;
  fetch: number;
  build: number;
  dryRun: number;
  write: number;
  /** The rest of apply (Job bookkeeping) and of prune (inventory, ledger). */
  other: number;
  /** The health wait beyond the stage's workload (the Job's run, the rollout): setting it up and noticing the end. */
  healthWait: number;
  /** From the health wait's end to "Reconciliation finished": the status write and events. */
  finish: number;
}

interface LogEntry {
  msg?: string;
  ts?: string;
  revision?: string;
  name?: string;
  startedAt?: string;
  phasesMs?: Record<string, number>;
}

/** sluice's overhead per stage of the release of `revision`, from its debug log lines. */
function breakdown(lines: string[], revision: string, release: Release): StageOverhead[] {
  const entries = lines.map((line) => JSON.parse(line.startsWith('{') ? line : '{}') as LogEntry);
  const workload: Record<string, number> = {
    'app-pre-deploy': release.migrationMs,
    'app-deploy': release.rolloutMs,
    'app-post-deploy': release.postDeployMs,
  };
  let previousEnd = release.fetchedAt;
  return stages.map(({ kustomization }) => {
    const ofStage = (msg: string) =>
      entries
        .filter((e) => e.name === kustomization && e.revision === revision && e.msg?.startsWith(msg))
        .at(-1);
    const pass = ofStage('reconcile phases');
    const finished = ofStage('Reconciliation finished');
    const phases = pass?.phasesMs ?? {};
    const ms = (key: string) => phases[key] ?? 0;
    const start = Date.parse(pass?.startedAt ?? '');
    const end = Date.parse(finished?.ts ?? '');
    const phasesEnd = start + ms('fetch') + ms('build') + ms('apply') + ms('prune') + ms('health');
    const stage: StageOverhead = {
      stage: kustomization,
      hop: start - previousEnd,
      fetch: ms('fetch'),
      build: ms('build'),
      dryRun: ms('dryRun'),
      write: ms('write'),
      other: ms('apply') - ms('dryRun') - ms('write') + ms('prune'),
      healthWait: ms('health') - (workload[kustomization] ?? 0),
      finish: end - phasesEnd,
    };
    previousEnd = end;
    return stage;
  });
}

async function scenario(engine: Engine, releases: number): Promise<Release[]> {
  // debug: the per-phase timings are printed with each release
  return onEngine(engine, { logLevel: 'debug' }, async ({ client, objects, git }) => {
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
      if (engine === sluice) {
        // The last stage's status is written just before its pass logs that it finished.
        const last = stages.at(-1)?.kustomization ?? '';
        await logged(
          engine.name,
          (line) =>
            line.includes('"Reconciliation finished') &&
            line.includes(`"name":"${last}"`) &&
            line.includes(revision),
          AbortSignal.timeout(30_000),
        );
        measured.stages = breakdown(logs[engine.name] ?? [], revision, measured);
      }
      results.push(measured);
      for (const stage of measured.stages ?? []) process.stderr.write(`  ${JSON.stringify(stage)}\n`);
      process.stderr.write(
        `${engine.name}: release ${tag}: overhead ${seconds(measured.overheadMs)} of ${seconds(measured.totalMs)}\n`,
      );
    }
    timeline.stop();
    return results;
  });
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
    'Deployment rolled out',
    (x) => after(x) && x.kind === 'Deployment' && x.image === image && x.rolledOut,
  );
  const totalMs = post.end - fetched;
  const fetchedAt = performance.timeOrigin + fetched;
  const migrationMs = migration.end - migration.start;
  const rolloutMs = rolloutEnd - rolloutStart;
  const postDeployMs = post.end - post.start;
  return {
    totalMs,
    migrationMs,
    rolloutMs,
    postDeployMs,
    overheadMs: totalMs - migrationMs - rolloutMs - postDeployMs,
    fetchedAt,
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

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
  return markdownTable(header, rows.slice(1));
}
/** Where sluice's overhead went: each stage's parts, the median over the releases. */
function breakdownTable(releases: Release[]): string {
  const columns: [keyof StageOverhead, string][] = [
    ['hop', 'hop to the stage'],
    ['fetch', 'fetch'],
    ['build', 'build'],
    ['dryRun', 'dry-run'],
    ['write', 'apply'],
    ['other', 'Job ledger, prune'],
    ['healthWait', 'health wait beyond the workload'],
    ['finish', 'status and events'],
  ];
  const rows = stages.map(({ kustomization }) => {
    const of = (key: keyof StageOverhead) =>
      median(releases.map((r) => Number(r.stages?.find((st) => st.stage === kustomization)?.[key] ?? NaN)));
    const parts = columns.map(([key]) => of(key));
    return [
      kustomization,
      ...parts.map((ms) => `${Math.round(ms)} ms`),
      `${Math.round(parts.reduce((a, b) => a + b, 0))} ms`,
    ];
  });
  return markdownTable(['stage', ...columns.map(([, title]) => title), 'sum'], rows);
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
    const missing = await engine.missing();
    if (missing) {
      notes.push(missing);
      continue;
    }
    results[engine.name] = await scenario(engine, releases);
  }
  const started = new Date().toISOString();
  const report = [
    `# Pipeline benchmark, ${started}`,
    '',
    `seed 001 (pre-deploy Job → app → post-deploy Job), ${releases} image bumps, default flags, each engine on its own local cluster (kube-apiserver ${kubernetesVersion()}, kwok). Controller overhead: a release's time from the new artifact to the post-deploy Job's end, minus the two Jobs' runs and the rollout (from the Deployment's update until its controller reports it complete).`,
    `Flux: source-controller and kustomize-controller ${await fluxBenchVersion()} built from the Go module proxy (fluxcd/pkg/artifact pinned to v0.18.1, the newest version the proxy serves); its Kustomizations get targetNamespace, since Flux rejects namespace-less objects (the seed manifests name none).`,
    '',
    table(results),
    '',
    ...(results['sluice']?.length
      ? [
          "Where sluice's overhead goes, per stage (median over the releases, from the controller's debug log): the hop from the source's new artifact or the dependency's end to the stage's pass, its phases, the health wait beyond what the workload itself took, and the status write and events at the end.",
          '',
          breakdownTable(results['sluice']),
          '',
        ]
      : []),
    ...notes,
  ].join('\n');
  await keepResults('pipeline', started, report, { releases, results });
}

await main().catch((error: unknown) => {
  process.stderr.write(`✗ ${errorMessage(error)}\n`);
  process.exitCode = 1;
});
