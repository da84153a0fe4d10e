// When has the controller finished with a client's request, and how did it end? The one rule that `reconcile`,
// `create`, `resume` and the demo wait by, read off a GitRepository's or Kustomization's status the way Flux's
// controllers write it.
import type { StatusCondition } from '../api/meta.ts';
import type { KubeObject, KubeObjectHeader } from '../kube/client.ts';
import type { ObjectClient, ObjectRef } from '../kube/objects.ts';

/** What was asked, by what the status shows once a pass has handled it. */
export type Request =
  /** A `reconcile.fluxcd.io/requestedAt` value: handled once `status.lastHandledReconcileAt` is that value. */
  | { requestedAt: string }
  /** A spec change (create, resume): handled once the conditions are about this generation. */
  | { generation: number }
  /** A Kustomization's new source revision: handled once it is `status.lastAttemptedRevision`. */
  | { revision: string };

export interface ReconciledObject extends KubeObjectHeader {
  status?: {
    observedGeneration?: number;
    lastHandledReconcileAt?: string;
    lastAttemptedRevision?: string;
    lastAppliedRevision?: string;
    conditions?: StatusCondition[];
  };
}

export type RequestOutcome<T> =
  /** Not handled yet, or waiting on something the controller moves on from by itself; `progress` says which. */
  | { state: 'pending'; progress?: string }
  | { state: 'succeeded'; object: T }
  | { state: 'failed'; message: string }
  | { state: 'deleted' };

/**
 * Ready=False reasons that are waits, not failures: the controller reconciles again by itself, event-driven,
 * the moment the dependency or the source's artifact is there, or at once after a cancelled health check.
 */
function waiting(ready: { reason?: string; message?: string }): boolean {
  return (
    ready.reason === 'DependencyNotReady' ||
    ready.reason === 'Progressing' ||
    ready.reason === 'HealthCheckCanceled' ||
    (ready.reason === 'ArtifactFailed' && /artifact not found/i.test(ready.message ?? ''))
  );
}

export function requestOutcome<T extends ReconciledObject>(
  object: T | undefined,
  request: Request,
): RequestOutcome<T> {
  if (!object) return { state: 'deleted' };
  const status = object.status ?? {};
  const condition = (type: string) => status.conditions?.find((c) => c.type === type);
  const reconciling = condition('Reconciling');
  const progress = reconciling?.status === 'True' ? reconciling.message : undefined;
  const about = (c: { observedGeneration?: number }) =>
    !('generation' in request) || (c.observedGeneration ?? status.observedGeneration) === request.generation;
  const handled =
    'requestedAt' in request
      ? status.lastHandledReconcileAt === request.requestedAt
      : 'revision' in request
        ? status.lastAttemptedRevision === request.revision
        : true;
  if (!handled) return { state: 'pending', progress };

  const stalled = condition('Stalled');
  if (stalled?.status === 'True' && about(stalled))
    return { state: 'failed', message: stalled.message ?? '' };
  const ready = condition('Ready');
  if (!ready || !about(ready)) return { state: 'pending', progress };
  if (ready.status === 'False') {
    // Unlike flux, which keeps polling until its timeout, a pass that ended in a failure is reported now.
    return waiting(ready)
      ? { state: 'pending', progress: ready.message }
      : { state: 'failed', message: ready.message ?? '' };
  }
  const settled =
    ready.status === 'True' &&
    reconciling?.status !== 'True' &&
    ('generation' in request ? status.observedGeneration === request.generation : true) &&
    ('revision' in request ? status.lastAppliedRevision === request.revision : true);
  return settled ? { state: 'succeeded', object } : { state: 'pending', progress };
}

/**
 * Watches the object until the controller has finished with `request` (the outcome is not pending), telling
 * `onProgress` each pending message on the way; throws the signal's reason when it aborts first.
 */
export async function waitForRequest<T extends ReconciledObject & KubeObject>(
  objects: ObjectClient,
  ref: ObjectRef,
  request: Request,
  options: { signal: AbortSignal; onProgress?: (message: string) => void },
): Promise<RequestOutcome<T>> {
  const outcomeOf = (state: T | undefined) => requestOutcome(state, request);
  const final = await objects.waitFor<T>(
    ref,
    (state) => {
      const outcome = outcomeOf(state);
      if (outcome.state === 'pending' && outcome.progress) options.onProgress?.(outcome.progress);
      return outcome.state !== 'pending';
    },
    options.signal,
  );
  return outcomeOf(final);
}
