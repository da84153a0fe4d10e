// Waiting for applied objects to become healthy, driven by watches: every change of an object is seen as
// it happens (a Job completing unblocks the wait at once), instead of at Flux's next 5-second poll. The
// rules (kstatus) and the end of the wait (fail fast, all current, deadline) are Flux's.
import { describeRef, type ObjectClient, type ObjectRef } from '../kube/objects.ts';
import type { KubeObject } from '../kube/client.ts';
import { computeStatus, type StatusReader } from '../kstatus/status.ts';
import { evaluateWait, type ObjectHealth } from '../kstatus/aggregate.ts';

export interface HealthTarget {
  ref: ObjectRef;
  /** A Job whose manifest sets ttlSecondsAfterFinished: once deleted it counts as done. */
  jobWithTTL?: boolean;
  /** Its state as the apply returned it: a target already Current there needs no watch. */
  known?: KubeObject;
}

export interface WaitForHealthOptions {
  timeoutMs: number;
  /** Stop at the first Failed object (Flux's default). */
  failFast?: boolean;
  /** Custom status readers tried before the built-in rules (CEL health checks). */
  readers?: StatusReader[];
  /** Filled with the last state seen of each Job target, even when the wait ends in an error or is aborted. */
  jobsSeen?: Map<string, KubeObject>;
  signal: AbortSignal;
}

export type HealthOutcome = (
  { healthy: true; elapsedMs: number } | { healthy: false; elapsedMs: number; message: string }
) & {
  /** The last state seen of each Job target (by `describeRef`), even if it was deleted afterwards. */
  jobsSeen: Map<string, KubeObject>;
};

export async function waitForHealth(
  objects: ObjectClient,
  targets: HealthTarget[],
  options: WaitForHealthOptions,
): Promise<HealthOutcome> {
  const started = Date.now();
  const health: ObjectHealth[] = targets.map((t) => ({ id: describeRef(t.ref), jobWithTTL: t.jobWithTTL }));
  const jobsSeen = options.jobsSeen ?? new Map<string, KubeObject>();
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);

  return new Promise<HealthOutcome>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: HealthOutcome | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      stop.abort();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const evaluate = (deadlineExceeded: boolean) => {
      const outcome = evaluateWait(health, { failFast: options.failFast ?? true, deadlineExceeded });
      // A timer may fire a millisecond before the wall clock says it is due: a wait the deadline ended took
      // at least the timeout.
      const elapsedMs = Math.max(Date.now() - started, deadlineExceeded ? options.timeoutMs : 0);
      if (outcome.state === 'healthy') finish({ healthy: true, elapsedMs, jobsSeen });
      else if (outcome.state === 'failed')
        finish({
          healthy: false,
          elapsedMs,
          message: outcome.message,
          jobsSeen,
        });
    };
    const deadline = setTimeout(() => evaluate(true), options.timeoutMs);
    const cancel = () => finish(new Error('health check cancelled'));
    // Already aborted (the controller stopped just before the wait): no abort event will come.
    if (options.signal.aborted) return cancel();
    options.signal.addEventListener('abort', cancel, { once: true });

    targets.forEach((target, i) => {
      const entry = health[i] as ObjectHealth;
      if (target.known) {
        const known = computeStatus(target.known, { readers: options.readers });
        if (known.status === 'Current') {
          entry.result = known;
          if (target.ref.kind === 'Job') jobsSeen.set(entry.id, target.known);
          return;
        }
      }
      void (async () => {
        for await (const object of objects.states(target.ref, signal)) {
          entry.result = computeStatus(object, { readers: options.readers });
          if (object && target.ref.kind === 'Job') jobsSeen.set(entry.id, object);
          evaluate(false);
        }
      })().catch((error: unknown) => {
        if (!signal.aborted) finish(error instanceof Error ? error : new Error(String(error)));
      });
    });
    evaluate(false);
  });
}
