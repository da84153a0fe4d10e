// The Kustomization reconciler. It reads top to bottom as Flux's does: get the object, handle deletion,
// finalizer and suspend, resolve the source, check dependencies, then for the revision: fetch, build,
// apply, prune, health, ready. Every pass ends by writing the status; failures become Ready=False with
// Flux's reason and message, a Warning event, and a retry after retryInterval.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kustomization, KustomizationStatus, ResourceRef } from '../../api/kustomization.ts';
import { KustomizationApi, DeletionPolicy } from '../../api/kustomization.ts';
import type { Artifact, GitRepository } from '../../api/gitrepository.ts';
import { Annotation, FieldManager } from '../../api/meta.ts';
import { formatDuration, intervalOf, retryIntervalOf, timeoutOf } from '../../api/duration.ts';
import type { KubeObject } from '../../kube/client.ts';
import {
  withJitter,
  type ReconcileFunc,
  type ReconcileRequest,
  type Result,
} from '../../runtime/controller.ts';
import type { EventRecorder, EventType } from '../../runtime/events.ts';
import {
  deleteCondition,
  getCondition,
  markReconciling,
  markStalled,
  setCondition,
} from '../../runtime/conditions.ts';
import type { ArtifactStore } from '../../source/artifact.ts';
import { entryForRef, parseObjectId, staleEntries } from '../../inventory/inventory.ts';
import { ApplyError, PruneError, ResourceManager, type ChangeSetEntry } from '../../ssa/manager.ts';
import { ObjectClient, describeRef, refOf, type ObjectRef } from '../../kube/objects.ts';
import { addFinalizer, finalizeStatus, hasFinalizer, patchStatus, removeFinalizer } from '../status.ts';
import type { ControllerContext } from '../manager.ts';
import { dependencyNotReady, findDependencyCycle, type ReadyCheck } from './dependencies.ts';
import { CelExpressionError, healthCheckReader, readyExprEvaluator } from '../../cel/expressions.ts';
import { jobComplete, type StatusReader } from '../../kstatus/status.ts';
import { upsertHistory } from './history.ts';
import { healthTargets } from './health.ts';
import { isJobWithTTL, jobId, leaveDeleted, updateLedger } from './completed-jobs.ts';
import { waitForHealth, type HealthTarget } from '../../ssa/wait.ts';
import { containerNames, getJob, jobPods, podLogTail } from '../../kube/pods.ts';
import { healthCheckFailedMessage, healthCheckPassedMessage } from '../../kstatus/aggregate.ts';
import { PhaseError, buildManifests, fetchArtifact, ownerLabels, prepareObjects } from './manifests.ts';
import { errorMessage } from '../../errors.ts';


export interface KustomizationOptions {
  store: ArtifactStore;
  kustomizeBinary?: string;
  /** Flux's --no-remote-bases; unlike Flux, true (remote bases refused) when unset. */
  noRemoteBases?: boolean;
  /** How soon to look again at a missing artifact or unready dependency (Flux: --requeue-dependency, 30s). */
  requeueDependencyMs?: number;
  /** Flux's --default-service-account: impersonated when a Kustomization names no serviceAccountName. */
  defaultServiceAccount?: string;
  /** Flux's --no-cross-namespace-refs: a sourceRef into another namespace is refused. */
  noCrossNamespaceRefs?: boolean;
  /** sluice's --failed-job-log-lines: a failed Job's Warning event carries this many of its last log lines. */
  failedJobLogLines?: number;
}

/** How long a failed Job's log may take to read before the report goes without it. */
const LOG_READ_TIMEOUT_MS = 10_000;

type Status = KustomizationStatus & { conditions?: NonNullable<KustomizationStatus['conditions']> };

/** One reconcile pass: the object as read, the status being built, and how to report. */
interface Pass {
  ks: Kustomization;
  status: Status;
  request: ReconcileRequest;
  started: number;
  /** Compiled healthCheckExprs, tried before the built-in health rules. */
  readers: StatusReader[];
  /** Compiled dependsOn[].readyExpr, by dependency index. */
  readyChecks: (ReadyCheck | undefined)[];
  /** Apply, prune and health act through this: the service account's identity when one is set. */
  objects: ObjectClient;
  resources: ResourceManager;
}

export function kustomizationReconciler(
  ctx: ControllerContext,
  events: EventRecorder,
  options: KustomizationOptions,
): ReconcileFunc {
  const requeueDependencyMs = options.requeueDependencyMs ?? 30_000;

  return async function reconcile(request) {
    const ks = await getKustomization(request);
    if (!ks) return {};
    const objects = objectsFor(ks);
    const pass: Pass = {
      ks,
      status: structuredClone(ks.status ?? {}) as Status,
      request,
      started: Date.now(),
      readers: [],
      readyChecks: [],
      objects,
      resources: new ResourceManager(objects),
    };
    if (ks.metadata['deletionTimestamp']) return finalize(pass);
    if (!hasFinalizer(ks)) {
      await addFinalizer(ctx.objects, ks);
      return { requeueAfterMs: 0 };
    }
    if (ks.spec.suspend) {
      request.log.info('Reconciliation is suspended for this object');
      await writeStatus(pass);
      return {};
    }
    let result: Result;
    try {
      compileExpressions(pass);
      result = await reconcileSource(pass);
    } catch (error) {
      result = await fail(pass, error);
    }
    await writeStatus(pass);
    if (getCondition(pass.status, 'Ready')?.status === 'True') {
      await event(
        pass,
        'Normal',
        `Reconciliation finished in ${formatDuration(Date.now() - pass.started)}, next run in ${formatDuration(intervalOf(ks.spec))}`,
      );
    }
    return result;
  };

  async function getKustomization(request: ReconcileRequest): Promise<Kustomization | undefined> {
    return ctx.objects.get<Kustomization & KubeObject>({
      apiVersion: KustomizationApi.apiVersion,
      kind: KustomizationApi.kind,
      namespace: request.namespace,
      name: request.name,
    });
  }

  /**
   * The identity that applies, prunes and checks health: the Kustomization's service account (else
   * --default-service-account) in its namespace, impersonated; otherwise the controller's own.
   */
  function objectsFor(ks: Kustomization): ObjectClient {
    const account = ks.spec.serviceAccountName || options.defaultServiceAccount;
    if (!account) return ctx.objects;
    const user = `system:serviceaccount:${ks.metadata.namespace}:${account}`;
    // Discovery is not a permission boundary: the controller's REST mapping cache serves every identity.
    return new ObjectClient(ctx.objects.client.impersonate(user), ctx.objects.mapper);
  }

  /** Source, artifact and dependencies: each can make this pass wait without counting as a failure. */
  async function reconcileSource(pass: Pass): Promise<Result> {
    const { ks } = pass;
    const sourceNamespace = ks.spec.sourceRef.namespace || ks.metadata.namespace;
    if (options.noCrossNamespaceRefs && sourceNamespace !== ks.metadata.namespace) {
      // An access rule, not a transient state: stall until the spec changes, as Flux does.
      const { kind, name } = ks.spec.sourceRef;
      const message = `can't access '${kind}/${sourceNamespace}/${name}', cross-namespace references have been blocked`;
      markStalled(pass.status, ks.metadata.generation, 'AccessDenied', message);
      setReady(pass, 'False', 'AccessDenied', message);
      await event(pass, 'Warning', message);
      return {};
    }
    const source = getSource(ks);
    if (!source) {
      const { kind, name } = ks.spec.sourceRef;
      setReady(pass, 'False', 'ArtifactFailed', `${kind}.source.toolkit.fluxcd.io "${name}" not found`);
      // Unlike Flux, say so in an event too: a mistyped source name is otherwise easy to miss.
      await event(pass, 'Warning', `${kind}.source.toolkit.fluxcd.io "${name}" not found`);
      return { requeueAfterMs: retryIntervalOf(ks.spec) };
    }
    const artifact = source.status?.artifact;
    if (!artifact) {
      setReady(
        pass,
        'False',
        'ArtifactFailed',
        `Source artifact not found, retrying in ${formatDuration(requeueDependencyMs)}`,
      );
      return { requeueAfterMs: requeueDependencyMs };
    }
    if (!(await options.store.exists(artifact.path))) {
      // Named but not stored (e.g. the controller restarted and the source has not fetched again yet).
      setReady(
        pass,
        'False',
        'ArtifactFailed',
        `Source is not ready, artifact not found, retrying in ${formatDuration(requeueDependencyMs)}`,
      );
      return { requeueAfterMs: requeueDependencyMs };
    }
    if (ks.spec.dependsOn?.length) {
      const cycle = findDependencyCycle(ks, (namespace, name) => ctx.kustomizations.get(namespace, name));
      if (cycle) {
        // Waiting would never end: say so, as a configuration error, naming every hop.
        const message = `circular dependency detected: ${cycle.join(' -> ')}`;
        markStalled(pass.status, ks.metadata.generation, 'DependencyCycle', message);
        setReady(pass, 'False', 'DependencyCycle', message);
        await event(pass, 'Warning', message);
        return {};
      }
      const notReady = await dependencyNotReady(ctx.objects, ks, artifact.revision, pass.readyChecks);
      if (notReady) {
        setReady(pass, 'False', 'DependencyNotReady', notReady);
        await event(
          pass,
          'Normal',
          `Dependencies do not meet ready condition, retrying in ${formatDuration(requeueDependencyMs)}`,
        );
        return { requeueAfterMs: requeueDependencyMs };
      }
    }
    await reconcileRevision(pass, artifact);
    return { requeueAfterMs: withJitter(intervalOf(ks.spec)) };
  }

  /** The phases for one revision: fetch, build, apply, prune, health, ready. */
  async function reconcileRevision(pass: Pass, artifact: Artifact): Promise<void> {
    const { ks, status } = pass;
    const revision = artifact.revision;
    const timeoutMs = timeoutOf(ks.spec);
    const timeout = formatDuration(timeoutMs);
    const signal = AbortSignal.any([pass.request.signal, AbortSignal.timeout(timeoutMs)]);
    setReady(pass, 'Unknown', 'Progressing', 'Reconciliation in progress');
    await progress(pass, `Fetching manifests for revision ${revision} with a timeout of ${timeout}`);

    // Milliseconds per phase, logged at debug level: where a reconcile spends its time.
    const phases: Record<string, number> = {};
    let lapStart = Date.now();
    const lap = (phase: string) => {
      phases[phase] = Date.now() - lapStart;
      lapStart = Date.now();
    };
    const workDir = await mkdtemp(path.join(tmpdir(), 'kustomization-'));
    try {
      const dir = await fetchArtifact(options.store, artifact, workDir, ks.spec.path);
      status.lastAttemptedRevision = revision;
      await progress(pass, `Building manifests for revision ${revision} with a timeout of ${timeout}`);
      lap('fetch');

      const built = await buildManifests(ctx.objects, ks, workDir, dir, {
        kustomizeBinary: options.kustomizeBinary,
        allowRemoteBases: options.noRemoteBases === false,
        signal,
      });
      const objects = await prepareObjects(ctx.objects, ks, built.objects);
      await progress(pass, `Detecting drift for revision ${revision} with a timeout of ${timeout}`);
      lap('build');

      const started = Date.now();
      const changeSet = await apply(pass, objects, built.digest, revision, signal);
      lap('apply');
      const previous = status.inventory?.entries ?? [];
      status.inventory = { entries: changeSet.map((c) => entryForRef(c.ref)) };
      const jobsSeenComplete = new Set<string>();
      try {
        await prune(pass, previous, built.digest, revision);
        lap('prune');
        const changed = changeSet.some((c) => c.action !== 'unchanged' && c.action !== 'skipped');
        await checkHealth(pass, changeSet, objects, revision, changed, built.digest, jobsSeenComplete);
      } finally {
        // Even when the pass fails: a Job that completed must not run again because something else failed.
        await recordCompletedJobs(pass, changeSet, objects, revision, jobsSeenComplete);
      }
      lap('health');

      status.lastAppliedRevision = revision;
      setReady(pass, 'True', 'ReconciliationSucceeded', `Applied revision: ${revision}`);
      status.history = upsertHistory(status.history, {
        digest: built.digest,
        status: 'ReconciliationSucceeded',
        revision,
        durationMs: Date.now() - started,
      });
    } finally {
      await rm(workDir, { recursive: true, force: true });
      pass.request.log.debug({ revision, phasesMs: phases }, 'reconcile phases');
    }
  }

  async function apply(
    pass: Pass,
    objects: KubeObject[],
    digest: string,
    revision: string,
    signal: AbortSignal,
  ): Promise<ChangeSetEntry[]> {
    try {
      const alreadyRan: string[] = [];
      const changeSet = await pass.resources.applyAllStaged(objects, {
        fieldManager: FieldManager.kustomizeController,
        force: pass.ks.spec.force ?? false,
        // Unlike Flux: a Job its TTL deleted after it completed is not drift, so it is not run again.
        skip: (desired, existing) => {
          const skip = leaveDeleted(pass.status.completedJobs, desired, existing);
          if (skip) alreadyRan.push(describeRef(refOf(desired)));
          return skip;
        },
        signal,
      });
      if (alreadyRan.length > 0) {
        pass.request.log.info(
          { jobs: alreadyRan },
          'not creating Jobs that completed for this manifest and were deleted by their ttlSecondsAfterFinished',
        );
      }
      const changed = changeSet.filter((c) => c.action !== 'unchanged' && c.action !== 'skipped');
      if (changed.length > 0) {
        pass.request.log.info(
          { output: Object.fromEntries(changeSet.map((c) => [c.subject, c.action])) },
          'server-side apply completed',
        );
        await event(pass, 'Normal', changed.map((c) => `${c.subject} ${c.action}`).join('\n'));
      }
      return changeSet;
    } catch (error) {
      if (!(error instanceof ApplyError)) throw error;
      const applied = error.changeSet.filter((c) => c.action !== 'unchanged' && c.action !== 'skipped');
      const message = [error.message, ...applied.map((c) => `${c.subject} ${c.action}`)].join('\n');
      pass.status.history = upsertHistory(pass.status.history, {
        digest,
        status: 'ReconciliationFailed',
        revision,
        durationMs: 0,
      });
      throw new PhaseError('ReconciliationFailed', message, { cause: error });
    }
  }

  /**
   * With --failed-job-log-lines: one Warning event per failed Job, with the end of its last failed pod's log,
   * so the reason outlives the pods (a TTL, or force recreating the Job, deletes them). It reads the logs as the
   * Kustomization's identity; a log it may not or cannot read is only logged.
   */
  async function reportFailedJobs(pass: Pass, targets: HealthTarget[]): Promise<void> {
    const lines = options.failedJobLogLines ?? 0;
    if (lines <= 0) return;
    const client = pass.objects.client;
    for (const { ref } of targets.filter((t) => t.ref.kind === 'Job')) {
      try {
        const job = await getJob(client, ref.namespace ?? '', ref.name);
        if (!job?.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')) continue;
        const pods = await jobPods(client, job);
        const pod = pods.findLast((p) => p.status?.phase === 'Failed') ?? pods.at(-1);
        if (!pod) continue;
        const sections: string[] = [];
        for (const container of containerNames(pod)) {
          const signal = AbortSignal.any([pass.request.signal, AbortSignal.timeout(LOG_READ_TIMEOUT_MS)]);
          const text = (await podLogTail(client, pod, container, lines, signal)).trimEnd();
          sections.push(`--- pod/${pod.metadata.name} container/${container}\n${text || '(no output)'}`);
        }
        await event(
          pass,
          'Warning',
          [`${describeRef(ref)} failed; the last ${lines} lines of its log:`, ...sections].join('\n'),
          'HealthCheckFailed',
        );
      } catch (error) {
        pass.request.log.info(
          { job: describeRef(ref), error: errorMessage(error) },
          'cannot read the log of a failed Job',
        );
      }
    }
  }

  /**
   * Records the Jobs with a TTL that ran to completion from their current manifest (status.completedJobs), so
   * that once their TTL deletes them, later passes leave them deleted instead of running them again. A Job
   * counts when this pass applied it (not skipped: a skipped live Job may be another manifest's run) and it was
   * seen Complete, now or during the health check. A failure here only loses the record, never the pass.
   */
  async function recordCompletedJobs(
    pass: Pass,
    changeSet: ChangeSetEntry[],
    desired: KubeObject[],
    revision: string,
    jobsSeenComplete: Set<string>,
  ): Promise<void> {
    const jobs = desired.filter(isJobWithTTL);
    if (jobs.length === 0 && !pass.status.completedJobs) return;
    try {
      const actions = new Map(changeSet.map((c) => [c.subject, c.action]));
      const completed = new Set<string>();
      for (const job of jobs) {
        const subject = describeRef(refOf(job));
        const action = actions.get(subject);
        if (action === undefined || action === 'skipped') continue;
        if (jobsSeenComplete.has(subject) || jobComplete(await pass.objects.get(refOf(job)))) {
          completed.add(jobId(job));
        }
      }
      const ledger = updateLedger(
        pass.status.completedJobs,
        jobs,
        (id) => completed.has(id),
        revision,
        new Date(),
      );
      if (ledger.length > 0) pass.status.completedJobs = ledger;
      else delete pass.status.completedJobs;
    } catch (error) {
      pass.request.log.info(
        { error: errorMessage(error) },
        'cannot record which Jobs completed',
      );
    }
  }

  /** Deletes what the previous inventory had and this one does not (only with prune: true). */
  async function prune(pass: Pass, previous: ResourceRef[], digest: string, revision: string): Promise<void> {
    const { ks, status } = pass;
    const stale = staleEntries(previous, status.inventory?.entries ?? []);
    if (!ks.spec.prune || stale.length === 0) return;
    try {
      const deleted = await pass.resources.deleteAll(stale.map(refOfEntry), ownerLabels(ks));
      const lines = deleted.filter((c) => c.action === 'deleted').map((c) => `${c.subject} deleted`);
      if (lines.length > 0) {
        pass.request.log.info({ output: lines }, 'garbage collection completed');
        await event(pass, 'Normal', lines.join('\n'));
      }
    } catch (error) {
      if (!(error instanceof PruneError)) throw error;
      // Keep what could not be deleted in the inventory, so the next pass tries again.
      const kept = error.survivors.map(entryForRef);
      status.inventory = { entries: [...(status.inventory?.entries ?? []), ...kept] };
      status.history = upsertHistory(status.history, {
        digest,
        status: 'PruneFailed',
        revision,
        durationMs: 0,
      });
      throw new PhaseError('PruneFailed', error.message, { cause: error });
    }
  }

  /**
   * With `wait`, every applied object (skipped ones aside) must become healthy; otherwise the listed
   * `healthChecks`. Until then the revision is not recorded as applied, so dependents keep waiting.
   */
  async function checkHealth(
    pass: Pass,
    changeSet: ChangeSetEntry[],
    desired: KubeObject[],
    revision: string,
    changed: boolean,
    digest: string,
    jobsSeenComplete: Set<string>,
  ): Promise<void> {
    const { ks, status } = pass;
    const targets = healthTargets(ks, changeSet, desired);
    if (targets.length === 0) {
      deleteCondition(status, 'Healthy');
      return;
    }
    const timeoutMs = timeoutOf(ks.spec);
    const message = `Running health checks for revision ${revision} with a timeout of ${formatDuration(timeoutMs)}`;
    const wasHealthy = getCondition(status, 'Healthy')?.status === 'True';
    setCondition(status, ks.metadata.generation, {
      type: 'Healthy',
      status: 'Unknown',
      reason: 'Progressing',
      message,
    });
    await progress(pass, message);
    const outcome = await waitForHealth(pass.objects, targets, {
      timeoutMs,
      readers: pass.readers,
      signal: pass.request.signal,
    });
    for (const job of outcome.jobsSeenComplete) jobsSeenComplete.add(job);
    if (!outcome.healthy) {
      await reportFailedJobs(pass, targets);
      setCondition(status, ks.metadata.generation, {
        type: 'Healthy',
        status: 'False',
        reason: 'HealthCheckFailed',
        message: outcome.message,
      });
      status.history = upsertHistory(status.history, {
        digest,
        status: 'HealthCheckFailed',
        revision,
        durationMs: outcome.elapsedMs,
      });
      throw new PhaseError('HealthCheckFailed', healthCheckFailedMessage(outcome.elapsedMs, outcome.message));
    }
    const passed = healthCheckPassedMessage(outcome.elapsedMs);
    setCondition(status, ks.metadata.generation, {
      type: 'Healthy',
      status: 'True',
      reason: 'Succeeded',
      message: passed,
    });
    const newRevision = ks.status?.lastAppliedRevision !== revision;
    if (!wasHealthy || (newRevision && changed)) await event(pass, 'Normal', passed);
  }

  async function finalize(pass: Pass): Promise<Result> {
    const { ks } = pass;
    if (!hasFinalizer(ks)) return {};
    const policy = ks.spec.deletionPolicy || DeletionPolicy.mirrorPrune;
    const entries = ks.status?.inventory?.entries ?? [];
    const shouldDelete =
      !ks.spec.suspend &&
      entries.length > 0 &&
      (policy === DeletionPolicy.delete ||
        policy === DeletionPolicy.waitForTermination ||
        (policy === DeletionPolicy.mirrorPrune && ks.spec.prune));
    const refs = [...entries].reverse().map(refOfEntry);
    if (shouldDelete && !(await canImpersonate(pass))) {
      // Deleting as the controller would escalate the account's rights; report the objects left instead.
      await event(pass, 'Warning', `unable to prune objects: \n${refs.map(describeRef).join('\n')}`);
    } else if (shouldDelete) {
      try {
        const deleted = await pass.resources.deleteAll(refs, ownerLabels(ks));
        const lines = deleted.filter((c) => c.action === 'deleted').map((c) => `${c.subject} deleted`);
        if (lines.length > 0) await event(pass, 'Normal', lines.join('\n'));
        if (policy === DeletionPolicy.waitForTermination) {
          const signal = AbortSignal.any([pass.request.signal, AbortSignal.timeout(timeoutOf(ks.spec))]);
          await Promise.all(refs.map((ref) => pass.objects.waitUntilGone(ref, signal))).catch(
            async (error: unknown) => {
              await event(pass, 'Warning', `failed to wait for resources termination: ${String(error)}`);
            },
          );
        }
      } catch (error) {
        await event(
          pass,
          'Warning',
          `pruning for deleted resource failed: ${errorMessage(error)}`,
        );
        throw error;
      }
    }
    await removeFinalizer(ctx.objects, ks);
    return {};
  }

  /** Whether the service account to impersonate (if any) still exists. */
  async function canImpersonate(pass: Pass): Promise<boolean> {
    const account = pass.ks.spec.serviceAccountName || options.defaultServiceAccount;
    if (!account) return true;
    const ref = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      namespace: pass.ks.metadata.namespace,
      name: account,
    };
    return (await ctx.objects.get(ref)) !== undefined;
  }

  /** A failed phase: Ready=False with its reason, a Warning event, and a retry after retryInterval. */
  async function fail(pass: Pass, error: unknown): Promise<Result> {
    if (pass.request.signal.aborted) throw error;
    if (error instanceof CelExpressionError) {
      // A configuration error: retrying cannot fix it, a spec change will bring the object back.
      const message = `Reconciliation failed terminally due to configuration error: ${error.message}`;
      markStalled(pass.status, pass.ks.metadata.generation, 'InvalidCELExpression', message);
      setReady(pass, 'False', 'InvalidCELExpression', message);
      await event(pass, 'Warning', message);
      return {};
    }
    const reason = error instanceof PhaseError ? error.reason : 'ReconciliationFailed';
    const message = errorMessage(error);
    setReady(pass, 'False', reason, message);
    const retry = retryIntervalOf(pass.ks.spec);
    pass.request.log.error(
      { error: message },
      `Reconciliation failed after ${formatDuration(Date.now() - pass.started)}, next try in ${formatDuration(retry)}`,
    );
    await event(pass, 'Warning', message);
    return { requeueAfterMs: retry };
  }

  /** Compiles healthCheckExprs and readyExprs up front: an invalid one stops the pass (CelExpressionError). */
  function compileExpressions(pass: Pass): void {
    const { spec } = pass.ks;
    if (spec.healthCheckExprs?.length) pass.readers = [healthCheckReader(spec.healthCheckExprs)];
    pass.readyChecks = (spec.dependsOn ?? []).map((dep, i) =>
      dep.readyExpr ? readyExprEvaluator(dep.readyExpr, `dependsOn[${i}].readyExpr`) : undefined,
    );
  }

  function getSource(ks: Kustomization): GitRepository | undefined {
    const ref = ks.spec.sourceRef;
    if (ref.kind !== 'GitRepository') return undefined;
    return ctx.gitRepositories.get(ref.namespace || ks.metadata.namespace, ref.name);
  }

  function setReady(pass: Pass, status: 'True' | 'False' | 'Unknown', reason: string, message: string): void {
    setCondition(pass.status, pass.ks.metadata.generation, { type: 'Ready', status, reason, message });
  }

  /** Reports a phase in the Reconciling condition and writes it at once, so observers see progress. */
  async function progress(pass: Pass, message: string): Promise<void> {
    markReconciling(pass.status, pass.ks.metadata.generation, 'Progressing', message);
    await patchStatus(ctx.objects, pass.ks, pass.status, FieldManager.kustomizationStatus);
  }

  async function writeStatus(pass: Pass): Promise<void> {
    finalizeStatus(pass.ks, pass.status);
    await patchStatus(ctx.objects, pass.ks, pass.status, FieldManager.kustomizationStatus);
  }

  /** An event about the Kustomization; its reason is the Ready reason at the time, as in Flux. */
  async function event(pass: Pass, type: EventType, message: string, reason?: string): Promise<void> {
    reason ??= getCondition(pass.status, 'Ready')?.reason ?? type;
    const revision = pass.status.lastAttemptedRevision;
    await events.record(
      pass.ks,
      type,
      reason,
      message,
      revision ? { [Annotation.kustomizeRevision]: revision } : {},
    );
  }
}

function refOfEntry(entry: ResourceRef): ObjectRef {
  const id = parseObjectId(entry.id);
  return {
    apiVersion: id.group ? `${id.group}/${entry.v}` : entry.v,
    kind: id.kind,
    namespace: id.namespace || undefined,
    name: id.name,
  };
}
