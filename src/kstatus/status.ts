// The health of one live object, by the rules Flux's health checks use: Flux's own Job reader first (a Job is
// InProgress until it completes), then caller-supplied readers, then kstatus (fluxcd/cli-utils): generic checks
// (deletion, observed generation, Reconciling/Stalled), per-kind rules for built-in kinds, and the Ready
// condition for everything else. Messages are kstatus' own, so logs read like Flux's.
import type { StatusCondition } from '../api/meta.ts';
import type { KubeObject } from '../kube/client.ts';
import { errorMessage } from '../errors.ts';

export type Status = 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'NotFound' | 'Unknown';

export interface StatusResult {
  status: Status;
  message: string;
  /** Why no status could be computed (status Unknown); Flux appends it to the object's entry in wait errors. */
  error?: string;
}

/** Computes the status of the objects it knows, and returns undefined for the others. */
export type StatusReader = (object: KubeObject) => StatusResult | undefined;

export interface ComputeStatusOptions {
  /** Tried after Flux's Job reader and before kstatus, in order, as kustomize-controller registers them. */
  readers?: readonly StatusReader[];
  /**
   * The pods a StatefulSet or ReplicaSet selects (see `readsPods`): kstatus fails such an object that is still
   * in progress when one of its pods has failed for a reason other than scheduling or deletion.
   */
  pods?: readonly KubeObject[];
  /** The clock for a Pod's 15-second scheduling grace period. */
  now?: Date;
}

/** A condition as conditionsOf reads it: reason and message are '' when absent. */
type Condition = Required<Omit<StatusCondition, 'observedGeneration'>>;

type KindRule = (object: KubeObject, conditions: readonly Condition[], now: Date) => StatusResult;

const current = (message: string): StatusResult => ({ status: 'Current', message });
const inProgress = (message: string): StatusResult => ({ status: 'InProgress', message });
const failed = (message: string): StatusResult => ({ status: 'Failed', message });

/** How long an unschedulable Pod stays InProgress before kstatus calls it Failed. */
const SCHEDULE_WINDOW_MS = 15_000;
const MAX_INT32 = 2 ** 31 - 1;

/**
 * The status of a live object, or NotFound for undefined (the GET found nothing). The rules are chosen by
 * apiVersion and kind, so the object must carry them: a GET or watch event does, a list item does not.
 */
export function computeStatus(
  object: KubeObject | undefined,
  options: ComputeStatusOptions = {},
): StatusResult {
  if (object === undefined) return { status: 'NotFound', message: 'Resource not found' };
  const now = options.now ?? new Date();
  try {
    if (groupKind(object) === 'batch/Job') return jobStatus(object);
    for (const reader of options.readers ?? []) {
      const result = reader(object);
      if (result) return result;
    }
    const result = kstatus(object, now);
    return options.pods && readsPods(object) ? withFailedPods(result, options.pods, now) : result;
  } catch (error) {
    // kstatus reports an object it cannot interpret as Unknown, with the error, instead of failing the wait.
    const reason = errorMessage(error);
    return { status: 'Unknown', message: reason, error: reason };
  }
}

/** True for the kinds whose status also depends on their pods: pass those pods as `options.pods`. */
export function readsPods(object: KubeObject): boolean {
  const key = groupKind(object);
  return key === 'apps/StatefulSet' || key === 'apps/ReplicaSet';
}

/** Flux's Job reader (fluxcd/pkg runtime/statusreaders): unlike kstatus, a running Job is not Current. */
function jobStatus(job: KubeObject): StatusResult {
  if (field(job, 'spec.suspend') === true) return current('Job is suspended');
  const parallelism = intField(job, 'spec.parallelism', 1);
  const completions = intField(job, 'spec.completions', parallelism);
  const active = intField(job, 'status.active', 0);
  const succeeded = intField(job, 'status.succeeded', 0);
  const failedPods = intField(job, 'status.failed', 0);
  for (const c of conditionsOf(job)) {
    if (c.type === 'Complete' && c.status === 'True') {
      return current(`Job Completed. succeeded: ${succeeded}/${completions}`);
    }
    if (c.type === 'Failed' && c.status === 'True') {
      return failed(`Job Failed. failed: ${failedPods}/${completions}`);
    }
  }
  if (stringField(job, 'status.startTime', '') === '') {
    return inProgress(`Job not started. active: 0/${parallelism}`);
  }
  return inProgress(`Job in progress. success:${succeeded}, active: ${active}, failed: ${failedPods}`);
}

function kstatus(object: KubeObject, now: Date): StatusResult {
  const deletionTimestamp = object.metadata?.['deletionTimestamp'];
  if (typeof deletionTimestamp === 'string' && deletionTimestamp !== '') {
    return { status: 'Terminating', message: 'Resource scheduled for deletion' };
  }
  const generation = field(object, 'metadata.generation');
  const observedGeneration = field(object, 'status.observedGeneration');
  if (
    Number.isInteger(generation) &&
    Number.isInteger(observedGeneration) &&
    generation !== observedGeneration
  ) {
    return inProgress(
      `${object.kind ?? ''} generation is ${generation}, but latest observed generation is ${observedGeneration}`,
    );
  }
  const conditions = conditionsOf(object);
  // The standard conditions, when present, decide before any kind-specific rule.
  for (const c of conditions) {
    if (c.type === 'Reconciling' && c.status === 'True') return inProgress(c.message);
    if (c.type === 'Stalled' && c.status === 'True') return failed(c.message);
  }
  const rule = kindRules[groupKind(object)];
  if (rule) return rule(object, conditions, now);
  // Ready is not a kstatus condition, but widely used; False and Unknown both read as still progressing.
  for (const c of conditions) {
    if (c.type !== 'Ready') continue;
    if (c.status === 'True') return current('Resource is Ready');
    if (c.status === 'False' || c.status === 'Unknown') return inProgress(c.message);
  }
  return current('Resource is current');
}

const alwaysReady: KindRule = () => current('Resource is always ready');

const deploymentStatus: KindRule = (deployment, conditions) => {
  // Without a progress deadline the controller never sets Progressing, so there is nothing to wait for there.
  let progressing = intField(deployment, 'spec.progressDeadlineSeconds', MAX_INT32) === MAX_INT32;
  let available = false;
  for (const c of conditions) {
    if (c.type === 'Progressing') {
      if (c.reason === 'ProgressDeadlineExceeded') return failed('Progress deadline exceeded');
      if (c.status === 'True' && c.reason === 'NewReplicaSetAvailable') progressing = true;
    } else if (c.type === 'Available' && c.status === 'True') {
      available = true;
    }
  }
  const spec = intField(deployment, 'spec.replicas', 1);
  const replicas = intField(deployment, 'status.replicas', 0);
  const updated = intField(deployment, 'status.updatedReplicas', 0);
  const ready = intField(deployment, 'status.readyReplicas', 0);
  const availableReplicas = intField(deployment, 'status.availableReplicas', 0);
  if (spec > replicas) return inProgress(`Replicas: ${replicas}/${spec}`);
  if (spec > updated) return inProgress(`Updated: ${updated}/${spec}`);
  if (replicas > spec) return inProgress(`Pending termination: ${replicas - spec}`);
  if (updated > availableReplicas) return inProgress(`Available: ${availableReplicas}/${updated}`);
  if (spec > ready) return inProgress(`Ready: ${ready}/${spec}`);
  if (!progressing) return inProgress('ReplicaSet not Available');
  if (!available) return inProgress('Deployment not Available');
  return current(`Deployment is available. Replicas: ${replicas}`);
};

const statefulSetStatus: KindRule = (statefulSet) => {
  if (stringField(statefulSet, 'spec.updateStrategy.type', '') === 'OnDelete') {
    return current('StatefulSet is using the ondelete update strategy');
  }
  const spec = intField(statefulSet, 'spec.replicas', 1);
  const ready = intField(statefulSet, 'status.readyReplicas', 0);
  const currentReplicas = intField(statefulSet, 'status.currentReplicas', 0);
  const updated = intField(statefulSet, 'status.updatedReplicas', 0);
  const replicas = intField(statefulSet, 'status.replicas', 0);
  const partition = intField(statefulSet, 'spec.updateStrategy.rollingUpdate.partition', -1);
  if (spec > replicas) return inProgress(`Replicas: ${replicas}/${spec}`);
  if (spec > ready) return inProgress(`Ready: ${ready}/${spec}`);
  if (replicas > spec) return inProgress(`Pending termination: ${replicas - spec}`);
  // The API server defaults partition to 0, so a RollingUpdate StatefulSet ends its checks here.
  if (partition !== -1) {
    if (updated < spec - partition) return inProgress(`updated: ${updated}/${spec - partition}`);
    return current(`Partition rollout complete. updated: ${updated}`);
  }
  if (spec > currentReplicas) return inProgress(`current: ${currentReplicas}/${spec}`);
  if (
    stringField(statefulSet, 'status.currentRevision', '') !==
    stringField(statefulSet, 'status.updateRevision', '')
  ) {
    return inProgress('Waiting for updated revision to match current');
  }
  return current(`All replicas scheduled as expected. Replicas: ${replicas}`);
};

const daemonSetStatus: KindRule = (daemonSet) => {
  // The controller always sets these once it has acted, so their absence means it has not yet.
  if (!Number.isInteger(field(daemonSet, 'metadata.generation'))) {
    return inProgress(`${daemonSet.kind} metadata.generation not found`);
  }
  if (!Number.isInteger(field(daemonSet, 'status.observedGeneration'))) {
    return inProgress(`${daemonSet.kind} status.observedGeneration not found`);
  }
  const desired = intField(daemonSet, 'status.desiredNumberScheduled', -1);
  const scheduled = intField(daemonSet, 'status.currentNumberScheduled', 0);
  const updated = intField(daemonSet, 'status.updatedNumberScheduled', 0);
  const available = intField(daemonSet, 'status.numberAvailable', 0);
  const ready = intField(daemonSet, 'status.numberReady', 0);
  if (desired === -1) return inProgress('Missing .status.desiredNumberScheduled');
  if (desired > scheduled) return inProgress(`Current: ${scheduled}/${desired}`);
  if (desired > updated) return inProgress(`Updated: ${updated}/${desired}`);
  if (desired > available) return inProgress(`Available: ${available}/${desired}`);
  if (desired > ready) return inProgress(`Ready: ${ready}/${desired}`);
  return current(`All replicas scheduled as expected. Replicas: ${desired}`);
};

const replicaSetStatus: KindRule = (replicaSet, conditions) => {
  if (conditions.some((c) => c.type === 'ReplicaFailure' && c.status === 'True')) {
    return inProgress('Replica Failure condition. Check Pods');
  }
  const spec = intField(replicaSet, 'spec.replicas', 1);
  const replicas = intField(replicaSet, 'status.replicas', 0);
  const ready = intField(replicaSet, 'status.readyReplicas', 0);
  const available = intField(replicaSet, 'status.availableReplicas', 0);
  const labelled = intField(replicaSet, 'status.fullyLabeledReplicas', 0);
  if (spec > labelled) return inProgress(`Labelled: ${labelled}/${spec}`);
  if (spec > available) return inProgress(`Available: ${available}/${spec}`);
  if (spec > ready) return inProgress(`Ready: ${ready}/${spec}`);
  if (replicas > spec) return inProgress(`Pending termination: ${replicas - spec}`);
  return current(`ReplicaSet is available. Replicas: ${replicas}`);
};

const podStatus: KindRule = (pod, conditions, now) => {
  const phase = stringField(pod, 'status.phase', '');
  switch (phase) {
    case 'Succeeded':
      return current('Pod has completed successfully');
    case 'Failed':
      return current('Pod has completed, but not successfully');
    case 'Running': {
      if (conditions.some((c) => c.type === 'Ready' && c.status === 'True')) return current('Pod is Ready');
      const crashLooping = crashLoopingContainers(pod);
      if (crashLooping.length > 0) return failed(`Containers in CrashLoop state: ${crashLooping.join(',')}`);
      return inProgress('Pod is running but is not Ready');
    }
    case 'Pending': {
      if (!isUnschedulable(conditions)) return inProgress('Pod is in the Pending phase');
      // A missing or unreadable creationTimestamp counts as long ago, as Go's zero time does.
      const created = Date.parse(stringField(pod, 'metadata.creationTimestamp', ''));
      if (now.getTime() - SCHEDULE_WINDOW_MS < created) return inProgress('Pod has not been scheduled');
      return failed('Pod could not be scheduled');
    }
    case '':
      return inProgress('Pod phase not available');
    default:
      throw new Error(`unknown phase ${phase}`);
  }
};

const pvcStatus: KindRule = (pvc) => {
  const phase = stringField(pvc, 'status.phase', 'unknown');
  return phase === 'Bound' ? current('PVC is Bound') : inProgress(`PVC is not Bound. phase: ${phase}`);
};

const serviceStatus: KindRule = (service) => {
  const type = stringField(service, 'spec.type', 'ClusterIP');
  if (type === 'LoadBalancer' && stringField(service, 'spec.clusterIP', '') === '') {
    return inProgress('ClusterIP not set. Service type: LoadBalancer');
  }
  return current('Service is ready');
};

const crdStatus: KindRule = (_crd, conditions) => {
  for (const c of conditions) {
    if (c.type === 'NamesAccepted' && c.status === 'False') return failed(c.message);
    if (c.type === 'Established') {
      if (c.status === 'False' && c.reason !== 'Installing') return failed(c.message);
      if (c.status === 'True') return current('CRD is established');
    }
  }
  return inProgress('Install in progress');
};

/** kstatus' built-in kinds, by "group/Kind" ("Kind" for the core group). Others use the Ready condition. */
const kindRules: Record<string, KindRule> = {
  Service: serviceStatus,
  Pod: podStatus,
  Secret: alwaysReady,
  ConfigMap: alwaysReady,
  PersistentVolumeClaim: pvcStatus,
  'apps/StatefulSet': statefulSetStatus,
  'apps/DaemonSet': daemonSetStatus,
  'extensions/DaemonSet': daemonSetStatus,
  'apps/Deployment': deploymentStatus,
  'extensions/Deployment': deploymentStatus,
  'apps/ReplicaSet': replicaSetStatus,
  'extensions/ReplicaSet': replicaSetStatus,
  'policy/PodDisruptionBudget': () => current('AllowedDisruptions has been computed.'),
  'batch/CronJob': alwaysReady,
  'apiextensions.k8s.io/CustomResourceDefinition': crdStatus,
};

function withFailedPods(result: StatusResult, pods: readonly KubeObject[], now: Date): StatusResult {
  if (result.status !== 'InProgress') return result;
  // Pods being deleted (a rolling update) or waiting for a node (an autoscaler may add one) are not failures.
  const failedPods = pods.filter(
    (pod) =>
      computeStatus(pod, { now }).status === 'Failed' &&
      !pod.metadata?.['deletionTimestamp'] &&
      !isUnschedulable(conditionsOf(pod)),
  );
  return failedPods.length > 0 ? failed(`${failedPods.length} pods have failed`) : result;
}

function isUnschedulable(conditions: readonly Condition[]): boolean {
  return conditions.some(
    (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
  );
}

function crashLoopingContainers(pod: KubeObject): string[] {
  const statuses = field(pod, 'status.containerStatuses');
  if (!Array.isArray(statuses)) return [];
  return statuses.flatMap((s: unknown) => {
    const name = field(s, 'name');
    return typeof name === 'string' && field(s, 'state.waiting.reason') === 'CrashLoopBackOff' ? [name] : [];
  });
}

/** "group/Kind" from apiVersion and kind; just "Kind" for the core group. */
function groupKind(object: KubeObject): string {
  const apiVersion = object.apiVersion ?? '';
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? (object.kind ?? '') : `${apiVersion.slice(0, slash)}/${object.kind ?? ''}`;
}

/**
 * status.conditions, read as kstatus reads them: absent means none, but a status or condition list of the
 * wrong shape is an error (the object's status is then Unknown).
 */
function conditionsOf(object: KubeObject): Condition[] {
  const status = object['status'];
  if (status === undefined || status === null) return [];
  if (!isRecord(status)) throw new Error('cannot read status: it is not an object');
  const list = status['conditions'];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new Error('cannot read status.conditions: it is not a list');
  return list.flatMap((item: unknown, index) => {
    if (item === null) return [];
    if (!isRecord(item)) throw new Error(`cannot read status.conditions[${index}]: it is not an object`);
    const text = (key: string): string => {
      const value = item[key];
      if (value === undefined || value === null) return '';
      if (typeof value !== 'string')
        throw new Error(`cannot read status.conditions[${index}].${key}: not a string`);
      return value;
    };
    return [{ type: text('type'), status: text('status'), reason: text('reason'), message: text('message') }];
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a dotted path, or undefined when any step is missing or not an object. */
function field(object: unknown, path: string): unknown {
  let value = object;
  for (const key of path.split('.')) {
    if (!isRecord(value)) return undefined;
    value = value[key];
  }
  return value;
}

function intField(object: KubeObject, path: string, fallback: number): number {
  const value = field(object, path);
  return typeof value === 'number' && Number.isInteger(value) ? value : fallback;
}

function stringField(object: KubeObject, path: string, fallback: string): string {
  const value = field(object, path);
  return typeof value === 'string' ? value : fallback;
}
