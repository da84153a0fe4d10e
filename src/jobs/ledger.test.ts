// The run ledger: which Jobs it covers, the manifest digest, runs by uid with attempts per manifest, the TTL
// rule, cancelling, and its bound.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../kube/client.ts';
import type { JobRun } from '../api/kustomization.ts';
import { parseObjectId } from '../inventory/inventory.ts';
import {
  MAX_RUNS,
  MAX_RUNS_PER_JOB,
  cancelRun,
  endVanishedRuns,
  isJobWithTTL,
  jobDigest,
  jobId,
  leaveDeleted,
  ledgerOf,
  observe,
  resultOf,
  type ObservedJob,
} from './ledger.ts';

/** A Job with ttlSecondsAfterFinished `ttl`, or none when null. */
const job = (name: string, image: string, ttl: number | null = 0): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: 'apps' },
  spec: {
    ...(ttl === null ? {} : { ttlSecondsAfterFinished: ttl }),
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'migration', image }] } },
  },
});

/** A live Job as the API server returns it, in one of its states. */
const live = (uid: string, state: 'Running' | 'Complete' | 'Failed'): ObservedJob => ({
  metadata: { uid, creationTimestamp: '2026-12-01T10:00:00Z' },
  status: {
    startTime: '2026-12-01T10:00:01Z',
    ...(state === 'Complete' ? { completionTime: '2026-12-01T10:00:09Z' } : {}),
    conditions:
      state === 'Running'
        ? []
        : [
            ...(state === 'Failed' ? [{ type: 'FailureTarget', status: 'True' }] : []),
            {
              type: state,
              status: 'True',
              reason: state === 'Failed' ? 'BackoffLimitExceeded' : '',
              message: state === 'Failed' ? 'Job has reached the specified backoff limit' : '',
              lastTransitionTime: '2026-12-01T10:00:07Z',
            },
          ],
  },
});

const now = new Date('2026-12-01T10:00:30Z');
const m1 = job('db-migration', 'app:1');
const base = { id: jobId(m1), digest: jobDigest(m1), revision: 'main@sha1:aaa', now };

describe('run ledger', () => {
  it('covers batch Jobs that set ttlSecondsAfterFinished, 0 included, for the TTL rule', () => {
    assert.equal(isJobWithTTL(job('a', 'app:1', 0)), true);
    assert.equal(isJobWithTTL(job('a', 'app:1', 3600)), true);
    assert.equal(isJobWithTTL(job('a', 'app:1', null)), false);
    assert.equal(isJobWithTTL({ ...job('a', 'app:1'), apiVersion: 'example.com/v1' }), false);
    assert.equal(jobId(job('db-migration', 'app:1')), 'apps_db-migration_batch_Job');
    assert.deepEqual(parseObjectId(jobId(job('db-migration', 'app:1'))), {
      namespace: 'apps',
      name: 'db-migration',
      group: 'batch',
      kind: 'Job',
    });
  });

  it('digests the manifest whatever the key order, and any change gives another digest', () => {
    const a = job('m', 'app:1');
    const reordered: KubeObject = {
      spec: a['spec'],
      metadata: a.metadata,
      kind: 'Job',
      apiVersion: 'batch/v1',
    };
    assert.equal(jobDigest(a), jobDigest(reordered));
    assert.match(jobDigest(a), /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(jobDigest(a), jobDigest(job('m', 'app:2')));
  });

  it('reads Running, Complete and Failed from the final conditions only', () => {
    assert.equal(resultOf(live('u', 'Running')), 'Running');
    assert.equal(resultOf(live('u', 'Complete')), 'Complete');
    assert.equal(resultOf(live('u', 'Failed')), 'Failed');
    assert.equal(
      resultOf({ status: { conditions: [{ type: 'FailureTarget', status: 'True' }] } }),
      'Running',
    );
  });

  it('records a run per Job object and updates it by uid until it ends', () => {
    const running = observe(undefined, { ...base, job: live('u1', 'Running') });
    assert.deepEqual(running, [
      {
        ...{ id: base.id, digest: base.digest, revision: base.revision },
        attempt: 1,
        trigger: 'Apply',
        uid: 'u1',
        result: 'Running',
        startedAt: '2026-12-01T10:00:01Z',
      },
    ]);
    const failure = { reason: 'BackoffLimitExceeded', exitCode: 3 };
    const failed = observe(running, {
      ...base,
      revision: 'main@sha1:bbb',
      job: live('u1', 'Failed'),
      failure,
    });
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.result, 'Failed');
    assert.equal(failed[0]?.revision, 'main@sha1:aaa', 'a run keeps the revision it started for');
    assert.equal(failed[0]?.finishedAt, '2026-12-01T10:00:07Z');
    assert.deepEqual(failed[0]?.failure, failure);
    assert.deepEqual(
      observe(failed, { ...base, job: live('u1', 'Complete') }),
      failed,
      'an ended run stays ended',
    );
  });

  it('counts attempts per manifest: a new Job object is the next attempt, a new manifest starts at 1', () => {
    let runs = observe(undefined, { ...base, job: live('u1', 'Failed') });
    runs = observe(runs, { ...base, job: live('u2', 'Failed'), trigger: 'Retry' });
    runs = observe(runs, { ...base, job: live('u3', 'Complete'), trigger: 'Rerun' });
    const m2 = job('db-migration', 'app:2');
    runs = observe(runs, { ...base, digest: jobDigest(m2), job: live('u4', 'Running') });
    assert.deepEqual(
      runs.map((r) => [r.uid, r.attempt, r.trigger, r.result]),
      [
        ['u4', 1, 'Apply', 'Running'],
        ['u3', 3, 'Rerun', 'Complete'],
        ['u2', 2, 'Retry', 'Failed'],
        ['u1', 1, 'Apply', 'Failed'],
      ],
    );
  });

  it('leaves a TTL-deleted Job deleted only when it completed for the same manifest', () => {
    const done = observe(undefined, { ...base, job: live('u1', 'Complete') });
    assert.equal(leaveDeleted(done, m1, undefined), true);
    assert.equal(
      leaveDeleted(done, job('db-migration', 'app:2'), undefined),
      false,
      'a new image is a new run',
    );
    assert.equal(leaveDeleted(done, m1, m1), false, 'a live Job is applied');
    const failed = observe(undefined, { ...base, job: live('u1', 'Failed') });
    assert.equal(leaveDeleted(failed, m1, undefined), false, 'a failed run is no completion');
    assert.equal(leaveDeleted(done, job('db-migration', 'app:1', null), undefined), false, 'no TTL: drift');
  });

  it('cancels only a running run, saying why', () => {
    const runs = observe(undefined, { ...base, job: live('u1', 'Running') });
    const [cancelled] = cancelRun(runs, 'u1', 'cancelled for revision main@sha1:bbb', now);
    assert.equal(cancelled?.result, 'Cancelled');
    assert.equal(cancelled?.finishedAt, now.toISOString());
    assert.deepEqual(cancelled?.failure, {
      reason: 'Cancelled',
      message: 'cancelled for revision main@sha1:bbb',
    });
    const done = observe(undefined, { ...base, job: live('u1', 'Complete') });
    assert.deepEqual(cancelRun(done, 'u1', 'x', now), done);
  });

  it(`keeps at most ${MAX_RUNS_PER_JOB} runs per Job and ${MAX_RUNS} in all, newest first`, () => {
    let runs: JobRun[] = [];
    for (let i = 0; i < 15; i++) runs = observe(runs, { ...base, job: live(`u${i}`, 'Failed') });
    assert.equal(runs.length, MAX_RUNS_PER_JOB);
    assert.equal(runs[0]?.uid, 'u14');
    assert.equal(runs[0]?.attempt, 15);
    for (let j = 0; j < 8; j++) {
      const other = job(`job-${j}`, 'app:1');
      for (let i = 0; i < 8; i++) {
        runs = observe(runs, {
          ...base,
          id: jobId(other),
          digest: jobDigest(other),
          job: live(`${j}-${i}`, 'Complete'),
        });
      }
    }
    assert.equal(runs.length, MAX_RUNS);
    assert.equal(runs[0]?.uid, '7-7');
  });

  it('moves a Job changed in place (same uid) to its new manifest, so the TTL rule follows it', () => {
    const done = observe(undefined, { ...base, job: live('u1', 'Complete') });
    const relabelled = job('db-migration', 'app:1', 60);
    const moved = observe(done, { ...base, digest: jobDigest(relabelled), job: live('u1', 'Complete') });
    assert.equal(moved.length, 1);
    assert.equal(moved[0]?.digest, jobDigest(relabelled));
    assert.equal(leaveDeleted(moved, relabelled, undefined), true);
  });

  it('ends a running run whose Job is gone as Unknown, and leaves the live one', () => {
    let runs = observe(undefined, { ...base, job: live('u1', 'Running') });
    runs = observe(runs, { ...base, job: live('u2', 'Running') });
    const ended = endVanishedRuns(runs, base.id, 'u2', now);
    assert.deepEqual(
      ended.map((r) => [r.uid, r.result, r.failure?.reason]),
      [
        ['u2', 'Running', undefined],
        ['u1', 'Unknown', 'Deleted'],
      ],
    );
    assert.equal(endVanishedRuns(runs, base.id, undefined, now)[0]?.result, 'Unknown');
  });

  it('never drops the newest Complete run of a manifest to stay within its bound', () => {
    let runs = observe(undefined, { ...base, job: live('done', 'Complete') });
    for (let i = 0; i < 30; i++)
      runs = observe(runs, { ...base, job: live(`f${i}`, 'Failed'), trigger: 'Rerun' });
    assert.ok(runs.some((r) => r.uid === 'done'));
    assert.equal(leaveDeleted(runs, m1, undefined), true);
    assert.ok(runs.filter((r) => r.id === base.id).length <= MAX_RUNS_PER_JOB + 1);
  });

  it("reads an older sluice's status.completedJobs as Complete runs", () => {
    const legacy = {
      id: base.id,
      digest: base.digest,
      revision: 'main@sha1:old',
      completedAt: '2026-11-30T10:00:00Z',
    };
    const runs = ledgerOf({ completedJobs: [legacy] });
    assert.deepEqual(
      runs.map((r) => [r.id, r.result, r.revision, r.finishedAt]),
      [[base.id, 'Complete', 'main@sha1:old', '2026-11-30T10:00:00Z']],
    );
    assert.equal(leaveDeleted(runs, m1, undefined), true);
    const both = ledgerOf({
      jobRuns: observe(undefined, { ...base, job: live('u1', 'Complete') }),
      completedJobs: [legacy],
    });
    assert.equal(both.length, 1, 'not counted twice');
  });
});
