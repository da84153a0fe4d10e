// Waiting for applied objects to become healthy, driven by watches: every change of an object is seen as
// it happens (a Job completing unblocks the wait at once), instead of at Flux's next 5-second poll. The
// rules (kstatus) and the end of the wait (fail fast, all current, deadline) are Flux's.
import type { KubeObject } from '../kube/client.ts';
import { isGone } from '../kube/errors.ts';
import { resourcePath } from '../kube/discovery.ts';
import { describeRef, type ObjectClient, type ObjectRef } from '../kube/objects.ts';
import { computeStatus, jobComplete, type StatusReader } from '../kstatus/status.ts';
import { evaluateWait, type ObjectHealth } from '../kstatus/aggregate.ts';

export interface HealthTarget {
  ref: ObjectRef;
  /** A Job whose manifest sets ttlSecondsAfterFinished: once deleted it counts as done. */
  jobWithTTL?: boolean;
}

export interface WaitForHealthOptions {
  timeoutMs: number;
  /** Stop at the first Failed object (Flux's default). */
  failFast?: boolean;
  /** Custom status readers tried before the built-in rules (CEL health checks). */
  readers?: StatusReader[];
  signal: AbortSignal;
}

export type HealthOutcome = (
  { healthy: true; elapsedMs: number } | { healthy: false; elapsedMs: number; message: string }
) & {
  /** The Job targets (`describeRef`) seen with Complete=True, even if they were deleted afterwards. */
  jobsSeenComplete: Set<string>;
};

export async function waitForHealth(
  objects: ObjectClient,
  targets: HealthTarget[],
  options: WaitForHealthOptions,
): Promise<HealthOutcome> {
  const started = Date.now();
  const health: ObjectHealth[] = targets.map((t) => ({ id: describeRef(t.ref), jobWithTTL: t.jobWithTTL }));
  const jobsSeenComplete = new Set<string>();
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
      if (outcome.state === 'healthy')
        finish({ healthy: true, elapsedMs: Date.now() - started, jobsSeenComplete });
      else if (outcome.state === 'failed')
        finish({
          healthy: false,
          elapsedMs: Date.now() - started,
          message: outcome.message,
          jobsSeenComplete,
        });
    };
    const deadline = setTimeout(() => evaluate(true), options.timeoutMs);
    options.signal.addEventListener('abort', () => finish(new Error('health check cancelled')), {
      once: true,
    });

    targets.forEach((target, i) => {
      const entry = health[i] as ObjectHealth;
      const observe = (object: KubeObject | undefined) => {
        if (object) {
          // List items leave out apiVersion and kind, which the status rules need.
          object.apiVersion ??= target.ref.apiVersion;
          object.kind ??= target.ref.kind;
        }
        entry.result = computeStatus(object, { readers: options.readers });
        if (object && target.ref.kind === 'Job' && jobComplete(object)) jobsSeenComplete.add(entry.id);
        evaluate(false);
      };
      watchObject(objects, target.ref, observe, signal).catch((error: unknown) => {
        if (!signal.aborted) finish(error instanceof Error ? error : new Error(String(error)));
      });
    });
    if (targets.length === 0) evaluate(false);
  });
}

/** Calls `observe` with the object's current state (undefined: absent), then with every change, until aborted. */
async function watchObject(
  objects: ObjectClient,
  ref: ObjectRef,
  observe: (object: KubeObject | undefined) => void,
  signal: AbortSignal,
): Promise<void> {
  const mapping = await objects.mapping(ref);
  const collection = resourcePath(mapping, mapping.namespaced ? ref.namespace : undefined);
  const fieldSelector = `metadata.name=${ref.name}`;
  while (!signal.aborted) {
    const list = await objects.client.get<{ metadata: { resourceVersion: string }; items: KubeObject[] }>(
      collection,
      {
        fieldSelector,
      },
    );
    observe(list.items[0]);
    try {
      for await (const event of objects.client.watch(
        collection,
        { fieldSelector, resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 300 },
        signal,
      )) {
        if (event.type === 'BOOKMARK') continue;
        observe(event.type === 'DELETED' ? undefined : event.object);
      }
    } catch (error) {
      if (signal.aborted) return;
      if (!isGone(error)) throw error; // an expired resourceVersion: list again
    }
  }
}
