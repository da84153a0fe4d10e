// Automatic retry, opt-in per Job: `sluice.dev/retry: "3"` on a Job its author knows is idempotent lets a failed
// run be created again for the same manifest, at most that many times, after an exponential backoff that is
// capped; a new manifest starts a fresh count. Without the annotation nothing is retried, as in Flux.
import type { JobRun } from '../api/kustomization.ts';
import { SluiceAnnotation } from '../api/meta.ts';
import { parseDuration } from '../api/duration.ts';
import type { KubeObject } from '../kube/client.ts';

export interface RetryPolicy {
  /** How many times a failed run may be run again. */
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
}

const DEFAULT_BACKOFF_MS = 10_000;
const DEFAULT_MAX_BACKOFF_MS = 300_000;
/** The most retries a Job may ask for, and the shortest backoff: a tenant's Job cannot loop the controller. */
export const maxRetries = 20;
export const minBackoffMs = 500;

/** The Job's retry policy, or undefined without the annotation; an unreadable value is an error naming it. */
export function retryPolicyOf(job: KubeObject): RetryPolicy | undefined {
  const annotations = job.metadata?.annotations ?? {};
  const value = annotations[SluiceAnnotation.retry];
  if (value === undefined) return undefined;
  const where = `annotation ${SluiceAnnotation.retry} of Job/${job.metadata?.namespace}/${job.metadata?.name}`;
  if (!/^[0-9]+$/.test(value.trim())) {
    throw new Error(`${where} is ${JSON.stringify(value)}: write how many times to retry, e.g. "3"`);
  }
  const retries = Number(value.trim());
  if (retries > maxRetries) {
    throw new Error(`${where} is ${JSON.stringify(value)}: at most ${maxRetries} retries are allowed`);
  }
  const duration = (key: string, fallback: number) => {
    const text = annotations[key];
    if (text === undefined) return fallback;
    const ms = parseDuration(text, `annotation ${key} of the same Job`);
    if (ms < minBackoffMs) {
      throw new Error(
        `annotation ${key} of the same Job is ${JSON.stringify(text)}: the shortest backoff is 500ms`,
      );
    }
    return ms;
  };
  return {
    retries,
    backoffMs: duration(SluiceAnnotation.retryBackoff, DEFAULT_BACKOFF_MS),
    maxBackoffMs: duration(SluiceAnnotation.retryBackoffMax, DEFAULT_MAX_BACKOFF_MS),
  };
}

/** The policy, or none when the annotation cannot be read (the pass before the apply reports that error). */
export function safeRetryPolicyOf(job: KubeObject): RetryPolicy | undefined {
  try {
    return retryPolicyOf(job);
  } catch {
    return undefined;
  }
}

/** The wait after the `attempt`-th failure: the backoff, doubled per earlier retry, never above the cap. */
export const backoffAfter = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.backoffMs * 2 ** Math.max(0, attempt - 1), policy.maxBackoffMs);

/** Whether a failed run may run again: its attempt is within 1 + retries. */
export const mayRetry = (policy: RetryPolicy | undefined, run: JobRun): boolean =>
  policy !== undefined && run.result === 'Failed' && run.attempt <= policy.retries;
