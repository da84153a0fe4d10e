// The ledger of Jobs that ran to completion, kept in status.completedJobs. Flux treats a Job deleted by its
// ttlSecondsAfterFinished as drift and creates it again, so it re-runs on every reconcile; sluice records each
// such Job's completion for its exact manifest and does not create it again until the manifest changes.
import { createHash } from 'node:crypto';
import type { CompletedJob } from '../../api/kustomization.ts';
import type { KubeObject } from '../../kube/client.ts';
import { describeRef, refOf } from '../../kube/objects.ts';
import { objectId } from '../../inventory/inventory.ts';
import { jobComplete } from '../../kstatus/status.ts';
import { errorMessage } from '../../errors.ts';
import type { KustomizationPass } from './pass.ts';

/** A batch Job whose manifest sets ttlSecondsAfterFinished (any value, 0 included). */
export function isJobWithTTL(object: KubeObject): boolean {
  const group = object.apiVersion?.split('/')[0];
  const spec = object['spec'] as { ttlSecondsAfterFinished?: unknown } | undefined;
  return object.kind === 'Job' && group === 'batch' && spec?.ttlSecondsAfterFinished !== undefined;
}

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

/**
 * Whether applying `desired` should leave it alone: a Job with a TTL, absent now, whose exact manifest is recorded
 * as completed, so its TTL deleted it. The controller and `sluice diff` both decide by this.
 */
export function leaveDeleted(
  ledger: readonly CompletedJob[] | undefined,
  desired: KubeObject,
  existing: KubeObject | undefined,
): boolean {
  return existing === undefined && completedBefore(ledger, desired);
}

function completedBefore(ledger: readonly CompletedJob[] | undefined, job: KubeObject): boolean {
  if (!isJobWithTTL(job)) return false;
  const id = jobId(job);
  const digest = jobDigest(job);
  return (ledger ?? []).some((entry) => entry.id === id && entry.digest === digest);
}

/**
 * The ledger after a pass: one entry per desired Job with a TTL that ran to completion for its current manifest
 * (`ranToCompletion`, by id: seen Complete as applied from this manifest); entries of Jobs no longer built, or
 * built from another manifest now, are dropped.
 */
export function updateLedger(
  ledger: readonly CompletedJob[] | undefined,
  desired: readonly KubeObject[],
  ranToCompletion: (id: string) => boolean,
  revision: string,
  now: Date,
): CompletedJob[] {
  const next: CompletedJob[] = [];
  for (const job of desired.filter(isJobWithTTL)) {
    const id = jobId(job);
    const digest = jobDigest(job);
    const recorded = (ledger ?? []).find((entry) => entry.id === id && entry.digest === digest);
    if (recorded) next.push(recorded);
    else if (ranToCompletion(id)) next.push({ id, digest, revision, completedAt: now.toISOString() });
  }
  return next;
}

/**
 * Records the Jobs with a TTL that ran to completion from their current manifest (status.completedJobs), so
 * that once their TTL deletes them, later passes leave them deleted instead of running them again. A Job
 * counts when this pass applied it (not skipped: a skipped live Job may be another manifest's run) and it was
 * seen Complete, now or during the health check. A failure here only loses the record, never the pass.
 */
export async function recordCompletedJobs(pass: KustomizationPass): Promise<void> {
  const { changeSet, desired, revision, jobsSeenComplete } = pass.current;
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
    pass.request.log.info({ error: errorMessage(error) }, 'cannot record which Jobs completed');
  }
}
