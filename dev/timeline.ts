// A timeline of what happened in a namespace, from watch events recorded as they arrive: Jobs (created,
// Complete, Failed), Deployments (image, Available) and GitRepositories (artifact revision). The e2e tests
// prove ordering from it; the benchmark measures with it.
import type { KubeClient, KubeObject } from '../src/kube/client.ts';
import { listWatch } from '../src/kube/watch.ts';
import { condition } from './cluster.ts';

export interface Moment {
  /** performance.now() when the event arrived. */
  at: number;
  kind: 'Job' | 'Deployment' | 'GitRepository';
  name: string;
  uid: string;
  image: string;
  complete: boolean;
  failed: boolean;
  available: boolean;
  /**
   * The Deployment's controller reports its rollout complete: the current generation observed, every replica
   * updated and available, and Progressing with reason NewReplicaSetAvailable (what a health check waits for).
   */
  rolledOut: boolean;
  created: boolean;
  /** The watch's DELETED event: the object is gone. */
  deleted: boolean;
  revision: string;
}

export interface Timeline {
  moments: Moment[];
  /** Why recording stopped early, if it did; reported by whoever reads the timeline. */
  error?: unknown;
  stop(): void;
}

const collections = (namespace: string) =>
  [
    ['Job', `/apis/batch/v1/namespaces/${namespace}/jobs`],
    ['Deployment', `/apis/apps/v1/namespaces/${namespace}/deployments`],
    ['GitRepository', `/apis/source.toolkit.fluxcd.io/v1/namespaces/${namespace}/gitrepositories`],
  ] as const;

function momentOf(kind: Moment['kind'], o: KubeObject, type: 'ADDED' | 'MODIFIED' | 'DELETED'): Moment {
  const spec = (o['spec'] ?? {}) as {
    replicas?: number;
    template?: { spec?: { containers?: { image: string }[] } };
  };
  const status = (o['status'] ?? {}) as {
    updatedReplicas?: number;
    availableReplicas?: number;
    replicas?: number;
    observedGeneration?: number;
    artifact?: { revision?: string };
  };
  const progressing = condition(o, 'Progressing');
  return {
    at: performance.now(),
    kind,
    name: o.metadata?.name ?? '',
    uid: o.metadata?.uid ?? '',
    image: spec.template?.spec?.containers?.[0]?.image ?? '',
    complete: condition(o, 'Complete')?.status === 'True',
    failed: condition(o, 'Failed')?.status === 'True',
    available: condition(o, 'Available')?.status === 'True' && status.updatedReplicas === spec.replicas,
    rolledOut:
      status.observedGeneration === o.metadata?.generation &&
      progressing?.status === 'True' &&
      String(progressing.reason) === 'NewReplicaSetAvailable' &&
      (status.updatedReplicas ?? 0) === (spec.replicas ?? 1) &&
      (status.availableReplicas ?? 0) === (spec.replicas ?? 1) &&
      (status.replicas ?? 0) === (spec.replicas ?? 1),
    created: type === 'ADDED',
    deleted: type === 'DELETED',
    revision: status.artifact?.revision ?? '',
  };
}

/** Starts recording every change of those kinds in the namespace, in arrival order, until stop(). */
export function recordTimeline(client: KubeClient, namespace: string): Timeline {
  const abort = new AbortController();
  const timeline: Timeline = { moments: [], stop: () => abort.abort() };
  for (const [kind, collection] of collections(namespace)) {
    void (async () => {
      for await (const e of listWatch<KubeObject>(client, collection, { signal: abort.signal })) {
        if (e.type !== 'SYNCED') timeline.moments.push(momentOf(kind, e.object, e.type));
      }
    })().catch((error: unknown) => {
      timeline.error ??= error; // the client closed at teardown, or a real failure
    });
  }
  return timeline;
}

/** When the first moment matching `match` arrived; fails if none did, or if recording stopped early. */
export function firstAt(timeline: Timeline, what: string, match: (m: Moment) => boolean): number {
  if (timeline.error !== undefined) {
    throw new Error(`the timeline stopped recording early: ${String(timeline.error)}`);
  }
  const found = timeline.moments.find(match);
  if (!found) throw new Error(`no watch event for: ${what}`);
  return found.at;
}
