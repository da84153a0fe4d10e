// The completed-Jobs ledger: which Jobs it covers, the manifest digest, and how a pass updates it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../kube/client.ts';
import { isJobWithTTL, jobDigest, jobId, leaveDeleted, updateLedger } from './completed-jobs.ts';

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

const now = new Date('2026-11-30T10:00:00Z');

describe('completed Jobs ledger', () => {
  it('covers batch Jobs that set ttlSecondsAfterFinished, 0 included', () => {
    assert.equal(isJobWithTTL(job('a', 'app:1', 0)), true);
    assert.equal(isJobWithTTL(job('a', 'app:1', 3600)), true);
    assert.equal(isJobWithTTL(job('a', 'app:1', null)), false);
    assert.equal(isJobWithTTL({ ...job('a', 'app:1'), apiVersion: 'example.com/v1' }), false);
    assert.equal(jobId(job('db-migration', 'app:1')), 'apps_db-migration_batch_Job');
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

  it('records the Jobs with a TTL that ran to completion, and nothing else', () => {
    const desired = [job('done', 'app:1'), job('running', 'app:1'), job('no-ttl', 'app:1', null)];
    const completed = new Set(['apps_done_batch_Job', 'apps_no-ttl_batch_Job']);
    const ledger = updateLedger(undefined, desired, (id) => completed.has(id), 'main@sha1:abc', now);
    assert.deepEqual(
      ledger.map((e) => [e.id, e.revision, e.completedAt]),
      [['apps_done_batch_Job', 'main@sha1:abc', '2026-11-30T10:00:00.000Z']],
    );
    assert.equal(leaveDeleted(ledger, job('done', 'app:1'), undefined), true);
    assert.equal(leaveDeleted(ledger, job('done', 'app:2'), undefined), false, 'a new image is a new run');
    assert.equal(leaveDeleted(ledger, job('running', 'app:1'), undefined), false);
    assert.equal(
      leaveDeleted(ledger, job('done', 'app:1'), job('done', 'app:1')),
      false,
      'a live Job is applied',
    );
  });

  it('keeps a recorded run while its manifest stays, and drops it when the manifest changes or goes', () => {
    const first = updateLedger(undefined, [job('m', 'app:1'), job('old', 'app:1')], () => true, 'rev1', now);
    const later = new Date('2026-11-30T11:00:00Z');
    const same = updateLedger(first, [job('m', 'app:1'), job('old', 'app:1')], () => false, 'rev2', later);
    assert.deepEqual(same, first, 'the first completion stays as recorded');

    const bumped = updateLedger(first, [job('m', 'app:2')], () => false, 'rev3', later);
    assert.deepEqual(bumped, [], 'the new manifest has not run yet; the removed Job is forgotten');
    const ranAgain = updateLedger(bumped, [job('m', 'app:2')], () => true, 'rev3', later);
    assert.deepEqual(ranAgain, [
      {
        id: 'apps_m_batch_Job',
        digest: jobDigest(job('m', 'app:2')),
        revision: 'rev3',
        completedAt: later.toISOString(),
      },
    ]);
  });
});
