// computeStatus on objects written by the real Job and Deployment controllers: a completed Job and an available
// Deployment read as Current, a Job out of retries as Failed, and a running Job never as Current.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useTestNamespace } from '../support/cluster.ts';
import { waitForObject } from '../../dev/cluster.ts';
import type { KubeClient, KubeObject } from '../../src/kube/client.ts';
import { computeStatus, type Status } from '../../src/kstatus/status.ts';

const FAIL_LABEL = 'pod-container-running-failed.stage.kwok.x-k8s.io';
const jobType = { apiVersion: 'batch/v1', kind: 'Job' };
const deploymentType = { apiVersion: 'apps/v1', kind: 'Deployment' };

function job(name: string, pod: { labels?: Record<string, string>; annotations?: Record<string, string> }) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: pod.labels ?? {}, annotations: pod.annotations ?? {} },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'ghcr.io/org/my-app:v1.0.0', command: ['sh', '-c', 'true'] }],
        },
      },
    },
  };
}

/**
 * Every status computeStatus gave the object on its way to `until`, in order, without repeats. List items come
 * without apiVersion and kind, which computeStatus needs, so they are filled in from `type`.
 */
async function statusesUntil(
  client: KubeClient,
  collection: string,
  type: { apiVersion: string; kind: string },
  name: string,
  until: Status,
): Promise<{ seen: Status[]; last: KubeObject }> {
  const seen: Status[] = [];
  const last = await waitForObject(
    client,
    collection,
    name,
    (object) => {
      const { status } = computeStatus({ ...object, ...type });
      if (seen.at(-1) !== status) seen.push(status);
      return status === until;
    },
    { description: `${name} to be ${until}` },
  );
  return { seen, last: { ...last, ...type } };
}

describe('kstatus on live objects', () => {
  const ctx = useTestNamespace('e2e-kstatus');
  const jobs = () => `/apis/batch/v1/namespaces/${ctx.namespace}/jobs`;

  it('keeps a running Job InProgress and calls it Current once Complete', async () => {
    await ctx.client.create(jobs(), job('migrate', { annotations: { 'sluice.dev/run-duration': '2s' } }));
    const { seen, last } = await statusesUntil(ctx.client, jobs(), jobType, 'migrate', 'Current');
    assert.deepEqual(seen, ['InProgress', 'Current']);
    assert.equal(computeStatus(last).message, 'Job Completed. succeeded: 1/1');
  });

  it('calls a Job out of retries Failed', async () => {
    await ctx.client.create(jobs(), job('broken', { labels: { [FAIL_LABEL]: 'true' } }));
    const { seen, last } = await statusesUntil(ctx.client, jobs(), jobType, 'broken', 'Failed');
    assert.deepEqual(seen, ['InProgress', 'Failed']);
    assert.equal(computeStatus(last).message, 'Job Failed. failed: 1/1');
  });

  it('calls a rolled-out Deployment Current', async () => {
    const deployments = `/apis/apps/v1/namespaces/${ctx.namespace}/deployments`;
    await ctx.client.create(deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'ghcr.io/org/my-app:v1.0.0' }] },
        },
      },
    });
    const { seen, last } = await statusesUntil(ctx.client, deployments, deploymentType, 'web', 'Current');
    assert.equal(seen[0], 'InProgress');
    assert.equal(computeStatus(last).message, 'Deployment is available. Replicas: 2');
  });
});
