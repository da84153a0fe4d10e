// Pipelines, a concept Flux does not have: the `dependsOn` graphs of a namespace's Kustomizations (edges into
// other namespaces included), each a set of stages in dependency order, with one state for the whole. Pure:
// the CLI (`sluice get pipelines`), the web view (`sluice ui`) and the demo read the same model.
import type { JobRun, Kustomization } from '../api/kustomization.ts';
import { getCondition } from '../runtime/conditions.ts';
import { dependencyKeys, keyOf, sortByDependencies } from '../controllers/kustomization/dependencies.ts';
import { parseObjectId } from '../inventory/inventory.ts';

/** A stage's state, as its owner would say it. */
export type StageState = 'Ready' | 'Progressing' | 'Waiting' | 'Failed' | 'Suspended';

export interface StageJob {
  /** `namespace/name` of the Job. */
  name: string;
  attempt: number;
  result: JobRun['result'];
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
  revision: string;
}

export interface Stage {
  /** 1-based position in dependency order. */
  index: number;
  /** `namespace/name` of the Kustomization. */
  key: string;
  namespace: string;
  name: string;
  /** `namespace/name` of the stages it depends on. */
  dependsOn: string[];
  state: StageState;
  /** The Ready condition's message (why it failed or waits). */
  message: string;
  /** The revision it last attempted, else the one it last applied. */
  revision: string;
  lastAppliedRevision: string;
  /** When Ready last changed. */
  lastTransition?: string;
  /** How long its last reconcile took (Flux's status.history). */
  duration?: string;
  /** The newest run of each of its Jobs, in the order they were first run. */
  jobs: StageJob[];
  /** `Kind/namespace/name` of the workloads in its inventory, whose rollout the views show. */
  workloads: string[];
  source: string;
}

export type PipelineState = 'Ready' | 'Progressing' | 'Failed' | 'Suspended';

export interface Pipeline {
  /** The root stage's name: the first stage that depends on nothing. */
  name: string;
  namespace: string;
  stages: Stage[];
  state: PipelineState;
  /** The stage the state is about (1-based): the first failed, else the first not Ready. */
  atStage?: number;
  /** The newest revision any stage attempted: the release moving through. */
  revision: string;
  /** The source of the root stage, `Kind/namespace/name`. */
  source: string;
  createdAt?: string;
}

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** The stage state of one Kustomization from its status. */
export function stageStateOf(ks: Kustomization): StageState {
  if (ks.spec.suspend) return 'Suspended';
  const ready = getCondition(ks.status ?? {}, 'Ready');
  const current = ks.status?.observedGeneration === ks.metadata.generation;
  if (ready?.status === 'True' && current) return 'Ready';
  if (ready?.reason === 'DependencyNotReady') return 'Waiting';
  // Ready=False stays a failure while Flux's Reconciling says it is retrying (ProgressingWithRetry).
  if (ready?.status === 'False' && ready.reason !== 'Progressing') return 'Failed';
  return 'Progressing';
}

function stageOf(ks: Kustomization, index: number): Stage {
  const status = ks.status ?? {};
  const newestRuns = new Map<string, JobRun>();
  // The ledger is newest first: keep the first run seen of each Job, then show them oldest first.
  for (const run of status.jobRuns ?? []) if (!newestRuns.has(run.id)) newestRuns.set(run.id, run);
  const jobs = [...newestRuns.values()].reverse().map((run) => {
    const { namespace, name } = parseObjectId(run.id);
    return {
      name: `${namespace}/${name}`,
      attempt: run.attempt,
      result: run.result,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      exitCode: run.failure?.exitCode,
      revision: run.revision,
    };
  });
  const workloads = (status.inventory?.entries ?? [])
    .map((entry) => parseObjectId(entry.id))
    .filter((id) => workloadKinds.has(id.kind))
    .map((id) => `${id.kind}/${id.namespace}/${id.name}`);
  const ready = getCondition(status, 'Ready');
  const { kind, name, namespace } = ks.spec.sourceRef;
  return {
    index,
    key: keyOf(ks),
    namespace: ks.metadata.namespace ?? '',
    name: ks.metadata.name ?? '',
    dependsOn: dependencyKeys(ks),
    state: stageStateOf(ks),
    message: ready?.message ?? '',
    revision: status.lastAttemptedRevision ?? status.lastAppliedRevision ?? '',
    lastAppliedRevision: status.lastAppliedRevision ?? '',
    lastTransition: ready?.lastTransitionTime,
    duration: status.history?.[0]?.lastReconciledDuration,
    jobs,
    workloads,
    source: `${kind}/${namespace || ks.metadata.namespace}/${name}`,
  };
}

/** The whole pipeline's state: the first failed stage, else the first one not Ready, else Ready. */
function pipelineStateOf(stages: Stage[]): { state: PipelineState; atStage?: number } {
  const failed = stages.find((s) => s.state === 'Failed');
  if (failed) return { state: 'Failed', atStage: failed.index };
  if (stages.every((s) => s.state === 'Suspended')) return { state: 'Suspended' };
  const pending = stages.find((s) => s.state !== 'Ready');
  if (pending)
    return { state: pending.state === 'Suspended' ? 'Suspended' : 'Progressing', atStage: pending.index };
  return { state: 'Ready' };
}

/**
 * The pipelines that have a stage in `namespace`: the connected parts of the dependsOn graph over `all`
 * (which may hold other namespaces, for edges that cross them), by their root's name.
 */
export function pipelinesOf(all: readonly Kustomization[], namespace: string): Pipeline[] {
  const byKey = new Map(all.map((ks) => [keyOf(ks), ks]));
  const neighbours = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    if (!byKey.has(a) || !byKey.has(b)) return;
    (neighbours.get(a) ?? neighbours.set(a, new Set()).get(a))?.add(b);
    (neighbours.get(b) ?? neighbours.set(b, new Set()).get(b))?.add(a);
  };
  for (const ks of all) for (const dep of dependencyKeys(ks)) link(keyOf(ks), dep);
  const seen = new Set<string>();
  const pipelines: Pipeline[] = [];
  for (const ks of all) {
    if (ks.metadata.namespace !== namespace || seen.has(keyOf(ks))) continue;
    const members: Kustomization[] = [];
    const queue = [keyOf(ks)];
    seen.add(keyOf(ks));
    while (queue.length > 0) {
      const key = queue.shift() as string;
      members.push(byKey.get(key) as Kustomization);
      for (const next of neighbours.get(key) ?? []) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    pipelines.push(pipelineOf(members));
  }
  return pipelines.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function pipelineOf(members: Kustomization[]): Pipeline {
  const ordered = sortByDependencies(
    [...members].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0)),
  );
  const stages = ordered.map((ks, i) => stageOf(ks, i + 1));
  const root = ordered.find((ks) => dependencyKeys(ks).length === 0) ?? ordered[0];
  const rootStage = stages.find((s) => s.key === (root ? keyOf(root) : ''));
  return {
    name: root?.metadata.name ?? '',
    namespace: root?.metadata.namespace ?? '',
    stages,
    ...pipelineStateOf(stages),
    revision: newestRevision(ordered),
    source: rootStage?.source ?? '',
    createdAt: root?.metadata.creationTimestamp,
  };
}

/** The revision of the stage that attempted one most recently: where the newest release is. */
function newestRevision(members: Kustomization[]): string {
  let newest = { at: '', revision: '' };
  for (const ks of members) {
    const revision = ks.status?.lastAttemptedRevision;
    const at = getCondition(ks.status ?? {}, 'Ready')?.lastTransitionTime ?? '';
    if (revision && at >= newest.at) newest = { at, revision };
  }
  return newest.revision;
}

/** The pipeline a stage named `name` (in `namespace`) belongs to; its root's name works too. */
export function findPipeline(pipelines: Pipeline[], namespace: string, name: string): Pipeline | undefined {
  return (
    pipelines.find((p) => p.namespace === namespace && p.name === name) ??
    pipelines.find((p) => p.stages.some((s) => s.key === `${namespace}/${name}`))
  );
}
