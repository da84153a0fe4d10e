// The reconcile skeleton both reconcilers share, in the spirit of Flux's patch helper: get the object; handle
// deletion (finalize, then drop the finalizer), add the finalizer, honour suspend; run the reconciler's phases
// on a Pass that holds the status being built; report a failure (Ready=False with its reason, a Warning
// event); and always end by writing the status, once, only when it changed. A failure that retrying cannot
// fix marks the object Stalled and ends in a TerminalError, so the controller does not retry it and its
// metrics count it apart from a success.
import { isDeepStrictEqual } from 'node:util';
import { ContentType, type KubeObject, type KubeObjectHeader } from '../kube/client.ts';
import { refOf, type ObjectClient } from '../kube/objects.ts';
import {
  Annotation,
  Finalizer,
  type ApiType,
  type Condition,
  type ObjectMeta,
  type Reason,
} from '../api/meta.ts';
import {
  deleteCondition,
  getCondition,
  markReconciling,
  markStalled,
  setCondition,
  type WithConditions,
} from '../runtime/conditions.ts';
import {
  TerminalError,
  type ReconcileFunc,
  type ReconcileRequest,
  type Result,
} from '../runtime/controller.ts';
import type { EventRecorder, EventType } from '../runtime/events.ts';
import { errorMessage } from '../errors.ts';
import type { ControllerContext } from './manager.ts';

/** How long a pass runs before its progress is written (see Pass.progress). */
const progressWriteDelayMs = 200;

/** A phase failed: `reason` is the Ready reason Flux reports it with. */
export class ReconcileError extends Error {
  readonly reason: Reason;
  /** Retrying cannot fix it (a configuration error): the object is Stalled until its spec changes. */
  readonly stalled: boolean;
  constructor(reason: Reason, message: string, options: ErrorOptions & { stalled?: boolean } = {}) {
    super(message, options);
    this.name = 'ReconcileError';
    this.reason = reason;
    this.stalled = options.stalled ?? false;
  }
}

export interface ReconcilableStatus extends WithConditions {
  observedGeneration?: number;
  lastHandledReconcileAt?: string;
}

/** A GitRepository or Kustomization as the skeleton handles it. */
export interface Reconcilable extends KubeObjectHeader {
  metadata: ObjectMeta;
  spec: { suspend?: boolean };
  status?: ReconcilableStatus;
}

/** One reconcile pass: the object as read, the status being built, and how it reports. */
export class Pass<O extends Reconcilable, S extends ReconcilableStatus = NonNullable<O['status']>> {
  readonly object: O;
  readonly status: S;
  readonly request: ReconcileRequest;
  readonly started = Date.now();
  private readonly statusObjects: ObjectClient;
  private readonly events: EventRecorder;
  private readonly statusManager: string;
  /** The status as the API server has it, so that an unchanged status is not written again. */
  private written: unknown;
  /** The last status write, which the next one waits for. */
  private writing: Promise<void> = Promise.resolve();
  private progressTimer: NodeJS.Timeout | undefined;

  constructor(
    object: O,
    request: ReconcileRequest,
    how: { objects: ObjectClient; events: EventRecorder; statusManager: string },
  ) {
    this.object = object;
    this.status = structuredClone(object.status ?? {}) as S;
    this.request = request;
    this.statusObjects = how.objects;
    this.events = how.events;
    this.statusManager = how.statusManager;
    this.written = object.status ?? {};
  }

  get generation(): number | undefined {
    return this.object.metadata.generation;
  }

  setReady(status: 'True' | 'False' | 'Unknown', reason: Reason, message: string): void {
    setCondition(this.status, this.generation, { type: 'Ready', status, reason, message });
  }

  /**
   * Reports a phase in the Reconciling condition. The report is written `progressWriteDelayMs` later, with the
   * phase current then, unless the pass's own write comes first: a phase that lasts is seen, and a pass over
   * sooner costs one status write instead of one per phase.
   */
  progress(message: string): void {
    markReconciling(this.status, this.generation, 'Progressing', message);
    if (this.progressTimer) return;
    const ready = structuredClone(getCondition(this.status, 'Ready'));
    this.progressTimer = setTimeout(() => {
      this.progressTimer = undefined;
      if (this.request.signal.aborted) return;
      this.writeStatus({ readyWhenReported: ready }).catch((error: unknown) =>
        this.request.log.debug({ error: errorMessage(error) }, 'progress status not written'),
      );
    }, progressWriteDelayMs);
    this.progressTimer.unref();
  }

  stall(reason: Reason, message: string): void {
    markStalled(this.status, this.generation, reason, message);
    this.setReady('False', reason, message);
  }

  /** An event about the object; `reason` defaults to the Ready reason of the moment, as in Flux. */
  async event(
    type: EventType,
    message: string,
    reason?: Reason,
    annotations: Record<string, string> = {},
  ): Promise<void> {
    reason ??= getCondition(this.status, 'Ready')?.reason;
    await this.events.record(this.object, type, reason ?? type, message, annotations);
  }

  /**
   * Writes the status (server-side apply on the status subresource, so fields dropped are removed) if it
   * changed, after any write still in flight, so that writes land in order.
   */
  writeStatus(options: { readyWhenReported?: Condition } = {}): Promise<void> {
    clearTimeout(this.progressTimer);
    this.progressTimer = undefined;
    const write = this.writing
      .catch(() => undefined)
      .then(() => {
        // A progress report written after the pass reached its outcome would publish the new Ready before the
        // end-of-pass bookkeeping (observedGeneration): the pass's own write follows, so it is skipped.
        const ready = getCondition(this.status, 'Ready');
        if ('readyWhenReported' in options && !isDeepStrictEqual(ready, options.readyWhenReported)) return;
        return this.applyStatus();
      });
    this.writing = write;
    return write;
  }

  private async applyStatus(): Promise<void> {
    // A copy: the pass may go on changing the status while this write is in flight.
    const status = structuredClone(this.status);
    if (isDeepStrictEqual(status, this.written)) return;
    const ref = refOf(this.object);
    await this.statusObjects.client.patch(
      `${await this.statusObjects.path(ref)}/status`,
      {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace },
        status,
      },
      ContentType.apply,
      { fieldManager: this.statusManager, force: true },
    );
    this.written = status;
  }

  /**
   * The end-of-pass bookkeeping both Flux controllers do: record the handled reconcile request, and settle
   * Reconciling against Ready (removed on success, "ProgressingWithRetry" on failure).
   */
  settle(): void {
    const requestedAt = this.object.metadata.annotations?.[Annotation.reconcileRequestedAt];
    if (requestedAt !== undefined) this.status.lastHandledReconcileAt = requestedAt;
    const ready = getCondition(this.status, 'Ready');
    const reconciling = getCondition(this.status, 'Reconciling');
    if (ready?.status === 'True') {
      deleteCondition(this.status, 'Reconciling');
      this.status.observedGeneration = this.generation;
    } else if (ready?.status === 'False' && reconciling) {
      setCondition(this.status, this.generation, { ...reconciling, reason: 'ProgressingWithRetry' });
    }
    if (getCondition(this.status, 'Stalled')?.status === 'True')
      this.status.observedGeneration = this.generation;
  }
}

/** What a reconciler adds to the skeleton. */
export interface Reconciler<O extends Reconcilable, P extends Pass<O>> {
  api: ApiType;
  /** The Ready reason of a failure that is not a ReconcileError. */
  failureReason: Reason;
  /** The pass for one reconcile of `object` (a reconciler keeps its own state on it). */
  pass(object: O, request: ReconcileRequest): P;
  /**
   * The object is being deleted: clean up. `ours` says whether it carries sluice's finalizer (removed after
   * this), that is whether what it applied is sluice's to delete.
   */
  finalize(pass: P, ours: boolean): Promise<void>;
  /** The phases, from a ready object to its Ready condition. */
  reconcile(pass: P): Promise<Result>;
  /**
   * After a failure's Ready=False and Warning event: its own conditions and logs, and how it is retried (a
   * Result, or a throw for the controller's backoff).
   */
  failed(pass: P, error: ReconcileError): Promise<Result>;
  /** After the status of a pass that did not fail is written. */
  afterStatusWritten?(pass: P): Promise<void>;
}

export function reconcileWith<O extends Reconcilable, P extends Pass<O>>(
  ctx: ControllerContext,
  reconciler: Reconciler<O, P>,
): ReconcileFunc {
  const { api } = reconciler;
  return async function reconcile(request) {
    const ref = {
      apiVersion: api.apiVersion,
      kind: api.kind,
      namespace: request.namespace,
      name: request.name,
    };
    let object = await ctx.objects.get<O & KubeObject>(ref);
    if (!object) return {};
    if (object.metadata.deletionTimestamp) {
      const ours = hasFinalizer(object);
      await reconciler.finalize(reconciler.pass(object, request), ours);
      if (ours) {
        const others = finalizersOf(object).filter((f) => f !== Finalizer);
        await setFinalizers(ctx.objects, object, others);
      }
      return {};
    }
    // Before anything is applied, so that a deletion cleans it up; the pass goes on with the patched object.
    if (!hasFinalizer(object)) {
      object = await setFinalizers(ctx.objects, object, [...finalizersOf(object), Finalizer]);
    }
    const pass = reconciler.pass(object, request);
    if (object.spec.suspend) {
      request.log.info('Reconciliation is suspended for this object');
      pass.settle();
      await pass.writeStatus();
      return {};
    }
    let result: Result = {};
    let failure: ReconcileError | undefined;
    try {
      result = await reconciler.reconcile(pass);
    } catch (error) {
      // When stopping, an aborted pass is left to whoever runs next.
      if (request.signal.aborted) throw error;
      failure =
        error instanceof ReconcileError
          ? error
          : new ReconcileError(reconciler.failureReason, errorMessage(error), { cause: error });
      if (failure.stalled) pass.stall(failure.reason, failure.message);
      else pass.setReady('False', failure.reason, failure.message);
    }
    // A pass that did not stall must not leave an earlier pass's Stalled behind.
    if (!failure?.stalled) deleteCondition(pass.status, 'Stalled');
    let backoff: unknown;
    if (failure && !failure.stalled) {
      try {
        result = await reconciler.failed(pass, failure);
      } catch (error) {
        backoff = error;
      }
    }
    pass.settle();
    await pass.writeStatus();
    // After the write, so that whoever the event wakes reads the failure in the status too.
    if (failure) await pass.event('Warning', failure.message);
    if (backoff !== undefined) throw backoff;
    if (failure?.stalled) throw new TerminalError(failure.message, { cause: failure });
    if (!failure) await reconciler.afterStatusWritten?.(pass);
    return result;
  };
}

const finalizersOf = (object: KubeObjectHeader): string[] =>
  (object.metadata?.['finalizers'] as string[] | undefined) ?? [];

const hasFinalizer = (object: KubeObjectHeader): boolean => finalizersOf(object).includes(Finalizer);

/** A merge patch guarded by resourceVersion, so a finalizer list changed meanwhile is not overwritten. */
async function setFinalizers<T extends KubeObject>(
  objects: ObjectClient,
  object: T,
  finalizers: string[],
): Promise<T> {
  return objects.patch<T>(
    refOf(object),
    { metadata: { finalizers, resourceVersion: object.metadata?.resourceVersion } },
    ContentType.mergePatch,
  );
}
