// The reconcile skeleton of a source kind (GitRepository, OCIRepository), as Flux's source-controller runs each:
// fetch into an artifact at every interval (with jitter), ArtifactInStorage and Ready on success, FetchFailed and
// a retry with backoff on failure, and
// the object's artifacts removed from the store when it is deleted.
import { FieldManager, type ApiType, type Reason } from '../api/meta.ts';
import { parseDuration } from '../api/duration.ts';
import { withJitter, type ReconcileFunc } from '../runtime/controller.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { deleteCondition, setCondition } from '../runtime/conditions.ts';
import type { ArtifactStore } from '../source/artifact.ts';
import { Pass, ReconcileError, reconcileWith, type Reconcilable } from './reconcile.ts';
import type { ControllerContext } from './manager.ts';

/** A source kind's object: fetched every `spec.interval`. */
interface SourceObject extends Reconcilable {
  spec: { interval: string; suspend?: boolean };
}

export function sourceReconciler<S extends SourceObject>(
  ctx: ControllerContext,
  events: EventRecorder,
  how: {
    api: ApiType;
    failureReason: Reason;
    store: ArtifactStore;
    /** Fetches the source and stores a new artifact when there is one; returns what Ready says. */
    fetch(pass: Pass<S>): Promise<string>;
  },
): ReconcileFunc {
  return reconcileWith<S, Pass<S>>(ctx, {
    api: how.api,
    failureReason: how.failureReason,
    pass: (source, request) =>
      new Pass(source, request, { objects: ctx.objects, events, statusManager: FieldManager.sourceStatus }),
    finalize: (pass) => how.store.removeAll(how.api.kind, pass.request.namespace, pass.request.name),
    async reconcile(pass) {
      const stored = await how.fetch(pass);
      deleteCondition(pass.status, 'FetchFailed');
      setCondition(pass.status, pass.generation, {
        type: 'ArtifactInStorage',
        status: 'True',
        reason: 'Succeeded',
        message: stored,
      });
      pass.setReady('True', 'Succeeded', stored);
      return { requeueAfterMs: withJitter(parseDuration(pass.object.spec.interval, 'spec.interval')) };
    },
    async failed(pass, error) {
      setCondition(pass.status, pass.generation, {
        type: 'FetchFailed',
        status: 'True',
        reason: error.reason,
        message: error.message,
      });
      throw error; // retried with backoff, as Flux's source-controller does
    },
  });
}

/**
 * Stalls on the fields (described, or undefined when unset) that sluice does not implement: a clear message,
 * never a silent artifact that lacks what they ask for. `what` is what removing them allows, e.g. "fetch the
 * repository".
 */
export function refuseUnsupported(fields: (string | undefined)[], reason: Reason, what: string): void {
  const set = fields.filter((field): field is string => field !== undefined);
  if (set.length === 0) return;
  const [verb, pronoun] = set.length > 1 ? ['are', 'them'] : ['is', 'it'];
  throw new ReconcileError(
    reason,
    `${set.join(', ')} ${verb} not supported by sluice yet; remove ${pronoun} to ${what}`,
    {
      stalled: true,
    },
  );
}
