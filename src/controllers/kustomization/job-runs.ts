// The Kustomization's Jobs as runs in the ledger (status.jobRuns). Before the apply, Jobs asked to run again are
// deleted so that the apply creates them afresh (`sluice rerun`, a due `sluice.dev/retry`), and a Job of an older
// manifest that is still running is waited for, or with `sluice.dev/on-new-revision: cancel` stopped, instead of
// being killed by force's recreate. After the apply and after the health check, each applied Job is recorded
// as a run; a failed one with why it failed, read from its pods before a TTL or a recreate deletes them.
import type { JobFailure, JobRun } from '../../api/kustomization.ts';
import { SluiceAnnotation } from '../../api/meta.ts';
import { formatDuration } from '../../api/duration.ts';
import type { KubeObject } from '../../kube/client.ts';
import { describeRef, refOf, type ObjectRef } from '../../kube/objects.ts';
import { jobPods, podLogTail, type Job, type Pod } from '../../kube/pods.ts';
import { forceEnabled } from '../../ssa/annotations.ts';
import {
  cancelRun,
  endVanishedRuns,
  isJob,
  jobDigest,
  jobFailedCondition,
  jobId,
  latestRun,
  observe,
  resultOf,
  updateRun,
} from '../../jobs/ledger.ts';
import {
  MAX_LOG_CHARS,
  MAX_MESSAGE_CHARS,
  describeFailure,
  failureCause,
  redact,
  truncateEnd,
  truncateStart,
} from '../../jobs/failure.ts';
import { backoffAfter, mayRetry, retryPolicyOf, safeRetryPolicyOf } from '../../jobs/retry.ts';
import { secretValuesFor } from '../../jobs/secrets.ts';
import { errorMessage } from '../../errors.ts';
import { ReconcileError } from '../reconcile.ts';
import type { KustomizationPass } from './pass.ts';

/** How long a failed Job's log may take to read before the ledger goes without it. */
const LOG_READ_TIMEOUT_MS = 10_000;

const jobsOf = (pass: KustomizationPass): KubeObject[] => pass.current.desired.filter(isJob);

const uidOf = (job: KubeObject | undefined): string => job?.metadata?.uid ?? '';

/** The log lines a failed Job keeps: the Kustomization's annotation, else the controller's flag. */
export function logLinesFor(pass: KustomizationPass, controllerDefault: number): number {
  const value = pass.ks.metadata.annotations?.[SluiceAnnotation.failedJobLogLines];
  const lines = value === undefined ? controllerDefault : Number(value);
  return Number.isInteger(lines) && lines > 0 ? lines : 0;
}

/** Before the apply: what runs again (rerun, retry), and what an older manifest's running Job is left to do. */
export async function prepareJobs(pass: KustomizationPass): Promise<void> {
  if (jobsOf(pass).length === 0) return;
  for (const job of jobsOf(pass)) {
    try {
      retryPolicyOf(job);
    } catch (error) {
      throw new ReconcileError('ReconciliationFailed', errorMessage(error), { cause: error });
    }
  }
  await rerunRequested(pass);
  await retryDue(pass);
  await settleOlderRuns(pass);
}

/**
 * `sluice rerun`: the named Jobs (`namespace/name`, or a bare name) are deleted, a running one only with
 * --force, and created again by the apply. The request counts as handled once that apply went through
 * (`rerunApplied`), so a failed apply leaves it to the next pass.
 */
async function rerunRequested(pass: KustomizationPass): Promise<void> {
  const annotations = pass.ks.metadata.annotations ?? {};
  const requestedAt = annotations[SluiceAnnotation.rerunRequestedAt];
  if (!requestedAt || requestedAt === pass.status.lastHandledRerunAt) return;
  pass.current.rerunRequestedAt = requestedAt;
  const asked = (annotations[SluiceAnnotation.rerunJobs] ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const force = annotations[SluiceAnnotation.rerunForce] === 'true';
  const matches = (job: KubeObject, name: string) =>
    name === job.metadata?.name || name === `${job.metadata?.namespace}/${job.metadata?.name}`;
  const unknown = asked.filter((name) => !jobsOf(pass).some((job) => matches(job, name)));
  if (unknown.length > 0) {
    await pass.event('Warning', `not running ${unknown.join(', ')} again: this revision builds no such Job`);
  }
  const rerun: string[] = [];
  for (const job of jobsOf(pass).filter((j) => asked.some((name) => matches(j, name)))) {
    const ref = refOf(job);
    const live = await pass.objects.get(ref);
    if (live && resultOf(live) === 'Running') {
      if (!force) {
        await pass.event(
          'Warning',
          `${describeRef(ref)} is still running, not running it again (use --force)`,
        );
        continue;
      }
      const why = 'stopped by sluice rerun --force';
      pass.status.jobRuns = cancelRun(pass.status.jobRuns, uidOf(live), why, new Date());
    }
    if (live) await deleteJob(pass, ref);
    pass.current.triggers.set(jobId(job), 'Rerun');
    rerun.push(describeRef(ref));
  }
  if (rerun.length > 0) await pass.event('Normal', `Running ${rerun.join(', ')} again (sluice rerun)`);
}

/** After the apply: the rerun this pass acted on is done. */
export function rerunApplied(pass: KustomizationPass): void {
  const { rerunRequestedAt } = pass.current;
  if (rerunRequestedAt) pass.status.lastHandledRerunAt = rerunRequestedAt;
}

/**
 * A failed Job with `sluice.dev/retry` left: once its backoff is over it is deleted (if its TTL has not done so),
 * so the apply runs it again; before that, a Job its TTL deleted is held back, not created again as drift.
 */
async function retryDue(pass: KustomizationPass): Promise<void> {
  for (const job of jobsOf(pass)) {
    const policy = retryPolicyOf(job);
    const id = jobId(job);
    const run = latestRun(pass.status.jobRuns, id);
    if (!policy || !run?.retryAt || pass.current.triggers.has(id)) continue;
    const ref = refOf(job);
    const live = await pass.objects.get(ref);
    if (live && (uidOf(live) !== run.uid || resultOf(live) !== 'Failed')) continue;
    if (run.digest !== jobDigest(job)) continue;
    if (Date.parse(run.retryAt) > Date.now()) {
      if (!live) pass.current.held.add(id);
      continue;
    }
    pass.status.jobRuns = updateRun(pass.status.jobRuns, run.uid, ({ retryAt: _, ...rest }) => rest);
    if (live) await deleteJob(pass, ref);
    pass.current.triggers.set(id, 'Retry');
    const cause = run.failure ? `: ${failureCause(run.failure)}` : '';
    await pass.event(
      'Normal',
      `Running ${describeRef(ref)} again, attempt ${run.attempt + 1} of ${policy.retries + 1}, after attempt ${run.attempt} failed${cause}`,
    );
  }
}

/**
 * A Job of an older manifest still running, which force would delete to create the new one: by default it
 * finishes first (its outcome recorded for its own revision); with `sluice.dev/on-new-revision: cancel` it is
 * stopped and recorded as Cancelled. A still-running Job of the same manifest is the health check's to wait for.
 */
async function settleOlderRuns(pass: KustomizationPass): Promise<void> {
  const cancel = pass.current.onNewRevision === 'cancel';
  for (const job of jobsOf(pass)) {
    // Only a run the ledger has as running, for another manifest, can be one: most passes read nothing here.
    const recorded = latestRun(pass.status.jobRuns, jobId(job));
    if (recorded?.result !== 'Running' || recorded.digest === jobDigest(job)) continue;
    const ref = refOf(job);
    const live = await pass.objects.get(ref);
    if (!live || resultOf(live) !== 'Running' || pass.current.triggers.has(jobId(job))) continue;
    const run = pass.status.jobRuns?.find((r) => r.uid === uidOf(live));
    if (!run || run.digest === jobDigest(job) || !forceEnabled(job, live, pass.ks.spec.force ?? false))
      continue;
    const { revision } = pass.current;
    if (cancel) {
      const why = `cancelled for revision ${revision}`;
      pass.status.jobRuns = cancelRun(pass.status.jobRuns, run.uid, why, new Date());
      await deleteJob(pass, ref);
      await pass.event('Normal', `${describeRef(ref)} of revision ${run.revision} ${why}`);
      continue;
    }
    pass.progress(
      `Waiting for ${describeRef(ref)} of revision ${run.revision} to finish before applying revision ${revision}`,
    );
    let finished: KubeObject | undefined;
    try {
      finished = await pass.objects.waitFor(ref, (j) => !j || resultOf(j) !== 'Running', pass.current.signal);
    } catch (error) {
      if (pass.request.signal.aborted) throw error;
      const message = `timeout waiting for ${describeRef(ref)} of revision ${run.revision} to finish before applying revision ${revision}`;
      throw new ReconcileError('HealthCheckFailed', message, { cause: error });
    }
    if (finished) await recordRun(pass, job, finished, { revision: run.revision, digest: run.digest });
  }
}

/** Deletes a Job and its pods, and waits until it is gone, so that the apply creates it anew. */
async function deleteJob(pass: KustomizationPass, ref: ObjectRef): Promise<void> {
  await pass.objects.delete(ref, 'Background');
  await pass.objects.waitUntilGone(ref, pass.current.signal);
}

/**
 * Records each Job this pass applied (not skipped) as a run: its live state, else the last state the health
 * check saw (a TTL may have deleted it since). `changedOnly`, right after the apply: only the Jobs it created
 * or changed, so a new run is in the ledger while it runs and an unchanged pass reads nothing twice. A failure
 * here only loses a record, never the pass.
 */
export async function recordJobRuns(
  pass: KustomizationPass,
  logLines: number,
  options: { changedOnly?: boolean } = {},
): Promise<void> {
  const { changeSet, jobsSeen } = pass.current;
  const actions = new Map(changeSet.map((c) => [c.subject, c.action]));
  for (const job of jobsOf(pass)) {
    const subject = describeRef(refOf(job));
    const action = actions.get(subject);
    if (action === undefined || action === 'skipped') continue;
    if (options.changedOnly && action !== 'created' && action !== 'configured') continue;
    try {
      const live = (await pass.objects.get(refOf(job))) ?? jobsSeen.get(subject);
      if (live) await recordRun(pass, job, live, { logLines });
      pass.status.jobRuns = endVanishedRuns(pass.status.jobRuns, jobId(job), live?.metadata?.uid, new Date());
    } catch (error) {
      pass.request.log.info({ job: subject, error: errorMessage(error) }, 'cannot record the run of a Job');
    }
  }
  if (pass.status.jobRuns?.length === 0) delete pass.status.jobRuns;
}

/**
 * One Job's run, observed; a failure read from its pods once, and its retry scheduled if it has one (unless
 * `retry: false`, for a failure hook). `revision` and `digest` name an older run's own.
 */
export async function recordRun(
  pass: KustomizationPass,
  desired: KubeObject,
  live: KubeObject,
  options: { logLines?: number; revision?: string; digest?: string; retry?: boolean },
): Promise<void> {
  const uid = uidOf(live);
  if (!uid) return;
  const id = jobId(desired);
  const known = pass.status.jobRuns?.find((r) => r.uid === uid);
  const result = resultOf(live);
  const failure =
    result === 'Failed' && !known?.failure
      ? await readFailure(pass, live as Job, options.logLines ?? 0)
      : undefined;
  pass.status.jobRuns = observe(pass.status.jobRuns, {
    id,
    digest: options.digest ?? jobDigest(desired),
    revision: options.revision ?? pass.current.revision,
    job: live,
    trigger: pass.current.triggers.get(id),
    failure,
    now: new Date(),
  });
  if (failure?.log) await reportLog(pass, desired, failure);
  const run = pass.status.jobRuns.find((r) => r.uid === uid);
  const policy = options.retry === false ? undefined : safeRetryPolicyOf(desired);
  if (run && policy && mayRetry(policy, run) && !run.retryAt && run.digest === jobDigest(desired)) {
    const due = Date.parse(run.finishedAt ?? new Date().toISOString()) + backoffAfter(policy, run.attempt);
    pass.status.jobRuns = updateRun(pass.status.jobRuns, uid, (r) => ({
      ...r,
      retryAt: new Date(due).toISOString(),
    }));
  }
}

/**
 * Why a Job failed, from its Failed condition and pods. What the pod wrote (its termination message, its log)
 * has the values of the Secrets it reads taken out before it is cut to size, and is not kept at all when one of
 * those Secrets cannot be read.
 */
async function readFailure(pass: KustomizationPass, job: Job, logLines: number): Promise<JobFailure> {
  const condition = jobFailedCondition(job) ?? { reason: 'Failed' };
  const client = pass.objects.client;
  let pods: Pod[] = [];
  try {
    pods = await jobPods(client, job);
  } catch (error) {
    pass.request.log.info(
      { job: job.metadata.name, error: errorMessage(error) },
      "cannot read a failed Job's pods",
    );
  }
  const failure = describeFailure(condition, pods);
  const pod = pods.find((p) => p.metadata.name === failure.pod);
  const wantsLog = logLines > 0 && failure.container !== undefined;
  if (!pod || (!failure.terminationMessage && !wantsLog)) return failure;
  const secrets = await secretValuesFor(client, pod, failure.container);
  if ('withheld' in secrets) {
    delete failure.terminationMessage;
    failure.withheld = secrets.withheld;
    return failure;
  }
  if (failure.terminationMessage) {
    failure.terminationMessage = truncateEnd(
      redact(failure.terminationMessage, secrets.values),
      MAX_MESSAGE_CHARS,
    );
  }
  if (wantsLog && failure.container) {
    try {
      const signal = AbortSignal.any([pass.request.signal, AbortSignal.timeout(LOG_READ_TIMEOUT_MS)]);
      const text = (await podLogTail(client, pod, failure.container, logLines, signal)).trimEnd();
      failure.log = truncateStart(redact(text, secrets.values), MAX_LOG_CHARS);
    } catch (error) {
      failure.withheld = `cannot read the log: ${errorMessage(error)}`;
    }
  }
  return failure;
}

/** The failed container's last lines in a Warning event too (`--failed-job-log-lines`). */
async function reportLog(pass: KustomizationPass, job: KubeObject, failure: JobFailure): Promise<void> {
  const lines = failure.log?.split('\n').length ?? 0;
  await pass.event(
    'Warning',
    [
      `${describeRef(refOf(job))} failed; the last ${lines} lines of its log:`,
      `--- pod/${failure.pod} container/${failure.container}`,
      failure.log || '(no output)',
    ].join('\n'),
    'HealthCheckFailed',
  );
}

/** A failed Job of this pass, with why, for the Ready message; `several` when more than one failed. */
export interface JobFailureReport {
  subject: string;
  run: JobRun;
  several: boolean;
}

/** The first failed Job among the health check's targets, in apply order, with its newest run. */
export function firstFailedJob(pass: KustomizationPass, subjects: string[]): JobFailureReport | undefined {
  const failed: { subject: string; run: JobRun }[] = [];
  for (const job of jobsOf(pass)) {
    const subject = describeRef(refOf(job));
    const run = latestRun(pass.status.jobRuns, jobId(job));
    if (subjects.includes(subject) && run?.result === 'Failed' && run.failure) failed.push({ subject, run });
  }
  const [first] = failed;
  return first && { ...first, several: failed.length > 1 };
}

/** A failed Job's run that will run again, and when: the earliest due of this pass's Jobs. */
export function nextRetry(pass: KustomizationPass): { run: JobRun; retries: number; at: number } | undefined {
  let next: { run: JobRun; retries: number; at: number } | undefined;
  for (const job of pass.revision ? jobsOf(pass) : []) {
    const run = latestRun(pass.status.jobRuns, jobId(job));
    const policy = run?.retryAt ? safeRetryPolicyOf(job) : undefined;
    if (!run?.retryAt || !policy || run.digest !== jobDigest(job)) continue;
    const at = Date.parse(run.retryAt);
    if (!next || at < next.at) next = { run, retries: policy.retries, at };
  }
  return next;
}

/** The health check's failure message: Flux's text, then the first failed Job's cause, then its retry if any. */
export function healthFailureMessage(
  fluxMessage: string,
  pass: KustomizationPass,
  subjects: string[],
): string {
  const failed = firstFailedJob(pass, subjects);
  if (!failed?.run.failure) return fluxMessage;
  const cause = `${failed.several ? `${failed.subject}: ` : ''}${failureCause(failed.run.failure)}`;
  const retry = nextRetry(pass);
  const again = retry
    ? `; it runs again in ${formatDuration(Math.max(0, retry.at - Date.now()))} (attempt ${retry.run.attempt + 1} of ${retry.retries + 1})`
    : '';
  return `${fluxMessage}: ${cause}${again}`;
}
