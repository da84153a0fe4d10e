// Which Jobs `sluice rerun` asks the controller to run again: the one named, else those whose newest run failed
// (a completed migration is only run again when named). A running one is refused unless forced, since stopping
// a migration half-way is a decision, not a default.
import type { JobRun } from '../api/kustomization.ts';
import { formatDuration } from '../api/duration.ts';
import { latestRun, type ObservedJob, resultOf } from './ledger.ts';

export interface RerunCandidate {
  /** The inventory id, `<namespace>_<name>_batch_Job`. */
  id: string;
  namespace: string;
  name: string;
  /** The live Job, when there is one. */
  live?: ObservedJob;
}

export interface RerunChoice {
  job?: string;
  force: boolean;
}

const describeJob = (c: RerunCandidate) => `Job/${c.namespace}/${c.name}`;

/** The Jobs to run again, or an error saying why none can be and what to do. */
export function jobsToRerun(
  kustomization: string,
  candidates: readonly RerunCandidate[],
  runs: readonly JobRun[] | undefined,
  choice: RerunChoice,
  now: Date,
): RerunCandidate[] {
  if (candidates.length === 0)
    throw new Error(`Kustomization ${kustomization} applied no Jobs, so none can run again`);
  const result = (c: RerunCandidate) => (c.live ? resultOf(c.live) : latestRun(runs, c.id)?.result);
  let chosen: RerunCandidate[];
  if (choice.job !== undefined) {
    chosen = candidates.filter((c) => c.name === choice.job);
    if (chosen.length === 0) {
      const names = candidates.map((c) => c.name).join(', ');
      throw new Error(
        `Kustomization ${kustomization} applies no Job named ${choice.job}; its Jobs: ${names}`,
      );
    }
  } else {
    chosen = candidates.filter((c) => result(c) === 'Failed');
    if (chosen.length === 0) {
      const states = candidates.map((c) => `${c.name} (${result(c) ?? 'no run recorded'})`).join(', ');
      throw new Error(
        `Kustomization ${kustomization} has no failed Job (${states}); name one with --job to run it again`,
      );
    }
  }
  if (!choice.force) {
    for (const c of chosen) {
      if (!c.live || resultOf(c.live) !== 'Running') continue;
      const started = c.live.status?.startTime ?? c.live.metadata?.creationTimestamp;
      const since = started
        ? `, started ${formatDuration(Math.max(0, now.getTime() - Date.parse(started)))} ago`
        : '';
      throw new Error(
        `${describeJob(c)} is still running${since}: wait for it, or pass --force to stop it and run it again`,
      );
    }
  }
  return chosen;
}
