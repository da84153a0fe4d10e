// The run ledger as `sluice history` prints it: one row per run, newest first, in the words of the table's
// columns (revision, Job, attempt, started, took, result, exit code, cause).
import type { JobRun } from '../api/kustomization.ts';
import { formatDuration } from '../api/duration.ts';
import { failureCause } from './failure.ts';
import { parseObjectId } from '../inventory/inventory.ts';

export const historyHeader = [
  'revision',
  'job',
  'attempt',
  'started',
  'took',
  'result',
  'exit code',
  'cause',
];

/** How long a run took, or has been running for (`running 12s`). */
export function tookOf(run: JobRun, now: Date): string {
  const started = Date.parse(run.startedAt);
  if (!run.finishedAt) return `${formatDuration(Math.max(0, now.getTime() - started))} so far`;
  return formatDuration(Math.max(0, Date.parse(run.finishedAt) - started));
}

/** The cause column: why a run failed or was cancelled, and when a retry is due. */
function causeOf(run: JobRun, now: Date): string {
  const cause = run.failure ? failureCause(run.failure) : '-';
  if (!run.retryAt) return cause;
  const due = Date.parse(run.retryAt) - now.getTime();
  return `${cause} (runs again ${due > 0 ? `in ${formatDuration(due)}` : 'at the next reconcile'})`;
}

export function historyRow(run: JobRun, now: Date): string[] {
  const { namespace, name } = parseObjectId(run.id);
  return [
    run.revision,
    `Job/${namespace}/${name}`,
    run.trigger === 'Apply' ? String(run.attempt) : `${run.attempt} (${run.trigger.toLowerCase()})`,
    run.startedAt,
    tookOf(run, now),
    run.result,
    run.failure?.exitCode?.toString() ?? '-',
    causeOf(run, now),
  ];
}
