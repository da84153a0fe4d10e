// The opt-in retry annotation: parsing, the capped exponential backoff, and the attempt budget.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../kube/client.ts';
import type { JobRun } from '../api/kustomization.ts';
import { backoffAfter, mayRetry, retryPolicyOf } from './retry.ts';

const job = (annotations: Record<string, string>): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'seed', namespace: 'apps', annotations },
});

const run = (attempt: number, result: JobRun['result'] = 'Failed'): JobRun => ({
  id: 'apps_seed_batch_Job',
  digest: 'sha256:0',
  revision: 'main@sha1:a',
  attempt,
  trigger: 'Apply',
  uid: 'u',
  result,
  startedAt: '2026-12-01T10:00:00Z',
});

describe('Job retry policy', () => {
  it('is off without the annotation, as in Flux', () => {
    assert.equal(retryPolicyOf(job({})), undefined);
    assert.equal(mayRetry(undefined, run(1)), false);
  });

  it('reads the count and the backoff, doubling per attempt up to the cap', () => {
    const policy = retryPolicyOf(
      job({
        'sluice.dev/retry': '3',
        'sluice.dev/retry-backoff': '2s',
        'sluice.dev/retry-backoff-max': '5s',
      }),
    );
    assert.deepEqual(policy, { retries: 3, backoffMs: 2000, maxBackoffMs: 5000 });
    assert.deepEqual(
      [1, 2, 3, 4].map((a) => (policy ? backoffAfter(policy, a) : 0)),
      [2000, 4000, 5000, 5000],
    );
    assert.deepEqual(retryPolicyOf(job({ 'sluice.dev/retry': '1' })), {
      retries: 1,
      backoffMs: 10_000,
      maxBackoffMs: 300_000,
    });
  });

  it('allows attempts up to 1 + retries, and only after a failure', () => {
    const policy = retryPolicyOf(job({ 'sluice.dev/retry': '3' }));
    assert.deepEqual(
      [1, 2, 3, 4].map((a) => mayRetry(policy, run(a))),
      [true, true, true, false],
    );
    assert.equal(mayRetry(policy, run(1, 'Complete')), false);
    assert.equal(mayRetry(policy, run(1, 'Cancelled')), false);
  });

  it('names the Job and the annotation when a value cannot be read', () => {
    assert.throws(() => retryPolicyOf(job({ 'sluice.dev/retry': 'three' })), {
      message:
        'annotation sluice.dev/retry of Job/apps/seed is "three": write how many times to retry, e.g. "3"',
    });
    assert.throws(
      () => retryPolicyOf(job({ 'sluice.dev/retry': '2', 'sluice.dev/retry-backoff': '10' })),
      /sluice.dev\/retry-backoff/,
    );
  });

  it("caps the count and refuses a backoff under half a second, so a tenant's Job cannot loop the controller", () => {
    assert.throws(() => retryPolicyOf(job({ 'sluice.dev/retry': '1000000' })), {
      message: 'annotation sluice.dev/retry of Job/apps/seed is "1000000": at most 20 retries are allowed',
    });
    assert.throws(() => retryPolicyOf(job({ 'sluice.dev/retry': '2', 'sluice.dev/retry-backoff': '0s' })), {
      message: 'annotation sluice.dev/retry-backoff of the same Job is "0s": the shortest backoff is 500ms',
    });
    assert.equal(retryPolicyOf(job({ 'sluice.dev/retry': '20' }))?.retries, 20);
  });
});
