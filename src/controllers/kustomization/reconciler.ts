// The Kustomization reconciler. On the shared skeleton (deletion, finalizer, suspend, the status written at the
// end), it reads top to bottom as Flux's does: resolve the source, check dependencies, then for the revision:
// fetch, build, apply, prune, health, ready. A failed phase becomes Ready=False with Flux's reason and message,
// a Warning event, and a retry after retryInterval; a configuration error stalls the object.
import type { Kustomization, ResourceRef } from '../../api/kustomization.ts';
import { KustomizationApi, DeletionPolicy, SourceKind } from '../../api/kustomization.ts';
import { GitRepositoryApi, type Artifact, type GitRepository } from '../../api/gitrepository.ts';
import { OCIRepositoryApi, type OCIRepository } from '../../api/ocirepository.ts';
import type { KubeObject } from '../../kube/client.ts';
import { FieldManager, SluiceAnnotation } from '../../api/meta.ts';
import { formatDuration, intervalOf, retryIntervalOf, timeoutOf } from '../../api/duration.ts';
import {
  withJitter,
  type ReconcileFunc,
  type ReconcileRequest,
  type Result,
} from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { deleteCondition, getCondition, setCondition } from '../../runtime/conditions.ts';
import type { ArtifactStore } from '../../source/artifact.ts';
import { entryForRef, parseObjectId, staleEntries } from '../../inventory/inventory.ts';
import { ApplyError, PruneError, type ApplyTimings } from '../../ssa/manager.ts';
import { IgnoreRules } from '../../ssa/ignore.ts';
import { waitForHealth, type HealthOutcome } from '../../ssa/wait.ts';
import { ObjectClient, describeRef, refOf, type ObjectRef } from '../../kube/objects.ts';
import { CelExpressionError, healthCheckReader, readyExprEvaluator } from '../../cel/expressions.ts';
import { healthCheckFailedMessage, healthCheckPassedMessage } from '../../kstatus/aggregate.ts';
import { errorMessage } from '../../errors.ts';
import { ReconcileError, reconcileWith } from '../reconcile.ts';
import type { ControllerContext } from '../manager.ts';
import { KustomizationPass, type RevisionState } from './pass.ts';
import { dependencyNotReady, findDependencyCycle } from './dependencies.ts';
import { upsertHistory } from './history.ts';
import { healthTargets } from './health.ts';
import { jobId, leaveDeleted } from '../../jobs/ledger.ts';
import {
  healthFailureMessage,
  logLinesFor,
  nextRetry,
  prepareJobs,
  recordJobRuns,
  rerunApplied,
} from './job-runs.ts';
import { runFailureHook } from './failure-hook.ts';
import { connectRemoteCluster, type RemoteCluster } from './remote-cluster.ts';
import {
  ArtifactFiles,
  kustomizeManifests,
  ownerLabels,
  prepareObjects,
  substitute,
  type BuildOptions,
} from './manifests.ts';
import { aheadBuild, neededBuild } from '../../kustomize/build-priority.ts';
import { BuildCache } from '../../kustomize/build-cache.ts';

export interface KustomizationOptions {
  store: ArtifactStore;
  kustomizeModule?: string;
  /** How soon to look again at a missing artifact or unready dependency (Flux: --requeue-dependency, 30s). */
  requeueDependencyMs?: number;
  /** Flux's --default-service-account: impersonated when a Kustomization names no serviceAccountName. */
  defaultServiceAccount?: string;
  /** Flux's --no-cross-namespace-refs: a sourceRef into another namespace is refused. */
  noCrossNamespaceRefs?: boolean;
  /** Flux's feature gates that change what a Kustomization does (--feature-gates). */
  featureGates?: KustomizeFeatureGates;
  /**
   * sluice's --failed-job-log-lines: a failed Job's run in the ledger, and a Warning event, keep this many of its
   * last log lines (a Kustomization's sluice.dev/failed-job-log-lines annotation overrides it).
   */
  failedJobLogLines?: number;
  /** Flux's --sops-age-secret: the age keys for a spec.decryption that names no secretRef. */
  sopsAgeSecret?: { namespace: string; name: string };
}

/** A failed health check, and the targets it covered (by `describeRef`). */
type HealthFailure = Extract<HealthOutcome, { healthy: false }> & { subjects: string[] };

/** The feature gates of Flux's kustomize-controller that sluice takes (unset: Flux's defaults). */
export interface KustomizeFeatureGates {
  StrictPostBuildSubstitutions?: boolean;
  CancelHealthCheckOnNewRevision?: boolean;
}

export function kustomizationReconciler(
  ctx: ControllerContext,
  events: EventRecorder,
  options: KustomizationOptions,
): ReconcileFunc {
  const requeueDependencyMs = options.requeueDependencyMs ?? 30_000;
  const buildCache = new BuildCache();

  return reconcileWith<Kustomization, KustomizationPass>(ctx, {
    api: KustomizationApi,
    failureReason: 'ReconciliationFailed',
    pass: newPass,
    finalize,
    async reconcile(pass) {
      compileRules(pass);
      return reconcileSource(pass);
    },
    async failed(pass, error) {
      // A Job's retry due sooner than retryInterval brings the next pass forward; a cancelled check goes on at once.
      const due = nextRetry(pass);
      const retry =
        error.reason === 'HealthCheckCanceled'
          ? 0
          : Math.min(retryIntervalOf(pass.ks.spec), due ? Math.max(0, due.at - Date.now()) : Infinity);
      pass.request.log.error(
        { error: error.message },
        `Reconciliation failed after ${formatDuration(Date.now() - pass.started)}, next try in ${formatDuration(retry)}`,
      );
      return { requeueAfterMs: retry };
    },
    async afterStatusWritten(pass) {
      if (getCondition(pass.status, 'Ready')?.status !== 'True') return;
      const took = formatDuration(Date.now() - pass.started);
      const finished = `Reconciliation finished in ${took}, next run in ${formatDuration(intervalOf(pass.ks.spec))}`;
      // Logged as Flux's kustomize-controller logs it, so log queries on that line keep working.
      pass.request.log.info({ revision: pass.status.lastAppliedRevision }, finished);
      await pass.event('Normal', finished);
    },
  });

  /**
   * A pass acting as the Kustomization's service account (else --default-service-account) in its namespace,
   * impersonated; otherwise as the controller itself.
   */
  function newPass(ks: Kustomization, request: ReconcileRequest): KustomizationPass {
    const account = accountOf(ks);
    // Discovery is not a permission boundary: the controller's REST mapping cache serves every identity.
    const objects = account
      ? new ObjectClient(
          ctx.objects.client.impersonate(`system:serviceaccount:${ks.metadata.namespace}:${account}`),
          ctx.objects.mapper,
        )
      : ctx.objects;
    return new KustomizationPass(ks, request, {
      controllerObjects: ctx.objects,
      objects,
      events,
      statusManager: FieldManager.kustomizationStatus,
    });
  }

  /** The service account a Kustomization acts as: its own, else --default-service-account. */
  function accountOf(ks: Kustomization): string | undefined {
    return ks.spec.serviceAccountName || options.defaultServiceAccount;
  }

  /** Connects the pass to the cluster spec.kubeConfig names, if any; the caller closes it. */
  async function actOnTarget(pass: KustomizationPass): Promise<RemoteCluster | undefined> {
    const remote = await connectRemoteCluster(ctx.objects, pass.ks, accountOf(pass.ks));
    if (remote) pass.actOn(remote.objects);
    return remote;
  }

  /** Compiles healthCheckExprs, readyExprs and ignore rules up front: an invalid one stalls the object. */
  function compileRules(pass: KustomizationPass): void {
    const { spec } = pass.ks;
    try {
      if (spec.healthCheckExprs?.length) pass.readers = [healthCheckReader(spec.healthCheckExprs)];
      pass.readyChecks = (spec.dependsOn ?? []).map((dep, i) =>
        dep.readyExpr ? readyExprEvaluator(dep.readyExpr, `dependsOn[${i}].readyExpr`) : undefined,
      );
    } catch (error) {
      if (!(error instanceof CelExpressionError)) throw error;
      // A configuration error: retrying cannot fix it, a spec change will bring the object back.
      const message = `Reconciliation failed terminally due to configuration error: ${error.message}`;
      throw new ReconcileError('InvalidCELExpression', message, { cause: error, stalled: true });
    }
    try {
      pass.ignore = new IgnoreRules(spec.ignore);
    } catch (error) {
      const message = `Reconciliation failed terminally due to configuration error: ${errorMessage(error)}`;
      throw new ReconcileError('ReconciliationFailed', message, { cause: error, stalled: true });
    }
  }

  /** Source, artifact and dependencies: each can make this pass wait without counting as a failure. */
  async function reconcileSource(pass: KustomizationPass): Promise<Result> {
    const { ks } = pass;
    const sourceNamespace = ks.spec.sourceRef.namespace || ks.metadata.namespace;
    if (options.noCrossNamespaceRefs && sourceNamespace !== ks.metadata.namespace) {
      // An access rule, not a transient state: stall until the spec changes, as Flux does.
      const { kind, name } = ks.spec.sourceRef;
      const message = `can't access '${kind}/${sourceNamespace}/${name}', cross-namespace references have been blocked`;
      throw new ReconcileError('AccessDenied', message, { stalled: true });
    }
    const served: string[] = [SourceKind.gitRepository, SourceKind.ociRepository];
    if (!served.includes(ks.spec.sourceRef.kind)) {
      // Not a missing object: a kind sluice has no controller for. Stall until the spec changes.
      const message = `sourceRef.kind ${ks.spec.sourceRef.kind} is not supported by sluice yet: use a GitRepository or an OCIRepository`;
      throw new ReconcileError('ArtifactFailed', message, { stalled: true });
    }
    const source = await getSource(ks);
    if (!source) {
      const { kind, name } = ks.spec.sourceRef;
      pass.setReady('False', 'ArtifactFailed', `${kind}.source.toolkit.fluxcd.io "${name}" not found`);
      // Unlike Flux, say so in an event too: a mistyped source name is otherwise easy to miss.
      await pass.event('Warning', `${kind}.source.toolkit.fluxcd.io "${name}" not found`);
      return { requeueAfterMs: retryIntervalOf(ks.spec) };
    }
    const artifact = source.status?.artifact;
    if (!artifact) {
      const message = `Source artifact not found, retrying in ${formatDuration(requeueDependencyMs)}`;
      pass.setReady('False', 'ArtifactFailed', message);
      pass.request.log.info(message);
      return { requeueAfterMs: requeueDependencyMs };
    }
    if (!(await options.store.exists(artifact.path))) {
      // Named but not stored (e.g. the controller restarted and the source has not fetched again yet).
      const message = `Source is not ready, artifact not found, retrying in ${formatDuration(requeueDependencyMs)}`;
      pass.setReady('False', 'ArtifactFailed', message);
      pass.request.log.info(message);
      return { requeueAfterMs: requeueDependencyMs };
    }
    if (ks.spec.dependsOn?.length) {
      const cycle = findDependencyCycle(ks, (namespace, name) => ctx.kustomizations.get(namespace, name));
      if (cycle) {
        // Waiting would never end: say so, as a configuration error, naming every hop.
        throw new ReconcileError('DependencyCycle', `circular dependency detected: ${cycle.join(' -> ')}`, {
          stalled: true,
        });
      }
      const notReady = await dependencyNotReady(ctx.objects, ks, artifact.revision, pass.readyChecks);
      if (notReady) {
        buildAhead(pass, artifact);
        pass.setReady('False', 'DependencyNotReady', notReady);
        const message = `Dependencies do not meet ready condition, retrying in ${formatDuration(requeueDependencyMs)}`;
        pass.request.log.info(message);
        await pass.event('Normal', message);
        return { requeueAfterMs: requeueDependencyMs };
      }
      pass.request.log.info('All dependencies are ready, proceeding with reconciliation');
    }
    await reconcileRevision(pass, artifact);
    // A Job that is no health target can fail with a retry due before the next interval.
    const retry = nextRetry(pass);
    const interval = withJitter(intervalOf(ks.spec));
    return { requeueAfterMs: retry ? Math.min(interval, Math.max(0, retry.at - Date.now())) : interval };
  }

  /** The phases for one revision: fetch, build, apply, prune, health, ready. */
  async function reconcileRevision(pass: KustomizationPass, artifact: Artifact): Promise<void> {
    const { ks, status } = pass;
    const timeoutMs = timeoutOf(ks.spec);
    // Ended with the pass: a signal composed with the controller's long-lived one, once something listens to
    // it, stays reachable from that one until it aborts (AbortSignal.timeout's would keep it for the timeout).
    const deadline = new AbortController();
    const deadlineTimer = setTimeout(
      () => deadline.abort(new DOMException(`timed out after ${formatDuration(timeoutMs)}`, 'TimeoutError')),
      timeoutMs,
    );
    const revision: RevisionState = (pass.revision = {
      revision: artifact.revision,
      timeoutMs,
      signal: AbortSignal.any([pass.request.signal, deadline.signal]),
      desired: [],
      digest: '',
      changeSet: [],
      jobsSeen: new Map(),
      triggers: new Map(),
      held: new Set(),
      onNewRevision:
        ks.metadata.annotations?.[SluiceAnnotation.onNewRevision] === 'cancel' ||
        (ks.metadata.annotations?.[SluiceAnnotation.onNewRevision] === undefined &&
          options.featureGates?.CancelHealthCheckOnNewRevision === true)
          ? 'cancel'
          : 'finish',
    });
    const phase = (verb: string) =>
      pass.progress(
        `${verb} for revision ${artifact.revision} with a timeout of ${formatDuration(timeoutMs)}`,
      );
    pass.setReady('Unknown', 'Progressing', 'Reconciliation in progress');
    phase('Fetching manifests');

    // Milliseconds per phase (apply also split into its dry-runs and writes), logged at debug level: where a
    // reconcile spends its time.
    const phases: Record<string, number> = {};
    let lapStart = Date.now();
    const lap = (name: string) => {
      phases[name] = Date.now() - lapStart;
      lapStart = Date.now();
    };
    const files = new ArtifactFiles(options.store, artifact);
    let remote: RemoteCluster | undefined;
    try {
      remote = await actOnTarget(pass);
      // Built before, or being built (same artifact, path and overlay): neither files nor kustomize are needed.
      // Not decrypted builds (the keys may have gone).
      const cacheable = artifact.digest && !ks.spec.decryption;
      const cacheKey = cacheable ? BuildCache.key(artifact.digest, ks.spec) : undefined;
      const cached = cacheKey ? buildCache.get(cacheKey) : undefined;
      if (!cached) await neededBuild(() => files.dir(ks.spec.path));
      status.lastAttemptedRevision = artifact.revision;
      phase('Building manifests');
      lap('fetch');

      // A build in flight that fails (another pass's cancellation, say) is no reason for this one to: build again.
      const kustomized =
        cached?.catch(() => neededBuild(() => kustomize(pass, files))) ??
        neededBuild(() => kustomize(pass, files, cacheKey));
      await build(pass, await kustomized);
      phase('Detecting drift');
      lap('build');

      await prepareJobs(pass);
      const started = Date.now();
      const applyTimings = { dryRunMs: 0, writeMs: 0 };
      await apply(pass, applyTimings);
      rerunApplied(pass);
      lap('apply');
      phases.dryRun = applyTimings.dryRunMs;
      phases.write = applyTimings.writeMs;
      const previous = status.inventory?.entries ?? [];
      status.inventory = { entries: revision.changeSet.map((c) => entryForRef(c.ref)) };
      const logLines = logLinesFor(pass, options.failedJobLogLines ?? 0);
      await recordJobRuns(pass, logLines, { changedOnly: true });
      let unhealthy: HealthFailure | undefined;
      try {
        await prune(pass, previous);
        lap('prune');
        unhealthy = await checkHealth(pass);
      } finally {
        // Even when the pass fails: a Job that completed must not run again because something else failed.
        await recordJobRuns(pass, logLines);
      }
      if (unhealthy) throw healthCheckFailure(pass, unhealthy);
      lap('health');

      status.lastAppliedRevision = artifact.revision;
      // An OCI artifact says which commit it was pushed from (flux push artifact --revision).
      const origin = artifact.metadata?.['org.opencontainers.image.revision'];
      if (origin) status.lastAppliedOriginRevision = origin;
      else delete status.lastAppliedOriginRevision;
      pass.setReady('True', 'ReconciliationSucceeded', `Applied revision: ${artifact.revision}`);
      record(pass, 'ReconciliationSucceeded', Date.now() - started);
    } catch (error) {
      if (!pass.request.signal.aborted && !nextRetry(pass)) {
        await runFailureHook(pass, { ctx, options, files, error });
      }
      throw error;
    } finally {
      clearTimeout(deadlineTimer);
      deadline.abort(new Error('the pass is over'));
      await files.remove();
      await remote?.close();
      pass.request.log.debug(
        { revision: artifact.revision, startedAt: new Date(pass.started).toISOString(), phasesMs: phases },
        'reconcile phases',
      );
    }
  }

  /**
   * While a Kustomization waits for its dependencies, its kustomize build of the revision runs ahead into the build
   * cache, so the pass that follows their readiness starts at the apply instead of building on the release's
   * critical path. Nothing is applied or reported here: a build that fails is built again, and reported, by that pass.
   */
  function buildAhead(pass: KustomizationPass, artifact: Artifact): void {
    const { ks } = pass;
    if (!artifact.digest || ks.spec.decryption) return;
    const cacheKey = BuildCache.key(artifact.digest, ks.spec);
    if (buildCache.has(cacheKey)) return;
    const files = new ArtifactFiles(options.store, artifact);
    const signal = AbortSignal.timeout(timeoutOf(ks.spec));
    void buildCache
      .build(cacheKey, () =>
        aheadBuild(async () =>
          kustomizeManifests(ctx.objects, ks, await files.root(), await files.dir(ks.spec.path), {
            kustomizeModule: options.kustomizeModule,
            signal,
            sopsAgeSecret: options.sopsAgeSecret,
          }),
        ),
      )
      .catch(() => undefined)
      .finally(() => files.remove());
  }

  function buildOptions(pass: KustomizationPass): BuildOptions {
    return {
      kustomizeModule: options.kustomizeModule,
      signal: pass.current.signal,
      strictSubstitutions: options.featureGates?.StrictPostBuildSubstitutions,
      sopsAgeSecret: options.sopsAgeSecret,
    };
  }

  /** Runs kustomize on spec.path of the artifact, keeping the result under `cacheKey`. */
  async function kustomize(
    pass: KustomizationPass,
    files: ArtifactFiles,
    cacheKey?: string,
  ): Promise<KubeObject[]> {
    const run = async () =>
      kustomizeManifests(
        ctx.objects,
        pass.ks,
        await files.root(),
        await files.dir(pass.ks.spec.path),
        buildOptions(pass),
      );
    return cacheKey ? buildCache.build(cacheKey, run) : run();
  }

  /** Substitutes variables into what kustomize built, and prepares the objects to apply. */
  async function build(pass: KustomizationPass, kustomized: KubeObject[]): Promise<void> {
    const built = await substitute(ctx.objects, pass.ks, kustomized, buildOptions(pass));
    pass.current.digest = built.digest;
    pass.current.desired = await prepareObjects(pass.objects.mapper, pass.ks, built.objects);
  }

  /** The staged server-side apply of everything built; a failed stage applies nothing of itself. */
  async function apply(pass: KustomizationPass, timings: ApplyTimings): Promise<void> {
    const revision = pass.current;
    try {
      const alreadyRan: string[] = [];
      revision.changeSet = await pass.resources.applyAllStaged(revision.desired, {
        fieldManager: FieldManager.kustomizeController,
        force: pass.ks.spec.force ?? false,
        // Unlike Flux: a Job its TTL deleted after it completed is not drift, so it is not run again.
        skip: (desired, existing) => {
          const id = jobId(desired);
          const skip =
            (!existing && revision.held.has(id)) ||
            (!revision.triggers.has(id) && leaveDeleted(pass.status.jobRuns, desired, existing));
          if (skip) alreadyRan.push(describeRef(refOf(desired)));
          return skip;
        },
        signal: revision.signal,
        timings,
        ownerLabels: ownerLabels(pass.ks),
        ignore: pass.ignore,
      });
      if (alreadyRan.length > 0) {
        pass.request.log.info(
          { jobs: alreadyRan },
          'not creating Jobs that completed for this manifest and were deleted by their ttlSecondsAfterFinished',
        );
      }
      const changed = revision.changeSet.filter((c) => c.action !== 'unchanged' && c.action !== 'skipped');
      if (changed.length > 0) {
        pass.request.log.info(
          { output: Object.fromEntries(revision.changeSet.map((c) => [c.subject, c.action])) },
          'server-side apply completed',
        );
        await pass.event('Normal', changed.map((c) => `${c.subject} ${c.action}`).join('\n'));
      }
    } catch (error) {
      if (!(error instanceof ApplyError)) throw error;
      const applied = error.changeSet.filter((c) => c.action !== 'unchanged' && c.action !== 'skipped');
      const message = [error.message, ...applied.map((c) => `${c.subject} ${c.action}`)].join('\n');
      record(pass, 'ReconciliationFailed', 0);
      throw new ReconcileError('ReconciliationFailed', message, { cause: error });
    }
  }

  /** Deletes what the previous inventory had and this one does not (only with prune: true). */
  async function prune(pass: KustomizationPass, previous: ResourceRef[]): Promise<void> {
    const { ks, status } = pass;
    const stale = staleEntries(previous, status.inventory?.entries ?? []);
    if (!ks.spec.prune || stale.length === 0) return;
    try {
      const deleted = await pass.resources.deleteAll(stale.map(refOfEntry), ownerLabels(ks));
      const lines = deleted.filter((c) => c.action === 'deleted').map((c) => `${c.subject} deleted`);
      if (lines.length > 0) {
        pass.request.log.info({ output: lines }, 'garbage collection completed');
        await pass.event('Normal', lines.join('\n'));
      }
    } catch (error) {
      if (!(error instanceof PruneError)) throw error;
      // Keep what could not be deleted in the inventory, so the next pass tries again.
      const kept = error.survivors.map(entryForRef);
      status.inventory = { entries: [...(status.inventory?.entries ?? []), ...kept] };
      record(pass, 'PruneFailed', 0);
      throw new ReconcileError('PruneFailed', error.message, { cause: error });
    }
  }

  /**
   * With `wait`, every applied object (skipped ones aside) must become healthy; otherwise the listed
   * `healthChecks`. Until then the revision is not recorded as applied, so dependents keep waiting. Returns the
   * failed outcome, for the caller to report once the Jobs' runs are recorded.
   */
  async function checkHealth(pass: KustomizationPass): Promise<HealthFailure | undefined> {
    const { ks, status } = pass;
    const revision = pass.current;
    const targets = healthTargets(ks, revision.changeSet, revision.desired);
    if (targets.length === 0) {
      deleteCondition(status, 'Healthy');
      return undefined;
    }
    const message = `Running health checks for revision ${revision.revision} with a timeout of ${formatDuration(revision.timeoutMs)}`;
    const wasHealthy = getCondition(status, 'Healthy')?.status === 'True';
    setCondition(status, pass.generation, {
      type: 'Healthy',
      status: 'Unknown',
      reason: 'Progressing',
      message,
    });
    pass.progress(message);
    const cancellation = healthCheckCancellation(pass);
    let outcome: HealthOutcome;
    try {
      outcome = await waitForHealth(pass.objects, targets, {
        timeoutMs: revision.timeoutMs,
        readers: pass.readers,
        signal: AbortSignal.any([pass.request.signal, cancellation.signal]),
        jobsSeen: revision.jobsSeen,
      });
    } catch (error) {
      if (!cancellation.signal.aborted || pass.request.signal.aborted) throw error;
      const canceled = `health check canceled for revision ${revision.revision}: ${String(cancellation.signal.reason)}`;
      setCondition(status, pass.generation, {
        type: 'Healthy',
        status: 'False',
        reason: 'HealthCheckCanceled',
        message: canceled,
      });
      throw new ReconcileError('HealthCheckCanceled', canceled, { cause: error });
    } finally {
      cancellation.abort();
    }
    if (!outcome.healthy) {
      setCondition(status, pass.generation, {
        type: 'Healthy',
        status: 'False',
        reason: 'HealthCheckFailed',
        message: outcome.message,
      });
      record(pass, 'HealthCheckFailed', outcome.elapsedMs);
      return { ...outcome, subjects: targets.map((t) => describeRef(t.ref)) };
    }
    const passed = healthCheckPassedMessage(outcome.elapsedMs);
    setCondition(status, pass.generation, {
      type: 'Healthy',
      status: 'True',
      reason: 'Succeeded',
      message: passed,
    });
    const changed = revision.changeSet.some((c) => c.action !== 'unchanged' && c.action !== 'skipped');
    const isNewRevision = ks.status?.lastAppliedRevision !== revision.revision;
    if (!wasHealthy || (isNewRevision && changed)) await pass.event('Normal', passed);
    return undefined;
  }

  /**
   * What ends a health check early, its abort reason saying why: `sluice rerun --force` asking to run a Job
   * again, or, with `sluice.dev/on-new-revision: cancel`, the source moving on to a new revision (Flux's
   * CancelHealthCheckOnNewRevision, per Kustomization). Both are followed in the informers' caches.
   */
  function healthCheckCancellation(pass: KustomizationPass): AbortController {
    const controller = new AbortController();
    const { namespace, name, annotations } = pass.ks.metadata;
    const rerunAt = annotations?.[SluiceAnnotation.rerunRequestedAt];
    ctx.kustomizations.follow(
      namespace,
      name ?? '',
      (ks) => {
        const now = ks.metadata.annotations ?? {};
        const requested = now[SluiceAnnotation.rerunRequestedAt];
        if (requested && requested !== rerunAt && now[SluiceAnnotation.rerunForce] === 'true') {
          controller.abort(
            `sluice rerun --force asked to run ${now[SluiceAnnotation.rerunJobs] ?? 'its Jobs'} again`,
          );
        }
      },
      controller.signal,
    );
    if (pass.current.onNewRevision === 'cancel') {
      const { sourceRef } = pass.ks.spec;
      ctx.gitRepositories.follow(
        sourceRef.namespace || namespace,
        sourceRef.name,
        (source) => {
          const revision = source.status?.artifact?.revision;
          if (revision && revision !== pass.current.revision) {
            controller.abort(`the source has a new revision, ${revision}`);
          }
        },
        controller.signal,
      );
    }
    return controller;
  }

  /** The Ready message of a failed health check: Flux's, then why the first failed Job failed. */
  function healthCheckFailure(pass: KustomizationPass, failure: HealthFailure): ReconcileError {
    const flux = healthCheckFailedMessage(failure.elapsedMs, failure.message);
    return new ReconcileError('HealthCheckFailed', healthFailureMessage(flux, pass, failure.subjects));
  }

  /** The revision's outcome in status.history. */
  function record(pass: KustomizationPass, outcome: string, durationMs: number): void {
    const { digest, revision } = pass.current;
    pass.status.history = upsertHistory(pass.status.history, {
      digest,
      status: outcome,
      revision,
      durationMs,
    });
  }

  /** Deletes what the inventory lists, as the deletion policy says (MirrorPrune: only with prune). */
  async function finalize(pass: KustomizationPass, ours: boolean): Promise<void> {
    const { ks } = pass;
    if (!ours) return;
    const policy = ks.spec.deletionPolicy || DeletionPolicy.mirrorPrune;
    const entries = ks.status?.inventory?.entries ?? [];
    const shouldDelete =
      !ks.spec.suspend &&
      entries.length > 0 &&
      (policy === DeletionPolicy.delete ||
        policy === DeletionPolicy.waitForTermination ||
        (policy === DeletionPolicy.mirrorPrune && ks.spec.prune));
    if (!shouldDelete) return;
    const refs = [...entries].reverse().map(refOfEntry);
    if (!(await canImpersonate(pass))) {
      // Deleting as the controller would escalate the account's rights; report the objects left instead.
      await pass.event('Warning', `unable to prune objects: \n${refs.map(describeRef).join('\n')}`);
      return;
    }
    const remote = await actOnTarget(pass).catch(async (error: unknown) => {
      await pass.event('Warning', `pruning for deleted resource failed: ${errorMessage(error)}`);
      throw error;
    });
    try {
      const deleted = await pass.resources.deleteAll(refs, ownerLabels(ks));
      const lines = deleted.filter((c) => c.action === 'deleted').map((c) => `${c.subject} deleted`);
      if (lines.length > 0) await pass.event('Normal', lines.join('\n'));
      if (policy === DeletionPolicy.waitForTermination) {
        const signal = AbortSignal.any([pass.request.signal, AbortSignal.timeout(timeoutOf(ks.spec))]);
        await Promise.all(refs.map((ref) => pass.objects.waitUntilGone(ref, signal))).catch(
          async (error: unknown) => {
            await pass.event('Warning', `failed to wait for resources termination: ${String(error)}`);
          },
        );
      }
    } catch (error) {
      await pass.event('Warning', `pruning for deleted resource failed: ${errorMessage(error)}`);
      throw error;
    } finally {
      await remote?.close();
    }
  }

  /** Whether the service account to impersonate (if any) still exists. */
  async function canImpersonate(pass: KustomizationPass): Promise<boolean> {
    const account = accountOf(pass.ks);
    if (!account) return true;
    const ref = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      namespace: pass.ks.metadata.namespace,
      name: account,
    };
    return (await ctx.objects.get(ref)) !== undefined;
  }

  /**
   * The source, from the informer's cache; when the cache does not have it, from the API server, since a source
   * applied just before its Kustomizations may not have reached the cache yet.
   */
  async function getSource(ks: Kustomization): Promise<GitRepository | OCIRepository | undefined> {
    const ref = ks.spec.sourceRef;
    const namespace = ref.namespace || ks.metadata.namespace;
    const [cache, api] =
      ref.kind === SourceKind.ociRepository
        ? [ctx.ociRepositories, OCIRepositoryApi]
        : [ctx.gitRepositories, GitRepositoryApi];
    return (
      cache.get(namespace, ref.name) ??
      (await ctx.objects.get<(GitRepository | OCIRepository) & KubeObject>({
        apiVersion: api.apiVersion,
        kind: api.kind,
        namespace,
        name: ref.name,
      }))
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
