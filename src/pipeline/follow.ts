// A pipeline moving, from watches: each change of a namespace's Kustomizations, Jobs and Deployments as one
// line of what its owner would say ("Job/db-migration Complete ✔", "Deployment/my-app v1.0.1 rolling out").
// `sluice get pipeline --watch`, the web view's live updates and the demo follow pipelines with it.
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { listWatch } from '../kube/watch.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { Annotation } from '../api/meta.ts';
import type { StatusCondition } from '../api/meta.ts';

/** Commit hashes cut to 8 characters, as flux prints revisions. */
export const shortRevision = (revision: string): string =>
  revision.replace(/([0-9a-f]{8})[0-9a-f]{32,120}/g, '$1');

export type FollowedKind = 'Kustomization' | 'Job' | 'Deployment';

export interface PipelineChange {
  kind: FollowedKind;
  object: KubeObject;
  /** `Kind/name`. */
  subject: string;
  /** The Kustomization it belongs to: its own name for a Kustomization, the owner label's for the rest. */
  kustomization: string;
  /** What changed, in words; never empty. */
  state: string;
}

// Any kind's conditions, read leniently: a malformed status is no news, not a stopped watch.
const conditionOf = (o: KubeObject, type: string): StatusCondition | undefined => {
  const conditions = (o['status'] as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(conditions)
    ? (conditions as StatusCondition[]).find((c) => c?.type === type)
    : undefined;
};

/** What a change of one object means, in words; empty when it says nothing new (a status not yet written). */
export function describeState(kind: FollowedKind, o: KubeObject): string {
  if (kind === 'Job') {
    if (conditionOf(o, 'Complete')?.status === 'True') return 'Complete ✔';
    const failed = conditionOf(o, 'Failed');
    if (failed?.status === 'True') return `Failed ✗ ${failed.message ?? ''}`.trimEnd();
    return (o['status'] as { startTime?: string } | undefined)?.startTime ? 'Running' : 'Created';
  }
  if (kind === 'Deployment') {
    const spec = o['spec'] as {
      replicas?: number;
      template?: { spec?: { containers?: { image?: string }[] } };
    };
    const status = (o['status'] ?? {}) as {
      updatedReplicas?: number;
      replicas?: number;
      observedGeneration?: number;
    };
    const image = spec.template?.spec?.containers?.[0]?.image?.split(':').pop();
    // A status written for the previous generation says nothing about the new image yet.
    const rolled =
      status.observedGeneration === o.metadata?.generation &&
      conditionOf(o, 'Available')?.status === 'True' &&
      status.updatedReplicas === spec.replicas &&
      status.replicas === spec.replicas;
    return rolled ? `${image} Available ✔ (${spec.replicas} replicas)` : `${image} rolling out`;
  }
  const ready = conditionOf(o, 'Ready');
  const progress = conditionOf(o, 'Reconciling')?.message ?? '';
  const applied = (o['status'] as { lastAppliedRevision?: string } | undefined)?.lastAppliedRevision ?? '';
  if ((o['spec'] as { suspend?: boolean } | undefined)?.suspend) return 'suspended';
  if (ready?.status === 'True') return `Ready ✔ applied ${shortRevision(applied)}`;
  if (ready?.reason === 'DependencyNotReady') return 'waiting for its dependency';
  if (ready?.message?.startsWith('Source artifact not found')) return 'waiting for the source';
  if (ready?.status === 'False') return `Ready ✗ ${ready.message}`;
  if (progress.startsWith('Detecting drift'))
    return `applying ${shortRevision(progress.split(' ')[4] ?? '')}`;
  if (progress.startsWith('Running health checks')) return 'applied, waiting for health checks';
  return '';
}

const collections = (namespace: string): [FollowedKind, string][] => [
  [
    'Kustomization',
    `/apis/${KustomizationApi.group}/${KustomizationApi.version}/namespaces/${namespace}/kustomizations`,
  ],
  ['Job', `/apis/batch/v1/namespaces/${namespace}/jobs`],
  ['Deployment', `/apis/apps/v1/namespaces/${namespace}/deployments`],
];

/**
 * Calls `onChange` for each change of the namespace's Kustomizations, Jobs and Deployments that says something
 * new about its subject, as the watch events arrive, until `signal` aborts. `onError` hears a watch that
 * stopped for another reason.
 */
export function followPipelines(
  client: KubeClient,
  namespace: string,
  onChange: (change: PipelineChange) => void,
  options: {
    signal: AbortSignal;
    onError: (kind: FollowedKind, error: unknown) => void;
    /** Whether what exists when following starts is reported too (default), or only what changes after. */
    replay?: boolean;
  },
): void {
  const last = new Map<string, string>();
  for (const [kind, collection] of collections(namespace)) {
    void (async () => {
      let synced = false;
      for await (const e of listWatch<KubeObject>(client, collection, { signal: options.signal })) {
        if (e.type === 'SYNCED') synced = true;
        if (e.type !== 'ADDED' && e.type !== 'MODIFIED') continue;
        const subject = `${kind}/${e.object.metadata?.name}`;
        const state = describeState(kind, e.object);
        if (!state || last.get(subject) === state) continue;
        last.set(subject, state);
        if (!synced && options.replay === false) continue;
        const kustomization =
          kind === 'Kustomization'
            ? (e.object.metadata?.name ?? '')
            : (e.object.metadata?.labels?.[Annotation.kustomizeName] ?? '');
        onChange({ kind, object: e.object, subject, kustomization, state });
      }
    })().catch((error: unknown) => {
      if (!options.signal.aborted) options.onError(kind, error);
    });
  }
}
