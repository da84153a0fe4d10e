// Prometheus metrics under the names Flux's dashboards and alerts already query: Flux's gotk_* reconcile
// metrics, controller-runtime's workqueue_* and controller_runtime_reconcile_total, and its leader gauge.
// Each Metrics owns its registry, so several controllers (or tests) in one process do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueObserver } from './workqueue.ts';
import type { KubeObjectHeader } from '../kube/client.ts';

/** prometheus.ExponentialBuckets(start, factor, count), as Flux and controller-runtime declare theirs. */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

/**
 * How a reconcile ended: controller-runtime's result label, and `terminal` for an error that is not retried
 * (a stalled object), counted as an error and in controller_runtime_terminal_reconcile_errors_total.
 */
export type ReconcileResult = 'success' | 'error' | 'terminal' | 'requeue_after';

/** What the condition and suspend gauges read from a GitRepository or Kustomization. */
interface ObservedObject extends KubeObjectHeader {
  spec?: { suspend?: boolean };
  status?: { conditions?: { type: string; status: string }[] };
}

// Flux's RecordCondition writes every status (Deleted when the object is being deleted), so exactly one is 1.
const conditionStatuses = ['True', 'False', 'Unknown', 'Deleted'] as const;

export class Metrics {
  readonly registry = new Registry();
  private readonly reconcileDuration: Histogram<'kind' | 'name' | 'namespace'>;
  private readonly reconcileCondition: Gauge<'kind' | 'name' | 'namespace' | 'type' | 'status'>;
  private readonly suspendStatus: Gauge<'kind' | 'name' | 'namespace'>;
  private readonly reconcileTotal: Counter<'controller' | 'result'>;
  private readonly reconcileErrors: Counter<'controller'>;
  private readonly terminalErrors: Counter<'controller'>;
  private readonly queueDepth: Gauge<'name' | 'controller'>;
  private readonly queueAdds: Counter<'name' | 'controller'>;
  private readonly queueLatency: Histogram<'name' | 'controller'>;
  private readonly workDuration: Histogram<'name' | 'controller'>;
  private readonly queueRetries: Counter<'name' | 'controller'>;
  private readonly leaderStatus: Gauge<'name'>;

  constructor() {
    const registers = [this.registry];
    this.reconcileDuration = new Histogram({
      name: 'gotk_reconcile_duration_seconds',
      help: 'The duration in seconds of a GitOps Toolkit resource reconciliation.',
      labelNames: ['kind', 'name', 'namespace'],
      buckets: exponentialBuckets(10e-9, 10, 10),
      registers,
    });
    this.reconcileCondition = new Gauge({
      name: 'gotk_reconcile_condition',
      help: 'The current condition status of a GitOps Toolkit resource reconciliation.',
      labelNames: ['kind', 'name', 'namespace', 'type', 'status'],
      registers,
    });
    this.suspendStatus = new Gauge({
      name: 'gotk_suspend_status',
      help: 'The current suspend status of a GitOps Toolkit resource.',
      labelNames: ['kind', 'name', 'namespace'],
      registers,
    });
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.terminalErrors = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    const queueLabels = ['name', 'controller'] as const;
    this.queueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.queueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.queueLatency = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: queueLabels,
      buckets: exponentialBuckets(10e-9, 10, 12),
      registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: queueLabels,
      buckets: exponentialBuckets(10e-9, 10, 12),
      registers,
    });
    this.queueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
      labelNames: ['name'],
      registers,
    });
  }

  /** Node's process_* and nodejs_* metrics, the counterpart of Go's process and runtime collectors. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Feeds one controller's work queue into the workqueue_* metrics, labelled as controller-runtime does. */
  queueObserver(controller: string): QueueObserver {
    const labels = { name: controller, controller };
    this.queueDepth.set(labels, 0);
    this.queueAdds.inc(labels, 0);
    this.queueRetries.inc(labels, 0);
    return {
      added: () => this.queueAdds.inc(labels),
      started: (_key, waitedMs) => this.queueLatency.observe(labels, waitedMs / 1000),
      finished: (_key, tookMs) => this.workDuration.observe(labels, tookMs / 1000),
      retried: () => this.queueRetries.inc(labels),
      depth: (depth) => this.queueDepth.set(labels, depth),
    };
  }

  recordReconcile(
    controller: string,
    object: { kind: string; namespace: string; name: string },
    seconds: number,
    result: ReconcileResult,
  ): void {
    this.reconcileDuration.observe(
      { kind: object.kind, name: object.name, namespace: object.namespace },
      seconds,
    );
    this.reconcileTotal.inc({ controller, result: result === 'terminal' ? 'error' : result });
    if (result === 'error' || result === 'terminal') this.reconcileErrors.inc({ controller });
    if (result === 'terminal') this.terminalErrors.inc({ controller });
  }

  /** Records the object's Ready condition and suspend flag; `deleted` once it is gone from the cluster. */
  recordStatus(object: ObservedObject, deleted = false): void {
    const ref = {
      kind: object.kind ?? '',
      name: object.metadata?.name ?? '',
      namespace: object.metadata?.namespace ?? '',
    };
    const isDeleted = deleted || !!object.metadata?.['deletionTimestamp'];
    const ready = object.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
    for (const status of conditionStatuses) {
      const current = isDeleted ? status === 'Deleted' : status === ready;
      this.reconcileCondition.set({ ...ref, type: 'Ready', status }, current ? 1 : 0);
    }
    this.suspendStatus.set(ref, object.spec?.suspend ? 1 : 0);
  }

  recordLeader(lease: string, leading: boolean): void {
    this.leaderStatus.set({ name: lease }, leading ? 1 : 0);
  }

  /** The exposition text for /metrics. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
