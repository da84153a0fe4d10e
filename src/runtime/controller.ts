// Runs a reconciler over a work queue with a fixed number of workers: the controller-runtime contract.
// A key is reconciled by one worker at a time; success may ask for a later requeue, an error retries with
// per-key backoff, and a TerminalError is not retried until something changes.
import { randomUUID } from 'node:crypto';
import { WorkQueue, type BackoffOptions, type QueueObserver } from './workqueue.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { Metrics, ReconcileResult } from './metrics.ts';
import { errorMessage } from '../errors.ts';

export interface Result {
  /** Reconcile again after this many milliseconds (e.g. the object's interval). */
  requeueAfterMs?: number;
}

export interface ReconcileRequest {
  namespace: string;
  name: string;
  /** Aborted when the controller stops. */
  signal: AbortSignal;
  log: Logger;
}

export type ReconcileFunc = (request: ReconcileRequest) => Promise<Result>;

/** An error that retrying cannot fix (e.g. invalid configuration): logged, not requeued. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface ControllerOptions {
  /** Kind name for logs and metrics, e.g. "Kustomization". */
  kind: string;
  /** The kind's API group, e.g. "kustomize.toolkit.fluxcd.io": logged as controller-runtime does. */
  group?: string;
  concurrency?: number;
  backoff?: BackoffOptions;
  log?: Logger;
  observer?: QueueObserver;
  /** Records each reconcile's duration and result, and the queue's workqueue_* metrics. */
  metrics?: Metrics;
}

/** ±5% (Flux's default --interval-jitter-percentage), so objects sharing an interval spread out. */
export function withJitter(ms: number, fraction = 0.05): number {
  return Math.round(ms * (1 + (Math.random() * 2 - 1) * fraction));
}

export const splitKey = (key: string): { namespace: string; name: string } => {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
};

export class Controller {
  readonly queue: WorkQueue;
  private readonly reconcile: ReconcileFunc;
  private readonly options: ControllerOptions;
  private readonly log: Logger;
  /** controller-runtime's controller name (lowercase kind), as in logs and metric labels. */
  private readonly name: string;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];

  constructor(reconcile: ReconcileFunc, options: ControllerOptions) {
    this.reconcile = reconcile;
    this.options = options;
    this.name = options.kind.toLowerCase();
    // controller-runtime's keys: `flux logs --kind` matches controllerKind.
    this.log = (options.log ?? silentLogger).child({
      controller: this.name,
      ...(options.group ? { controllerGroup: options.group } : {}),
      controllerKind: options.kind,
    });
    this.queue = new WorkQueue(
      options.backoff,
      options.observer ?? options.metrics?.queueObserver(this.name),
    );
  }

  enqueue(namespace: string | undefined, name: string): void {
    this.queue.add(`${namespace ?? ''}/${name}`);
  }

  start(): void {
    const concurrency = Math.max(1, this.options.concurrency ?? 4);
    this.workers = Array.from({ length: concurrency }, () => this.work());
  }

  /** Stops taking new keys, aborts reconciles in progress, and waits for the workers to return. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    this.abort.abort();
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const { namespace, name } = splitKey(key);
      const log = this.log.child({
        [this.options.kind]: { name, namespace },
        namespace,
        name,
        reconcileID: randomUUID(),
      });
      const started = performance.now();
      let outcome: ReconcileResult = 'error';
      try {
        const result = await this.reconcile({ namespace, name, signal: this.abort.signal, log });
        this.queue.forget(key);
        outcome = result.requeueAfterMs === undefined ? 'success' : 'requeue_after';
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        if (error instanceof TerminalError) outcome = 'terminal';
        // When stopping, an aborted reconcile is left to whoever runs next.
        if (!this.abort.signal.aborted) this.retryOrDrop(key, error, log);
      } finally {
        this.queue.done(key);
        const seconds = (performance.now() - started) / 1000;
        this.options.metrics?.recordReconcile(
          this.name,
          { kind: this.options.kind, namespace, name },
          seconds,
          outcome,
        );
      }
    }
  }

  private retryOrDrop(key: string, error: unknown, log: Logger): void {
    if (error instanceof TerminalError) {
      this.queue.forget(key);
      log.error({ error: error.message }, 'Reconciler error (terminal, not retried)');
      return;
    }
    const delay = this.queue.addRateLimited(key);
    log.error({ error: errorMessage(error), retryInMs: delay }, 'Reconciler error');
  }
}
