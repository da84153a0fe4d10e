// Why a Job failed, in a line a user can act on: the Job's Failed reason and, when a container failed, which
// pod and container, its exit code, signal or OOMKilled, and its termination message. Read from the Job and
// its pods when the controller sees the failure, so that it outlives them in the run ledger.
import type { JobFailure } from '../api/kustomization.ts';
import type { ContainerTerminated, Pod } from '../kube/pods.ts';

/** Longest termination message or log kept per run (the kubelet itself keeps at most 4096 bytes). */
export const MAX_MESSAGE_CHARS = 1024;
export const MAX_LOG_CHARS = 4096;

/** The first container of the pod that ended with a non-zero exit code: init containers first, as they ran. */
export function failedContainer(pod: Pod): { name: string; terminated: ContainerTerminated } | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const status of statuses) {
    const terminated = status.state?.terminated ?? status.lastState?.terminated;
    if (terminated && (terminated.exitCode ?? 0) !== 0) return { name: status.name, terminated };
  }
  return undefined;
}

/**
 * The failure of a Job from its Failed condition and its pods (oldest first): the newest failed pod's failed
 * container, or the pod's own reason (Evicted, DeadlineExceeded) when no container says more. Messages are kept
 * whole: the caller takes Secret values out, then cuts them to MAX_MESSAGE_CHARS.
 */
export function describeFailure(condition: JobFailure, pods: readonly Pod[]): JobFailure {
  const failure: JobFailure = { ...condition };
  const pod =
    pods.findLast((p) => p.status?.phase === 'Failed' && failedContainer(p)) ??
    pods.findLast((p) => p.status?.phase === 'Failed');
  if (!pod) return failure;
  failure.pod = pod.metadata.name;
  const container = failedContainer(pod);
  if (!container) {
    if (pod.status?.reason) failure.terminationReason = pod.status.reason;
    if (pod.status?.message) failure.terminationMessage = pod.status.message;
    return failure;
  }
  const { exitCode, signal, reason, message } = container.terminated;
  failure.container = container.name;
  if (exitCode !== undefined) failure.exitCode = exitCode;
  // The kubelet reports a signal only for some runtimes; a shell's 128+n convention says the same.
  const bySignal =
    signal ?? (exitCode !== undefined && exitCode > 128 && exitCode < 160 ? exitCode - 128 : undefined);
  if (bySignal !== undefined && reason !== 'OOMKilled') failure.signal = bySignal;
  if (reason) failure.terminationReason = reason;
  const text = message?.trim();
  if (text) failure.terminationMessage = text;
  return failure;
}

/**
 * The failure as one line, e.g. `pod db-migration-x7k2p container migration exited 3: "relation users already
 * exists"`, `... was OOMKilled (exit code 137)`, or `DeadlineExceeded: Job was active longer than ...`.
 */
export function failureCause(failure: JobFailure): string {
  const message = failure.terminationMessage
    ? `: ${JSON.stringify(oneLine(failure.terminationMessage))}`
    : '';
  if (failure.container) {
    const where = `pod ${failure.pod} container ${failure.container}`;
    const code = failure.exitCode ?? 'unknown';
    if (failure.terminationReason === 'OOMKilled')
      return `${where} was OOMKilled (exit code ${code})${message}`;
    if (failure.signal !== undefined)
      return `${where} was killed by signal ${failure.signal} (exit code ${code})${message}`;
    return `${where} exited ${code}${message}`;
  }
  const job = `${failure.reason}${failure.message ? `: ${failure.message}` : ''}`;
  if (failure.pod && failure.terminationReason)
    return `${job} (pod ${failure.pod} ${failure.terminationReason}${message})`;
  return job;
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

/** At most `max` characters, the end kept (where a log or message says what went wrong last). */
export function truncateStart(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}

/** At most `max` characters, the start kept. */
export function truncateEnd(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const serviceAccountToken = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;

/** `text` with every occurrence of each secret value replaced, so a log or message never carries one. */
export function redact(text: string, secrets: readonly string[]): string {
  // A ServiceAccount token (a JWT) is never kept, whoever's it is: the pod's own is not readable to compare with.
  let out = text.replace(serviceAccountToken, '[redacted token]');
  // Longest first: a value that contains another is replaced whole.
  for (const value of [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(value).join('[redacted]');
  }
  return out;
}
