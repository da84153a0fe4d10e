// One Kustomization reconcile: the skeleton's Pass, plus what its phases share: the compiled CEL checks, the
// identity that applies, prunes and checks health, and, once a revision is being reconciled, that revision's
// state (the built objects, what the apply changed, the Jobs seen and why they run).
import type { JobRunTrigger, Kustomization, KustomizationStatus } from '../../api/kustomization.ts';
import { Annotation, type Reason } from '../../api/meta.ts';
import type { KubeObject } from '../../kube/client.ts';
import type { ObjectClient } from '../../kube/objects.ts';
import type { ReconcileRequest } from '../../runtime/controller.ts';
import type { EventRecorder, EventType } from '../../runtime/events.ts';
import type { StatusReader } from '../../kstatus/status.ts';
import { ResourceManager, type ChangeSetEntry } from '../../ssa/manager.ts';
import { IgnoreRules } from '../../ssa/ignore.ts';
import { ledgerOf } from '../../jobs/ledger.ts';
import { Pass } from '../reconcile.ts';
import type { ReadyCheck } from './dependencies.ts';

/** The revision a pass reconciles, and what its phases found out so far. */
export interface RevisionState {
  /** The source artifact's revision, e.g. `main@sha1:<hex>`. */
  revision: string;
  /** spec.timeout, and the pass's signal bounded by it. */
  timeoutMs: number;
  signal: AbortSignal;
  /** The built objects, ready to apply, and the digest of the build (the history's). */
  desired: KubeObject[];
  digest: string;
  /** What the apply did to each object, in apply order. */
  changeSet: ChangeSetEntry[];
  /** The last state of each Job target (by `describeRef`) the health check saw, kept after a TTL deletes it. */
  jobsSeen: Map<string, KubeObject>;
  /** What made a Job run again in this pass (`sluice rerun`, a retry), by ledger id; absent: the apply. */
  triggers: Map<string, JobRunTrigger>;
  /** Jobs (by ledger id) not to create in this pass: a failed one whose TTL deleted it, its retry not due yet. */
  held: Set<string>;
  /**
   * What a new source revision does to a running Job: `finish` (default) or `cancel` (the Kustomization's
   * sluice.dev/on-new-revision, else Flux's CancelHealthCheckOnNewRevision feature gate).
   */
  onNewRevision: 'finish' | 'cancel';
  /** The `sluice rerun` request this pass acts on, handled once the apply went through. */
  rerunRequestedAt?: string;
}

export interface KustomizationPassContext {
  /** The controller's own identity: reads the Kustomization and writes its status. */
  controllerObjects: ObjectClient;
  /** The identity that applies, prunes and checks health (the service account's, when one is set). */
  objects: ObjectClient;
  events: EventRecorder;
  statusManager: string;
}

export class KustomizationPass extends Pass<Kustomization, KustomizationStatus> {
  /**
   * Apply, prune and health act through this: the service account's identity when one is set, on the cluster
   * spec.kubeConfig names once `actOn` has been called.
   */
  objects: ObjectClient;
  resources: ResourceManager;
  /** Compiled healthCheckExprs, tried before the built-in health rules. */
  readers: StatusReader[] = [];
  /** spec.ignore, compiled. */
  ignore = new IgnoreRules();
  /** Compiled dependsOn[].readyExpr, by dependency index. */
  readyChecks: (ReadyCheck | undefined)[] = [];
  /** Set once the pass has fetched a revision's artifact. */
  revision: RevisionState | undefined;

  constructor(ks: Kustomization, request: ReconcileRequest, context: KustomizationPassContext) {
    super(ks, request, {
      objects: context.controllerObjects,
      events: context.events,
      statusManager: context.statusManager,
    });
    this.objects = context.objects;
    this.resources = new ResourceManager(context.objects);
    // An older sluice's status.completedJobs become runs of the ledger, so its completed Jobs stay done.
    if (this.status.completedJobs) {
      this.status.jobRuns = ledgerOf(this.status);
      delete this.status.completedJobs;
    }
  }

  /** From now on, apply, prune, health checks and the Jobs' pods go through `objects` (spec.kubeConfig). */
  actOn(objects: ObjectClient): void {
    this.objects = objects;
    this.resources = new ResourceManager(objects);
  }

  get ks(): Kustomization {
    return this.object;
  }

  /** The revision's state; only the revision phases call this. */
  get current(): RevisionState {
    if (!this.revision) throw new Error('no revision is being reconciled');
    return this.revision;
  }

  /** Every Kustomization event names the revision it is about, as Flux's do. */
  override async event(
    type: EventType,
    message: string,
    reason?: Reason,
    annotations: Record<string, string> = {},
  ): Promise<void> {
    const revision = this.status.lastAttemptedRevision;
    await super.event(type, message, reason, {
      ...(revision ? { [Annotation.kustomizeRevision]: revision } : {}),
      ...annotations,
    });
  }
}
