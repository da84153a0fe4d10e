// The failure hook: `sluice.dev/on-failure-path` names a path in the Kustomization's own source whose Jobs run
// when a revision fails for good (no retry left), for example to notify or to undo a half-applied migration.
// Each container gets the failure's context as SLUICE_* environment variables. A hook runs once per failed
// revision (the ledger records it, trigger OnFailure), never on success; its own failure is reported in an
// event and the ledger, never retried, and never hides the failure it was run for.
import { FieldManager, SluiceAnnotation, SluiceLabel } from '../../api/meta.ts';
import { formatDuration, timeoutOf } from '../../api/duration.ts';
import type { KubeObject } from '../../kube/client.ts';
import { describeRef, refOf } from '../../kube/objects.ts';
import { securePath } from '../../kustomize/build.ts';
import { isJob, jobId, latestRun, resultOf } from '../../jobs/ledger.ts';
import { failureCause } from '../../jobs/failure.ts';
import { errorMessage } from '../../errors.ts';
import { ReconcileError } from '../reconcile.ts';
import type { ControllerContext } from '../manager.ts';
import type { KustomizationPass } from './pass.ts';
import type { KustomizationOptions } from './reconciler.ts';
import { buildManifests, prepareObjects, type ArtifactFiles } from './manifests.ts';
import { firstFailedJob, recordRun } from './job-runs.ts';

export interface FailureHookContext {
  ctx: ControllerContext;
  options: KustomizationOptions;
  /** The revision's artifact. */
  files: ArtifactFiles;
  error: unknown;
}

export async function runFailureHook(pass: KustomizationPass, hook: FailureHookContext): Promise<void> {
  const hookPath = pass.ks.metadata.annotations?.[SluiceAnnotation.onFailurePath];
  const reason = hook.error instanceof ReconcileError ? hook.error.reason : 'ReconciliationFailed';
  if (!hookPath || !pass.revision || reason === 'HealthCheckCanceled') return;
  const { revision } = pass.current;
  if (pass.status.lastFailureHookRevision === revision) return;
  // A Job of this revision still running may yet succeed: an undo must not run beside its migration.
  const running = pass.current.desired
    .filter(isJob)
    .some((job) => latestRun(pass.status.jobRuns, jobId(job))?.result === 'Running');
  if (running) return;
  // Once per failed revision, whatever becomes of the hook itself.
  pass.status.lastFailureHookRevision = revision;
  try {
    pass.progress(`Running the failure hook ${hookPath} for revision ${revision}`);
    const jobs = await buildHookJobs(pass, hook, hookPath);
    const own = new Set(pass.current.desired.filter(isJob).map(jobId));
    const clashing = jobs.filter((job) => own.has(jobId(job)));
    if (clashing.length > 0) {
      const names = clashing.map((j) => describeRef(refOf(j))).join(', ');
      throw new Error(`${names} is applied by the Kustomization itself; give the hook's Jobs other names`);
    }
    const env = failureEnvironment(pass, reason, errorMessage(hook.error));
    for (const job of jobs) {
      const ref = refOf(job);
      pass.current.triggers.set(jobId(job), 'OnFailure');
      if (await pass.objects.get(ref)) {
        // The hook of an earlier failed revision: this failure gets its own run.
        await pass.objects.delete(ref, 'Background');
        await pass.objects.waitUntilGone(ref, AbortSignal.timeout(60_000));
      }
      const created = await pass.objects.apply(withEnvironment(job, env), {
        fieldManager: FieldManager.kustomizeController,
      });
      await recordRun(pass, job, created, { retry: false });
    }
    await pass.event(
      'Normal',
      `Running failure hook ${jobs.map((j) => describeRef(refOf(j))).join(', ')} for revision ${revision}`,
    );
    await Promise.all(jobs.map((job) => awaitHookJob(pass, job)));
  } catch (error) {
    await pass.event(
      'Warning',
      `failure hook ${hookPath} for revision ${revision} did not run: ${errorMessage(error)}`,
    );
  }
}

/** The hook path built like the Kustomization itself; only its Jobs run, anything else is refused. */
async function buildHookJobs(
  pass: KustomizationPass,
  hook: FailureHookContext,
  hookPath: string,
): Promise<KubeObject[]> {
  const root = await hook.files.root();
  const dir = await securePath(root, hookPath.replace(/^\/+/, ''));
  const built = await buildManifests(hook.ctx.objects, pass.ks, root, dir, {
    kustomizeModule: hook.options.kustomizeModule,
    signal: AbortSignal.any([pass.request.signal, AbortSignal.timeout(timeoutOf(pass.ks.spec))]),
  });
  const objects = await prepareObjects(pass.objects.mapper, pass.ks, built.objects);
  const others = objects.filter((o) => !isJob(o));
  if (others.length > 0) {
    throw new Error(`it may hold only Jobs, not ${others.map((o) => describeRef(refOf(o))).join(', ')}`);
  }
  if (objects.length === 0) throw new Error('it builds no Job');
  return objects.map((job) => {
    const labelled = structuredClone(job);
    labelled.metadata = {
      ...labelled.metadata,
      labels: { ...labelled.metadata?.labels, [SluiceLabel.hook]: 'on-failure' },
    };
    return labelled;
  });
}

/** What a hook container is told of the failure. */
function failureEnvironment(
  pass: KustomizationPass,
  reason: string,
  message: string,
): Record<string, string> {
  const failed = firstFailedJob(
    pass,
    pass.current.changeSet.map((c) => c.subject),
  );
  return {
    SLUICE_KUSTOMIZATION: pass.ks.metadata.name ?? '',
    SLUICE_NAMESPACE: pass.ks.metadata.namespace ?? '',
    SLUICE_REVISION: pass.current.revision,
    SLUICE_FAILED_OBJECT: failed?.subject ?? '',
    SLUICE_REASON: reason,
    SLUICE_EXIT_CODE: failed?.run.failure?.exitCode?.toString() ?? '',
    SLUICE_MESSAGE: message,
  };
}

interface Container {
  env?: { name: string; value?: string }[];
}

/** The Job with the context added to every container's environment (replacing variables of the same name). */
function withEnvironment(job: KubeObject, env: Record<string, string>): KubeObject {
  const out = structuredClone(job);
  const podSpec = (
    out['spec'] as { template?: { spec?: { containers?: Container[]; initContainers?: Container[] } } }
  ).template?.spec;
  for (const container of [...(podSpec?.initContainers ?? []), ...(podSpec?.containers ?? [])]) {
    const kept = (container.env ?? []).filter((e) => !(e.name in env));
    container.env = [...kept, ...Object.entries(env).map(([name, value]) => ({ name, value }))];
  }
  return out;
}

/** Waits for a hook Job to end (at most the Kustomization's timeout) and reports how it did. */
async function awaitHookJob(pass: KustomizationPass, job: KubeObject): Promise<void> {
  const ref = refOf(job);
  const timeoutMs = timeoutOf(pass.ks.spec);
  const signal = AbortSignal.any([pass.request.signal, AbortSignal.timeout(timeoutMs)]);
  let finished: KubeObject | undefined;
  try {
    finished = await pass.objects.waitFor(ref, (j) => !j || resultOf(j) !== 'Running', signal);
  } catch (error) {
    if (pass.request.signal.aborted) throw error;
    await pass.event(
      'Warning',
      `failure hook ${describeRef(ref)} is still running after ${formatDuration(timeoutMs)}`,
    );
    return;
  }
  if (!finished) return;
  await recordRun(pass, job, finished, { retry: false });
  const run = latestRun(pass.status.jobRuns, jobId(job));
  if (run?.result === 'Failed') {
    const cause = run.failure ? `: ${failureCause(run.failure)}` : '';
    await pass.event('Warning', `failure hook ${describeRef(ref)} failed${cause}`);
  } else if (run?.result === 'Complete') {
    await pass.event('Normal', `failure hook ${describeRef(ref)} completed`);
  }
}
