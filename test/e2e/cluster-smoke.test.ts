// Proves the test cluster is a real control plane: real versions, real Job and Deployment controllers,
// real admission (immutable fields), and kwok's fake nodes running pods through our stages.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useTestNamespace } from '../support/cluster.ts';
import { waitForObject, condition, kubernetesMinor } from '../../dev/cluster.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { ContentType, type KubeObject } from '../../src/kube/client.ts';

const FAIL_LABEL = 'pod-container-running-failed.stage.kwok.x-k8s.io';
const expected = kubernetesMinor();

function job(
  name: string,
  pod: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
) {
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

const isTrue = (type: string) => (o: KubeObject) => condition(o, type)?.status === 'True';

describe('local control plane', () => {
  const ctx = useTestNamespace('e2e-smoke');
  const jobs = () => `/apis/batch/v1/namespaces/${ctx.namespace}/jobs`;

  it(`serves Kubernetes v${expected}.x, the minor SLUICE_KUBERNETES picks`, async () => {
    const version = await ctx.client.get<{ gitVersion: string; major: string; minor: string }>('/version');
    console.log(`kube-apiserver version: ${version.gitVersion}`);
    assert.ok(version.gitVersion.startsWith(`v${expected}.`), version.gitVersion);
    assert.equal(version.minor, expected.split('.')[1]);
  });

  it('runs a Job to Complete, taking the run time its pod annotation asks for', async () => {
    await ctx.client.create(jobs(), job('ok', { annotations: { 'sluice.dev/run-duration': '2s' } }));
    const done = await waitForObject(ctx.client, jobs(), 'ok', isTrue('Complete'), {
      description: 'Job ok to complete',
    });
    const status = done['status'] as { succeeded: number; startTime: string; completionTime: string };
    assert.equal(status.succeeded, 1);
    // A lower bound only: the stage's delay really held the pod Running.
    const ranMs = Date.parse(status.completionTime) - Date.parse(status.startTime);
    assert.ok(ranMs >= 1000, `Job ran ${ranMs}ms; its pod asked for 2s`);
  });

  // kwok writes the message annotation into YAML unquoted: a message with ": " must be a quoted YAML string.
  it('fails a Job whose pod carries the failure label, with the exit code and message it asks for', async () => {
    await ctx.client.create(
      jobs(),
      job('broken', {
        labels: { [FAIL_LABEL]: 'true' },
        annotations: {
          [`${FAIL_LABEL}/exit-code`]: '3',
          [`${FAIL_LABEL}/message`]: '"ERROR: migration failed"',
        },
      }),
    );
    const failed = await waitForObject(ctx.client, jobs(), 'broken', isTrue('Failed'), {
      description: 'Job broken to fail',
    });
    assert.equal(condition(failed, 'Failed')?.reason, 'BackoffLimitExceeded');
    const pods = await ctx.client.get<{ items: KubeObject[] }>(`/api/v1/namespaces/${ctx.namespace}/pods`, {
      labelSelector: 'job-name=broken',
    });
    assert.equal(pods.items.length, 1);
    const pod = pods.items[0]?.['status'] as {
      phase: string;
      containerStatuses: { state: { terminated: { exitCode: number; message: string } } }[];
    };
    assert.equal(pod.phase, 'Failed');
    assert.equal(pod.containerStatuses[0]?.state.terminated.exitCode, 3);
    assert.equal(pod.containerStatuses[0]?.state.terminated.message, 'ERROR: migration failed');
  });

  it('rolls out a Deployment until it is Available', async () => {
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
    const ready = await waitForObject(
      ctx.client,
      deployments,
      'web',
      (d) => isTrue('Available')(d) && (d['status'] as { readyReplicas?: number }).readyReplicas === 2,
      { description: 'Deployment web to be Available with 2 ready replicas' },
    );
    assert.equal(condition(ready, 'Progressing')?.reason, 'NewReplicaSetAvailable');
  });

  it("rejects a change to a Job's pod template with 422 field is immutable", async () => {
    await ctx.client.create(jobs(), job('frozen'));
    const bump = {
      spec: { template: { spec: { containers: [{ name: 'main', image: 'ghcr.io/org/my-app:v1.0.1' }] } } },
    };
    const error = await ctx.client.patch(`${jobs()}/frozen`, bump, ContentType.mergePatch).then(
      () => assert.fail('the API server accepted a change to an immutable field'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof KubeApiError, String(error));
    assert.equal(error.code, 422);
    assert.equal(error.reason, 'Invalid');
    assert.match(error.message, /field is immutable/);
    assert.ok(
      error.causes.some((c) => c.field === 'spec.template'),
      JSON.stringify(error.causes),
    );
  });
});
