// When a health-check wait ends and what it reports, as fluxcd/pkg ssa's WaitForSet decides it: stop when all
// objects are Current, at the first Failed one (FailFast), when every object is Failed or Current, or at the
// deadline; then list the objects that kept it from passing, in Flux's words.
import { formatDuration } from '../api/duration.ts';
import type { StatusResult } from './status.ts';

export interface ObjectHealth {
  /** "Kind/namespace/name", or "Kind/name" when cluster-scoped (`describeRef`). */
  id: string;
  /** The last status read, or undefined while no poll has observed the object. */
  result?: StatusResult;
  /** A Job whose desired spec sets ttlSecondsAfterFinished: NotFound means it finished and the TTL removed it. */
  jobWithTTL?: boolean;
}

export interface WaitOptions {
  /** Stop at the first Failed object; Flux's default (the DisableFailFastBehavior gate turns it off). */
  failFast?: boolean;
  /** The wait's timeout has passed: stop now and report every object that is not Current. */
  deadlineExceeded?: boolean;
}

export type WaitOutcome = { state: 'waiting' } | { state: 'healthy' } | { state: 'failed'; message: string };

/** Decides, after each poll, whether the wait goes on, passed, or failed (with Flux's error text). */
export function evaluateWait(objects: readonly ObjectHealth[], options: WaitOptions = {}): WaitOutcome {
  const { failFast = true, deadlineExceeded = false } = options;
  if (deadlineExceeded) {
    const entries = objects.flatMap((o): string[] => {
      if (o.result === undefined) return o.jobWithTTL ? [] : [`can't determine status for ${o.id}`];
      if (isFinishedTTLJob(o) || o.result.status === 'Current') return [];
      return [entry(o.id, o.result)];
    });
    return entries.length > 0
      ? { state: 'failed', message: `timeout waiting for: [${entries.join(', ')}]` }
      : { state: 'healthy' };
  }
  // An object no poll has seen yet counts as Unknown: neither done nor failed.
  const statuses = objects.map((o) => (isFinishedTTLJob(o) ? 'Current' : (o.result?.status ?? 'Unknown')));
  const anyFailed = statuses.includes('Failed');
  const terminal = statuses.every((s) => s === 'Current' || s === 'Failed');
  if (!terminal && !(failFast && anyFailed)) return { state: 'waiting' };
  const entries = objects.flatMap((o) => (o.result?.status === 'Failed' ? [entry(o.id, o.result)] : []));
  return entries.length > 0
    ? { state: 'failed', message: `failed early due to stalled resources: [${entries.join(', ')}]` }
    : { state: 'healthy' };
}

/** The Ready (and Warning event) message of a failed health check. */
export function healthCheckFailedMessage(elapsedMs: number, waitMessage: string): string {
  return `health check failed after ${formatDuration(elapsedMs)}: ${waitMessage}`;
}

/** The Healthy condition message of a passed health check. */
export function healthCheckPassedMessage(elapsedMs: number): string {
  return `Health check passed in ${formatDuration(elapsedMs)}`;
}

function isFinishedTTLJob(o: ObjectHealth): boolean {
  return o.jobWithTTL === true && o.result?.status === 'NotFound';
}

function entry(id: string, result: StatusResult): string {
  return `${id} status: '${result.status}'${result.error ? `: ${result.error}` : ''}`;
}
