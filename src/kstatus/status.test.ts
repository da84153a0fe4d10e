import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../kube/client.ts';
import { computeStatus, readsPods, type StatusReader, type StatusResult } from './status.ts';

const now = new Date('2026-11-23T10:00:30Z');
const created = '2026-11-23T10:00:00Z';

interface Case {
  name: string;
  object: KubeObject | undefined;
  want: StatusResult;
}

function check(cases: Case[]): void {
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(computeStatus(c.object, { now }), c.want));
  }
}

const condition = (type: string, status: string, reason = '', message = '') => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: created,
});

function job(spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'db-migration', namespace: 'apps', generation: 1, creationTimestamp: created },
    spec: { backoffLimit: 6, completions: 1, parallelism: 1, suspend: false, ...spec },
    ...(status ? { status } : {}),
  };
}

describe('computeStatus: Job (Flux reader)', () => {
  check([
    {
      name: 'just created, no status yet',
      object: job({}),
      want: { status: 'InProgress', message: 'Job not started. active: 0/1' },
    },
    {
      name: 'picked up by the controller but not started (empty status)',
      object: job({ parallelism: 3 }, {}),
      want: { status: 'InProgress', message: 'Job not started. active: 0/3' },
    },
    {
      name: 'running, with a startTime',
      object: job({}, { startTime: created, active: 1, ready: 0, terminating: 0 }),
      want: { status: 'InProgress', message: 'Job in progress. success:0, active: 1, failed: 0' },
    },
    {
      name: 'running after a pod failure (retries left: no fail-fast)',
      object: job({}, { startTime: created, active: 1, failed: 1 }),
      want: { status: 'InProgress', message: 'Job in progress. success:0, active: 1, failed: 1' },
    },
    {
      name: 'complete',
      object: job(
        {},
        {
          startTime: created,
          completionTime: '2026-11-23T10:00:05Z',
          succeeded: 1,
          conditions: [
            condition(
              'SuccessCriteriaMet',
              'True',
              'CompletionsReached',
              'Reached expected number of succeeded pods',
            ),
            condition('Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'),
          ],
        },
      ),
      want: { status: 'Current', message: 'Job Completed. succeeded: 1/1' },
    },
    {
      name: 'failed with BackoffLimitExceeded',
      object: job(
        { backoffLimit: 0 },
        {
          startTime: created,
          failed: 1,
          conditions: [
            condition(
              'FailureTarget',
              'True',
              'BackoffLimitExceeded',
              'Job has reached the specified backoff limit',
            ),
            condition(
              'Failed',
              'True',
              'BackoffLimitExceeded',
              'Job has reached the specified backoff limit',
            ),
          ],
        },
      ),
      want: { status: 'Failed', message: 'Job Failed. failed: 1/1' },
    },
    {
      name: 'FailureTarget alone is still in progress',
      object: job(
        {},
        {
          startTime: created,
          failed: 1,
          conditions: [condition('FailureTarget', 'True', 'BackoffLimitExceeded', 'limit')],
        },
      ),
      want: { status: 'InProgress', message: 'Job in progress. success:0, active: 0, failed: 1' },
    },
    {
      name: 'suspended',
      object: job(
        { suspend: true },
        { conditions: [condition('Suspended', 'True', 'JobSuspended', 'Job suspended')] },
      ),
      want: { status: 'Current', message: 'Job is suspended' },
    },
    {
      name: 'completions default to parallelism',
      object: job(
        { completions: undefined, parallelism: 2 },
        { startTime: created, succeeded: 2, conditions: [condition('Complete', 'True')] },
      ),
      want: { status: 'Current', message: 'Job Completed. succeeded: 2/2' },
    },
    {
      name: 'no generic checks: a terminating, generation-behind Job is still judged by its conditions',
      object: {
        ...job({}, { startTime: created, succeeded: 1, conditions: [condition('Complete', 'True')] }),
        metadata: { name: 'db-migration', namespace: 'apps', generation: 2, deletionTimestamp: created },
      },
      want: { status: 'Current', message: 'Job Completed. succeeded: 1/1' },
    },
  ]);
});

function deployment(
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
  generation = 2,
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'apps', generation },
    spec: { replicas: 3, progressDeadlineSeconds: 600, ...spec },
    status: { observedGeneration: 2, ...status },
  };
}

const rolledOut = {
  replicas: 3,
  updatedReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
  conditions: [
    condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'),
    condition(
      'Progressing',
      'True',
      'NewReplicaSetAvailable',
      'ReplicaSet "web-5d4f" has successfully progressed.',
    ),
  ],
};
const rollingOut = [
  condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'),
  condition('Progressing', 'True', 'ReplicaSetUpdated', 'ReplicaSet "web-7c9b" is progressing.'),
];

describe('computeStatus: Deployment', () => {
  check([
    {
      name: 'observedGeneration behind',
      object: deployment({}, rolledOut, 3),
      want: {
        status: 'InProgress',
        message: 'Deployment generation is 3, but latest observed generation is 2',
      },
    },
    {
      name: 'fewer replicas than wanted',
      object: deployment({}, { replicas: 1, updatedReplicas: 1, conditions: rollingOut }),
      want: { status: 'InProgress', message: 'Replicas: 1/3' },
    },
    {
      name: 'not all updated',
      object: deployment({}, { replicas: 3, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 }),
      want: { status: 'InProgress', message: 'Updated: 1/3' },
    },
    {
      name: 'old pods still terminating',
      object: deployment({}, { replicas: 4, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }),
      want: { status: 'InProgress', message: 'Pending termination: 1' },
    },
    {
      name: 'updated pods not yet available',
      object: deployment({}, { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 2 }),
      want: { status: 'InProgress', message: 'Available: 2/3' },
    },
    {
      name: 'not all ready',
      object: deployment({}, { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 3 }),
      want: { status: 'InProgress', message: 'Ready: 2/3' },
    },
    {
      name: 'counts done but the new ReplicaSet not reported available yet',
      object: deployment({}, { ...rolledOut, conditions: rollingOut }),
      want: { status: 'InProgress', message: 'ReplicaSet not Available' },
    },
    {
      name: 'no progress deadline: Progressing is not needed',
      object: deployment(
        { progressDeadlineSeconds: undefined },
        { ...rolledOut, conditions: [condition('Available', 'True')] },
      ),
      want: { status: 'Current', message: 'Deployment is available. Replicas: 3' },
    },
    {
      name: 'Available=False',
      object: deployment(
        {},
        {
          ...rolledOut,
          conditions: [
            condition(
              'Available',
              'False',
              'MinimumReplicasUnavailable',
              'Deployment does not have minimum availability.',
            ),
            condition('Progressing', 'True', 'NewReplicaSetAvailable'),
          ],
        },
      ),
      want: { status: 'InProgress', message: 'Deployment not Available' },
    },
    {
      name: 'progress deadline exceeded (crash-looping rollout)',
      object: deployment(
        {},
        {
          replicas: 4,
          updatedReplicas: 1,
          readyReplicas: 3,
          availableReplicas: 3,
          unavailableReplicas: 1,
          conditions: [
            condition('Available', 'True', 'MinimumReplicasAvailable'),
            condition(
              'Progressing',
              'False',
              'ProgressDeadlineExceeded',
              'ReplicaSet "web-7c9b" has timed out progressing.',
            ),
          ],
        },
      ),
      want: { status: 'Failed', message: 'Progress deadline exceeded' },
    },
    {
      name: 'fully available',
      object: deployment({}, rolledOut),
      want: { status: 'Current', message: 'Deployment is available. Replicas: 3' },
    },
    {
      name: 'replicas default to 1',
      object: deployment(
        { replicas: undefined },
        { ...rolledOut, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 },
      ),
      want: { status: 'Current', message: 'Deployment is available. Replicas: 1' },
    },
    {
      name: 'being deleted',
      object: {
        ...deployment({}, rolledOut),
        metadata: { name: 'web', generation: 2, deletionTimestamp: created },
      },
      want: { status: 'Terminating', message: 'Resource scheduled for deletion' },
    },
  ]);
});

function statefulSet(spec: Record<string, unknown>, status: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'apps', generation: 1 },
    spec: {
      replicas: 3,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      ...spec,
    },
    status: { observedGeneration: 1, currentRevision: 'db-6c7', updateRevision: 'db-6c7', ...status },
  };
}

describe('computeStatus: StatefulSet', () => {
  check([
    {
      name: 'creating replicas',
      object: statefulSet({}, { replicas: 1, readyReplicas: 0, currentReplicas: 1, updatedReplicas: 1 }),
      want: { status: 'InProgress', message: 'Replicas: 1/3' },
    },
    {
      name: 'not all ready',
      object: statefulSet({}, { replicas: 3, readyReplicas: 2, currentReplicas: 3, updatedReplicas: 3 }),
      want: { status: 'InProgress', message: 'Ready: 2/3' },
    },
    {
      name: 'rolling update behind the partition',
      object: statefulSet(
        {},
        { replicas: 3, readyReplicas: 3, currentReplicas: 2, updatedReplicas: 1, updateRevision: 'db-8f1' },
      ),
      want: { status: 'InProgress', message: 'updated: 1/3' },
    },
    {
      name: 'done (the defaulted partition ends the checks)',
      object: statefulSet({}, { replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3 }),
      want: { status: 'Current', message: 'Partition rollout complete. updated: 3' },
    },
    {
      name: 'no partition: waits for the revisions to match',
      object: statefulSet(
        { updateStrategy: { type: 'RollingUpdate' } },
        { replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, updateRevision: 'db-8f1' },
      ),
      want: { status: 'InProgress', message: 'Waiting for updated revision to match current' },
    },
    {
      name: 'no partition, done',
      object: statefulSet(
        { updateStrategy: { type: 'RollingUpdate' } },
        { replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3 },
      ),
      want: { status: 'Current', message: 'All replicas scheduled as expected. Replicas: 3' },
    },
    {
      name: 'OnDelete',
      object: statefulSet({ updateStrategy: { type: 'OnDelete' } }, { replicas: 0 }),
      want: { status: 'Current', message: 'StatefulSet is using the ondelete update strategy' },
    },
  ]);
});

function daemonSet(status: Record<string, unknown> | undefined, generation?: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'apps', ...(generation === undefined ? {} : { generation }) },
    spec: { selector: { matchLabels: { app: 'agent' } } },
    ...(status ? { status } : {}),
  };
}
const daemonSetDone = {
  observedGeneration: 1,
  desiredNumberScheduled: 2,
  currentNumberScheduled: 2,
  updatedNumberScheduled: 2,
  numberAvailable: 2,
  numberReady: 2,
};

describe('computeStatus: DaemonSet', () => {
  check([
    {
      name: 'not yet observed by the controller',
      object: daemonSet(undefined, 1),
      want: { status: 'InProgress', message: 'DaemonSet status.observedGeneration not found' },
    },
    {
      name: 'without a generation',
      object: daemonSet(daemonSetDone),
      want: { status: 'InProgress', message: 'DaemonSet metadata.generation not found' },
    },
    {
      name: 'no desired count',
      object: daemonSet({ observedGeneration: 1 }, 1),
      want: { status: 'InProgress', message: 'Missing .status.desiredNumberScheduled' },
    },
    {
      name: 'partially scheduled',
      object: daemonSet({ ...daemonSetDone, currentNumberScheduled: 1 }, 1),
      want: { status: 'InProgress', message: 'Current: 1/2' },
    },
    {
      name: 'partially updated',
      object: daemonSet({ ...daemonSetDone, updatedNumberScheduled: 1 }, 1),
      want: { status: 'InProgress', message: 'Updated: 1/2' },
    },
    {
      name: 'partially available',
      object: daemonSet({ ...daemonSetDone, numberAvailable: 0 }, 1),
      want: { status: 'InProgress', message: 'Available: 0/2' },
    },
    {
      name: 'partially ready',
      object: daemonSet({ ...daemonSetDone, numberReady: 1 }, 1),
      want: { status: 'InProgress', message: 'Ready: 1/2' },
    },
    {
      name: 'done',
      object: daemonSet(daemonSetDone, 1),
      want: { status: 'Current', message: 'All replicas scheduled as expected. Replicas: 2' },
    },
  ]);
});

function replicaSet(status: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-5d4f', namespace: 'apps', generation: 1 },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } } },
    status: { observedGeneration: 1, ...status },
  };
}

describe('computeStatus: ReplicaSet', () => {
  check([
    {
      name: 'replica failure',
      object: replicaSet({ conditions: [condition('ReplicaFailure', 'True', 'FailedCreate', 'quota')] }),
      want: { status: 'InProgress', message: 'Replica Failure condition. Check Pods' },
    },
    {
      name: 'not labelled',
      object: replicaSet({ replicas: 2, fullyLabeledReplicas: 1 }),
      want: { status: 'InProgress', message: 'Labelled: 1/2' },
    },
    {
      name: 'not available',
      object: replicaSet({ replicas: 2, fullyLabeledReplicas: 2, availableReplicas: 1, readyReplicas: 2 }),
      want: { status: 'InProgress', message: 'Available: 1/2' },
    },
    {
      name: 'not ready',
      object: replicaSet({ replicas: 2, fullyLabeledReplicas: 2, availableReplicas: 2, readyReplicas: 1 }),
      want: { status: 'InProgress', message: 'Ready: 1/2' },
    },
    {
      name: 'extra pods',
      object: replicaSet({ replicas: 3, fullyLabeledReplicas: 3, availableReplicas: 2, readyReplicas: 2 }),
      want: { status: 'InProgress', message: 'Pending termination: 1' },
    },
    {
      name: 'available',
      object: replicaSet({ replicas: 2, fullyLabeledReplicas: 2, availableReplicas: 2, readyReplicas: 2 }),
      want: { status: 'Current', message: 'ReplicaSet is available. Replicas: 2' },
    },
  ]);
});

function pod(status: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-5d4f-abcde', namespace: 'apps', creationTimestamp: created, ...metadata },
    spec: { containers: [{ name: 'web', image: 'ghcr.io/org/my-app:v1.0.0' }] },
    status,
  };
}
const crashLooping = pod({
  phase: 'Running',
  conditions: [condition('PodScheduled', 'True'), condition('Ready', 'False', 'ContainersNotReady')],
  containerStatuses: [
    {
      name: 'web',
      ready: false,
      restartCount: 4,
      state: {
        waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s restarting failed container' },
      },
    },
    { name: 'sidecar', ready: true, restartCount: 0, state: { running: { startedAt: created } } },
  ],
});
const unschedulable = [condition('PodScheduled', 'False', 'Unschedulable', '0/1 nodes are available')];

describe('computeStatus: Pod', () => {
  check([
    {
      name: 'not yet seen by the scheduler',
      object: pod({}),
      want: { status: 'InProgress', message: 'Pod phase not available' },
    },
    {
      name: 'Pending',
      object: pod({ phase: 'Pending', conditions: [condition('PodScheduled', 'True')] }),
      want: { status: 'InProgress', message: 'Pod is in the Pending phase' },
    },
    {
      name: 'Pending, unschedulable for less than 15s',
      object: pod(
        { phase: 'Pending', conditions: unschedulable },
        { creationTimestamp: '2026-11-23T10:00:20Z' },
      ),
      want: { status: 'InProgress', message: 'Pod has not been scheduled' },
    },
    {
      name: 'Pending, unschedulable for 30s',
      object: pod({ phase: 'Pending', conditions: unschedulable }),
      want: { status: 'Failed', message: 'Pod could not be scheduled' },
    },
    {
      name: 'Running, not ready',
      object: pod({ phase: 'Running', conditions: [condition('Ready', 'False', 'ContainersNotReady')] }),
      want: { status: 'InProgress', message: 'Pod is running but is not Ready' },
    },
    {
      name: 'Running and ready',
      object: pod({ phase: 'Running', conditions: [condition('Ready', 'True')] }),
      want: { status: 'Current', message: 'Pod is Ready' },
    },
    {
      name: 'CrashLoopBackOff',
      object: crashLooping,
      want: { status: 'Failed', message: 'Containers in CrashLoop state: web' },
    },
    {
      name: 'Succeeded',
      object: pod({ phase: 'Succeeded' }),
      want: { status: 'Current', message: 'Pod has completed successfully' },
    },
    {
      name: 'Failed (finished: kstatus counts it as Current)',
      object: pod({ phase: 'Failed' }),
      want: { status: 'Current', message: 'Pod has completed, but not successfully' },
    },
    {
      name: 'an unknown phase cannot be judged',
      object: pod({ phase: 'Unknown' }),
      want: { status: 'Unknown', message: 'unknown phase Unknown', error: 'unknown phase Unknown' },
    },
  ]);
});

const pvc = (phase?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data', namespace: 'apps' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  ...(phase ? { status: { phase } } : {}),
});
const service = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'apps' },
  spec: { ports: [{ port: 80 }], ...spec },
});
const crd = (conditions: unknown[]): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com', generation: 1 },
  status: { conditions },
});
const namespace = (phase: string, metadata: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'apps', ...metadata },
  spec: { finalizers: ['kubernetes'] },
  status: { phase },
});

describe('computeStatus: other built-in kinds', () => {
  check([
    {
      name: 'PVC Pending',
      object: pvc('Pending'),
      want: { status: 'InProgress', message: 'PVC is not Bound. phase: Pending' },
    },
    {
      name: 'PVC without status',
      object: pvc(),
      want: { status: 'InProgress', message: 'PVC is not Bound. phase: unknown' },
    },
    { name: 'PVC Bound', object: pvc('Bound'), want: { status: 'Current', message: 'PVC is Bound' } },
    {
      name: 'Service ClusterIP',
      object: service({ clusterIP: '10.96.0.10' }),
      want: { status: 'Current', message: 'Service is ready' },
    },
    {
      name: 'Service LoadBalancer without a clusterIP',
      object: service({ type: 'LoadBalancer' }),
      want: { status: 'InProgress', message: 'ClusterIP not set. Service type: LoadBalancer' },
    },
    {
      name: 'CRD Established',
      object: crd([condition('NamesAccepted', 'True'), condition('Established', 'True')]),
      want: { status: 'Current', message: 'CRD is established' },
    },
    {
      name: 'CRD installing',
      object: crd([condition('NamesAccepted', 'True'), condition('Established', 'False', 'Installing')]),
      want: { status: 'InProgress', message: 'Install in progress' },
    },
    {
      name: 'CRD NamesAccepted=False',
      object: crd([
        condition('NamesAccepted', 'False', 'ListKindConflict', '"WidgetList" is already in use'),
        condition('Established', 'False', 'NotAccepted', 'not all names are accepted'),
      ]),
      want: { status: 'Failed', message: '"WidgetList" is already in use' },
    },
    {
      name: 'Namespace Active',
      object: namespace('Active'),
      want: { status: 'Current', message: 'Resource is current' },
    },
    {
      name: 'Namespace Terminating',
      object: namespace('Terminating', { deletionTimestamp: created }),
      want: { status: 'Terminating', message: 'Resource scheduled for deletion' },
    },
    {
      name: 'PodDisruptionBudget',
      object: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, status: {} },
      want: { status: 'Current', message: 'AllowedDisruptions has been computed.' },
    },
    {
      name: 'Secret',
      object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, data: {} },
      want: { status: 'Current', message: 'Resource is always ready' },
    },
    {
      name: 'ConfigMap',
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: {} },
      want: { status: 'Current', message: 'Resource is always ready' },
    },
    {
      name: 'CronJob',
      object: {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'nightly' },
        spec: { suspend: true },
      },
      want: { status: 'Current', message: 'Resource is always ready' },
    },
    {
      name: 'a ConfigMap being deleted',
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', deletionTimestamp: created },
      },
      want: { status: 'Terminating', message: 'Resource scheduled for deletion' },
    },
    {
      name: 'NotFound',
      object: undefined,
      want: { status: 'NotFound', message: 'Resource not found' },
    },
  ]);
});

function kustomization(conditions: unknown, observedGeneration = 1): KubeObject {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'app-deploy', namespace: 'flux-system', generation: 1 },
    spec: { interval: '10m', path: './deploy', prune: true },
    status: { observedGeneration, conditions },
  };
}

describe('computeStatus: custom resources', () => {
  check([
    {
      name: 'Ready=True',
      object: kustomization([
        condition('Ready', 'True', 'ReconciliationSucceeded', 'Applied revision: main@sha1:1a2b'),
      ]),
      want: { status: 'Current', message: 'Resource is Ready' },
    },
    {
      name: 'Ready=False is InProgress, not Failed',
      object: kustomization([
        condition('Ready', 'False', 'HealthCheckFailed', 'health check failed after 5m0s'),
      ]),
      want: { status: 'InProgress', message: 'health check failed after 5m0s' },
    },
    {
      name: 'Ready=Unknown',
      object: kustomization([condition('Ready', 'Unknown', 'Progressing', 'Reconciliation in progress')]),
      want: { status: 'InProgress', message: 'Reconciliation in progress' },
    },
    {
      name: 'Reconciling=True wins over Ready',
      object: kustomization([
        condition('Reconciling', 'True', 'Progressing', 'Running health checks'),
        condition('Ready', 'True', 'ReconciliationSucceeded', 'Applied revision: main@sha1:1a2b'),
      ]),
      want: { status: 'InProgress', message: 'Running health checks' },
    },
    {
      name: 'Stalled=True',
      object: kustomization([
        condition('Stalled', 'True', 'InvalidPath', 'path ./deploy not found'),
        condition('Ready', 'False', 'InvalidPath', 'path ./deploy not found'),
      ]),
      want: { status: 'Failed', message: 'path ./deploy not found' },
    },
    {
      name: 'observedGeneration behind',
      object: kustomization([condition('Ready', 'True')], 0),
      want: {
        status: 'InProgress',
        message: 'Kustomization generation is 1, but latest observed generation is 0',
      },
    },
    {
      name: 'no conditions',
      object: kustomization([]),
      want: { status: 'Current', message: 'Resource is current' },
    },
    {
      name: 'no status at all',
      object: {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w', generation: 4 },
        spec: {},
      },
      want: { status: 'Current', message: 'Resource is current' },
    },
    {
      name: 'conditions of the wrong shape make the status Unknown',
      object: kustomization({ Ready: 'True' }),
      want: {
        status: 'Unknown',
        message: 'cannot read status.conditions: it is not a list',
        error: 'cannot read status.conditions: it is not a list',
      },
    },
  ]);
});

describe('computeStatus: readers and pods', () => {
  const widgetReader: StatusReader = (object) =>
    object.kind === 'Widget' ? { status: 'Failed', message: 'widget broke' } : undefined;
  const widget: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };

  it('asks custom readers before kstatus, and falls through when they decline', () => {
    assert.deepEqual(computeStatus(widget, { readers: [widgetReader] }), {
      status: 'Failed',
      message: 'widget broke',
    });
    assert.deepEqual(computeStatus(pvc('Bound'), { readers: [widgetReader] }), {
      status: 'Current',
      message: 'PVC is Bound',
    });
  });

  it("keeps Flux's Job reader ahead of custom readers", () => {
    const everything: StatusReader = () => ({ status: 'Failed', message: 'custom' });
    assert.equal(computeStatus(job({}), { readers: [everything] }).message, 'Job not started. active: 0/1');
  });

  it('reports a reader that throws as Unknown with its error', () => {
    const broken: StatusReader = () => {
      throw new Error('no such key: status.phase');
    };
    assert.deepEqual(computeStatus(widget, { readers: [broken] }), {
      status: 'Unknown',
      message: 'no such key: status.phase',
      error: 'no such key: status.phase',
    });
  });

  const rollingStatefulSet = statefulSet(
    {},
    { replicas: 3, readyReplicas: 2, currentReplicas: 3, updatedReplicas: 3 },
  );

  it('fails an in-progress StatefulSet one of whose pods crash-loops', () => {
    assert.ok(readsPods(rollingStatefulSet));
    const ready = pod({ phase: 'Running', conditions: [condition('Ready', 'True')] });
    assert.deepEqual(computeStatus(rollingStatefulSet, { pods: [ready, crashLooping], now }), {
      status: 'Failed',
      message: '1 pods have failed',
    });
  });

  it('ignores pods that are unschedulable or being deleted', () => {
    const stuck = pod({ phase: 'Pending', conditions: unschedulable });
    const leaving = {
      ...crashLooping,
      metadata: { name: 'db-0', creationTimestamp: created, deletionTimestamp: created },
    };
    assert.deepEqual(computeStatus(rollingStatefulSet, { pods: [stuck, leaving], now }), {
      status: 'InProgress',
      message: 'Ready: 2/3',
    });
  });

  it('does not look at pods for a Deployment', () => {
    const object = deployment(
      {},
      { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 3 },
    );
    assert.equal(readsPods(object), false);
    assert.deepEqual(computeStatus(object, { pods: [crashLooping], now }), {
      status: 'InProgress',
      message: 'Ready: 2/3',
    });
  });
});
