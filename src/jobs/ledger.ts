// The run ledger (status.jobRuns): every run of every Job a Kustomization applied, newest first, one entry per
// Job object (by uid) with the manifest digest and revision it ran for. It answers "did the migration for this
// revision run, when, how often, with what result"; it outlives the Job and its pods, and decides what the
// controller does next: a Job with a TTL that completed for its manifest is not created again, a failed Job with
// a `sluice.dev/retry` budget is, and a failure hook runs once per failed revision.
import { createHash } from 'node:crypto';
import type {
  JobFailure,
  JobRun,
  JobRunResult,
  JobRunTrigger,
  LegacyCompletedJob,
} from '../api/kustomization.ts';
import type { KubeObject } from '../kube/client.ts';
import { objectId } from '../inventory/inventory.ts';

/** The bound on the ledger's size: at most this many runs per Job, and in all (oldest dropped first). */
export const MAX_RUNS_PER_JOB = 10;
export const MAX_RUNS = 50;

/** A batch Job whose manifest sets ttlSecondsAfterFinished (any value, 0 included). */
export function isJobWithTTL(object: KubeObject): boolean {
  const spec = object['spec'] as { ttlSecondsAfterFinished?: unknown } | undefined;
  return isJob(object) && spec?.ttlSecondsAfterFinished !== undefined;
}

export const isJob = (object: KubeObject): boolean =>
  object.kind === 'Job' && object.apiVersion?.split('/')[0] === 'batch';

export const jobId = (job: KubeObject): string =>
  objectId({
    group: 'batch',
    kind: 'Job',
    namespace: job.metadata?.namespace ?? '',
    name: job.metadata?.name ?? '',
  });

/** JSON with object keys sorted, so the digest does not depend on the order kustomize wrote them in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const jobDigest = (job: KubeObject): string =>
  `sha256:${createHash('sha256').update(canonicalJson(job)).digest('hex')}`;

/** The runs of one Job for one manifest, newest first. */
export const runsOf = (runs: readonly JobRun[] | undefined, id: string, digest: string): JobRun[] =>
  (runs ?? []).filter((r) => r.id === id && r.digest === digest);

/** The newest run of a Job, whatever its manifest. */
export const latestRun = (runs: readonly JobRun[] | undefined, id: string): JobRun | undefined =>
  (runs ?? []).find((r) => r.id === id);

/** Whether a Job ran to completion for this exact manifest. */
export const completedFor = (runs: readonly JobRun[] | undefined, job: KubeObject): boolean =>
  runsOf(runs, jobId(job), jobDigest(job)).some((r) => r.result === 'Complete');

/**
 * Whether applying `desired` should leave it alone: a Job with a TTL, absent now, whose exact manifest is recorded
 * as completed, so its TTL deleted it. The controller and `sluice diff` both decide by this.
 */
export function leaveDeleted(
  runs: readonly JobRun[] | undefined,
  desired: KubeObject,
  existing: KubeObject | undefined,
): boolean {
  return existing === undefined && isJobWithTTL(desired) && completedFor(runs, desired);
}

interface JobConditionLike {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** The live Job's fields the ledger reads. */
export interface ObservedJob {
  metadata?: { uid?: string; creationTimestamp?: string };
  status?: { startTime?: string; completionTime?: string; conditions?: JobConditionLike[] };
}

const conditionOf = (job: ObservedJob, type: string) =>
  job.status?.conditions?.find((c) => c.type === type && c.status === 'True');

/** Running, Complete or Failed, from the Job's final conditions (FailureTarget is not yet Failed). */
export function resultOf(job: ObservedJob): JobRunResult {
  if (conditionOf(job, 'Complete')) return 'Complete';
  if (conditionOf(job, 'Failed')) return 'Failed';
  return 'Running';
}

/** The Job's Failed condition, as the start of a failure record. */
export function jobFailedCondition(job: ObservedJob): JobFailure | undefined {
  const failed = conditionOf(job, 'Failed');
  if (!failed) return undefined;
  return { reason: failed.reason || 'Failed', ...(failed.message ? { message: failed.message } : {}) };
}

export interface Observation {
  id: string;
  digest: string;
  revision: string;
  job: ObservedJob;
  /** What created it, when this is the first time the ledger sees it (default Apply). */
  trigger?: JobRunTrigger;
  /** Why it failed, when it did and the ledger has no cause yet. */
  failure?: JobFailure;
  now: Date;
}

/**
 * The ledger with one live Job observed: its run (by uid) updated, or a new run added in front with the next
 * attempt number for its manifest. A run already over keeps how it ended: a Cancelled run stays Cancelled.
 */
export function observe(runs: readonly JobRun[] | undefined, o: Observation): JobRun[] {
  const uid = o.job.metadata?.uid ?? '';
  const ledger = [...(runs ?? [])];
  const index = ledger.findIndex((r) => r.uid === uid && r.id === o.id);
  const result = resultOf(o.job);
  const finishedAt =
    result === 'Complete'
      ? (o.job.status?.completionTime ?? conditionOf(o.job, 'Complete')?.lastTransitionTime)
      : result === 'Failed'
        ? conditionOf(o.job, 'Failed')?.lastTransitionTime
        : undefined;
  if (index >= 0) {
    // The same Job object changed in place (a label, an annotation, the TTL): its run is now this manifest's.
    const run = { ...(ledger[index] as JobRun), digest: o.digest };
    if (run.result !== 'Running') {
      ledger[index] = run;
      return ledger;
    }
    ledger[index] = {
      ...run,
      result,
      ...(result !== 'Running' ? { finishedAt: finishedAt ?? o.now.toISOString() } : {}),
      ...(result === 'Failed' && o.failure ? { failure: o.failure } : {}),
    };
    return ledger;
  }
  const previous = runsOf(ledger, o.id, o.digest);
  const run: JobRun = {
    id: o.id,
    digest: o.digest,
    revision: o.revision,
    attempt: Math.max(0, ...previous.map((r) => r.attempt)) + 1,
    trigger: o.trigger ?? 'Apply',
    uid,
    result,
    startedAt: o.job.status?.startTime ?? o.job.metadata?.creationTimestamp ?? o.now.toISOString(),
    ...(result !== 'Running' ? { finishedAt: finishedAt ?? o.now.toISOString() } : {}),
    ...(result === 'Failed' && o.failure ? { failure: o.failure } : {}),
  };
  return bound([run, ...ledger]);
}

/** The ledger with one run changed (by uid), e.g. a retry scheduled or a run cancelled. */
export function updateRun(
  runs: readonly JobRun[] | undefined,
  uid: string,
  change: (run: JobRun) => JobRun,
): JobRun[] {
  return (runs ?? []).map((r) => (r.uid === uid ? change(r) : r));
}

/** A running run ended by sluice, not by the Job: deleted for `rerun --force` or a newer revision. */
export function cancelRun(
  runs: readonly JobRun[] | undefined,
  uid: string,
  why: string,
  now: Date,
): JobRun[] {
  return updateRun(runs, uid, (run) =>
    run.result === 'Running'
      ? {
          ...run,
          result: 'Cancelled',
          finishedAt: now.toISOString(),
          failure: { reason: 'Cancelled', message: why },
        }
      : run,
  );
}

/**
 * The runs of a Job that ended unseen: still Running in the ledger, but that Job object is gone (deleted by hand,
 * or by its TTL between passes) and `liveUid` is another one, or none. How they ended is Unknown.
 */
export function endVanishedRuns(
  runs: readonly JobRun[] | undefined,
  id: string,
  liveUid: string | undefined,
  now: Date,
): JobRun[] {
  return (runs ?? []).map((run) =>
    run.id === id && run.result === 'Running' && run.uid !== liveUid
      ? {
          ...run,
          result: 'Unknown',
          finishedAt: now.toISOString(),
          failure: { reason: 'Deleted', message: 'the Job was deleted before sluice saw it end' },
        }
      : run,
  );
}

/**
 * Newest first, at most MAX_RUNS_PER_JOB per Job and MAX_RUNS in all; the newest Complete run of each Job and
 * manifest is never dropped, since the TTL rule reads it.
 */
function bound(runs: JobRun[]): JobRun[] {
  const pinned = new Set<JobRun>();
  const completed = new Set<string>();
  for (const run of runs) {
    const key = `${run.id} ${run.digest}`;
    if (run.result === 'Complete' && !completed.has(key)) {
      completed.add(key);
      pinned.add(run);
    }
  }
  const perJob = new Map<string, number>();
  let total = pinned.size;
  return runs.filter((run) => {
    if (pinned.has(run)) return true;
    const seen = (perJob.get(run.id) ?? 0) + 1;
    perJob.set(run.id, seen);
    if (seen > MAX_RUNS_PER_JOB || total >= MAX_RUNS) return false;
    total++;
    return true;
  });
}

/**
 * The ledger of a status, the runs an older sluice recorded as `status.completedJobs` included (each becomes a
 * Complete run), so an upgrade does not run completed Jobs again.
 */
export function ledgerOf(
  status: { jobRuns?: JobRun[]; completedJobs?: LegacyCompletedJob[] } | undefined,
): JobRun[] {
  const runs = [...(status?.jobRuns ?? [])];
  for (const legacy of status?.completedJobs ?? []) {
    if (runs.some((r) => r.id === legacy.id && r.digest === legacy.digest && r.result === 'Complete'))
      continue;
    runs.push({
      id: legacy.id,
      digest: legacy.digest,
      revision: legacy.revision,
      attempt: 1,
      trigger: 'Apply',
      uid: '',
      result: 'Complete',
      startedAt: legacy.completedAt,
      finishedAt: legacy.completedAt,
    });
  }
  return runs;
}
