// `sluice get pipelines` and `sluice get pipeline NAME`: a namespace's dependsOn graphs as their owners see
// them (a release at stage k), with each stage's Jobs and workloads; `--watch` follows the pipeline from
// watches, one line per change. Flux has no such command.
import { Command } from 'commander';
import { stringify } from 'yaml';
import type { Kustomization } from '../api/kustomization.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { collectionPath } from '../api/meta.ts';
import { humanDuration, formatDuration } from '../api/duration.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isForbidden } from '../kube/errors.ts';
import { ObjectClient } from '../kube/objects.ts';
import { findPipeline, pipelinesOf, type Pipeline, type Stage } from '../pipeline/pipeline.ts';
import { describeState, followPipelines } from '../pipeline/follow.ts';
import { outputOption, withClusterOptions, type ClusterOptions, type OutputFormat } from './flags.ts';
import { formatTable, truncateHex } from './table.ts';
import { ReportedFailure, runWithClient } from './status-log.ts';

interface PipelineOptions extends ClusterOptions {
  output: OutputFormat;
  watch?: boolean;
}

/** Every Kustomization the user may list: all namespaces (for dependsOn edges across them), else the one. */
export async function listKustomizations(client: KubeClient, namespace: string): Promise<Kustomization[]> {
  try {
    return (await client.list<Kustomization>(collectionPath(KustomizationApi))).items;
  } catch (error) {
    if (!isForbidden(error)) throw error;
    return (await client.list<Kustomization>(collectionPath(KustomizationApi, namespace))).items;
  }
}

/** `Progressing at stage 2 (app-deploy)`, `Failed at stage 1 (app-pre-deploy)`, `Ready`. */
export function pipelineStateText(p: Pipeline): string {
  const stage = p.atStage === undefined ? undefined : p.stages[p.atStage - 1];
  return stage ? `${p.state} at stage ${stage.index} (${stage.name})` : p.state;
}

const age = (since: string | undefined, now: Date) =>
  since ? humanDuration(now.getTime() - Date.parse(since)) : '-';

export const pipelinesHeader = ['Name', 'Stages', 'Revision', 'State', 'Age'];

export function pipelineRow(p: Pipeline, now: Date): string[] {
  return [
    p.name,
    p.stages.map((s) => (s.namespace === p.namespace ? s.name : s.key)).join(' → '),
    truncateHex(p.revision) || '-',
    pipelineStateText(p),
    age(p.createdAt, now),
  ];
}

export const stagesHeader = ['Stage', 'Name', 'Revision', 'State', 'Since', 'Took'];

/** A stage, then a line for each of its Jobs (newest run) and workloads (their rollout, from `live`). */
export function stageRows(stage: Stage, live: ReadonlyMap<string, KubeObject>, now: Date): string[][] {
  const rows = [
    [
      String(stage.index),
      stage.name,
      truncateHex(stage.revision) || '-',
      stage.state === 'Failed' || stage.state === 'Waiting'
        ? `${stage.state}: ${truncateHex(stage.message)}`
        : stage.state,
      age(stage.lastTransition, now),
      stage.duration ?? '-',
    ],
  ];
  for (const job of stage.jobs) {
    const exit = job.exitCode === undefined ? '' : ` (exit ${job.exitCode})`;
    const took = job.finishedAt
      ? formatDuration(Date.parse(job.finishedAt) - Date.parse(job.startedAt))
      : `${formatDuration(now.getTime() - Date.parse(job.startedAt))} so far`;
    rows.push([
      '',
      `└ Job/${job.name.split('/')[1]}`,
      truncateHex(job.revision),
      `${job.result}${exit}, attempt ${job.attempt}`,
      age(job.startedAt, now),
      took,
    ]);
  }
  for (const workload of stage.workloads) {
    const [kind, , name] = workload.split('/');
    const object = live.get(workload);
    const rollout = !object
      ? 'not found'
      : kind === 'Deployment'
        ? describeState('Deployment', object)
        : 'applied';
    rows.push(['', `└ ${kind}/${name}`, '', rollout, '', '']);
  }
  return rows;
}

/** The live workloads of the pipeline's stages, by `Kind/namespace/name`. */
async function liveWorkloads(client: KubeClient, p: Pipeline): Promise<Map<string, KubeObject>> {
  const objects = new ObjectClient(client);
  const live = new Map<string, KubeObject>();
  for (const workload of p.stages.flatMap((s) => s.workloads)) {
    const [kind = '', namespace = '', name = ''] = workload.split('/');
    const object = await objects.get({ apiVersion: 'apps/v1', kind, namespace, name });
    if (object) live.set(workload, object);
  }
  return live;
}

function print(document: unknown, output: OutputFormat): void {
  process.stdout.write(output === 'json' ? `${JSON.stringify(document, null, 2)}\n` : stringify(document));
}

export function getPipelinesCommand(): Command {
  return withClusterOptions(
    new Command('pipelines')
      .description("list the namespace's pipelines: the dependsOn graphs of its Kustomizations")
      .addOption(outputOption()),
  ).action(async (options: PipelineOptions) => {
    await runWithClient(options, async (client, log) => {
      const pipelines = pipelinesOf(await listKustomizations(client, options.namespace), options.namespace);
      if (options.output !== 'table') return print(pipelines, options.output);
      if (pipelines.length === 0) {
        log.failure(`no Kustomizations found in "${options.namespace}" namespace`);
        throw new ReportedFailure();
      }
      const now = new Date();
      process.stdout.write(
        formatTable(
          pipelinesHeader,
          pipelines.map((p) => pipelineRow(p, now)),
        ),
      );
    });
  });
}

export function getPipelineCommand(): Command {
  return withClusterOptions(
    new Command('pipeline')
      .description("show a pipeline's stages in order, with their Jobs and workloads; --watch follows it")
      .argument('<name>', 'the pipeline: its root Kustomization, or any of its stages')
      .option(
        '-w, --watch',
        'after the stages, print each change of the pipeline as it happens, until Ctrl-C',
      )
      .addOption(outputOption()),
  ).action(async (name: string, options: PipelineOptions) => {
    await runWithClient(options, async (client, log) => {
      const all = await listKustomizations(client, options.namespace);
      const pipeline = findPipeline(pipelinesOf(all, options.namespace), options.namespace, name);
      if (!pipeline) {
        log.failure(`no pipeline with a Kustomization '${name}' in "${options.namespace}" namespace`);
        throw new ReportedFailure();
      }
      if (options.output !== 'table') return print(pipeline, options.output);
      const now = new Date();
      const live = await liveWorkloads(client, pipeline);
      process.stdout.write(
        `${pipeline.namespace}/${pipeline.name}: ${pipelineStateText(pipeline)}, revision ${truncateHex(pipeline.revision) || '-'}, source ${pipeline.source}\n\n`,
      );
      process.stdout.write(
        formatTable(
          stagesHeader,
          pipeline.stages.flatMap((s) => stageRows(s, live, now)),
        ),
      );
      if (options.watch) await watchPipeline(client, pipeline);
    });
  });
}

/** Prints each change of the pipeline's stages, Jobs and workloads as it happens, until Ctrl-C. */
async function watchPipeline(client: KubeClient, pipeline: Pipeline): Promise<void> {
  const members = new Set(
    pipeline.stages.filter((s) => s.namespace === pipeline.namespace).map((s) => s.name),
  );
  const width = Math.max(...[...members].map((m) => m.length));
  const started = performance.now();
  const abort = new AbortController();
  process.stdout.write('\n');
  await new Promise<void>((resolve, reject) => {
    process.once('SIGINT', () => {
      abort.abort();
      resolve();
    });
    followPipelines(
      client,
      pipeline.namespace,
      (change) => {
        if (!members.has(change.kustomization)) return;
        const at = `+${((performance.now() - started) / 1000).toFixed(1)}s`.padStart(8);
        process.stdout.write(
          `${at}  ${change.kustomization.padEnd(width)}  ${change.subject.padEnd(34)} ${change.state}\n`,
        );
      },
      {
        signal: abort.signal,
        // The table above already says how things stand.
        replay: false,
        onError: (kind, error) => {
          abort.abort();
          reject(new Error(`watching ${kind}s stopped: ${String(error)}`));
        },
      },
    );
  });
}
