// Which Jobs `sluice rerun` picks, and what it refuses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRun } from '../api/kustomization.ts';
import type { ObservedJob } from './ledger.ts';
import { jobsToRerun, type RerunCandidate } from './rerun.ts';

const now = new Date('2026-12-01T10:01:00Z');
const liveJob = (state: 'Running' | 'Complete' | 'Failed'): ObservedJob => ({
  metadata: { uid: state, creationTimestamp: '2026-12-01T10:00:00Z' },
  status: {
    startTime: '2026-12-01T10:00:30Z',
    conditions: state === 'Running' ? [] : [{ type: state, status: 'True' }],
  },
});
const candidate = (name: string, live?: ObservedJob): RerunCandidate => ({
  id: `apps_${name}_batch_Job`,
  namespace: 'apps',
  name,
  live,
});
const failedRun = (name: string): JobRun => ({
  id: `apps_${name}_batch_Job`,
  digest: 'sha256:0',
  revision: 'main@sha1:a',
  attempt: 1,
  trigger: 'Apply',
  uid: 'gone',
  result: 'Failed',
  startedAt: '2026-12-01T09:00:00Z',
});

describe('sluice rerun picks', () => {
  const jobs = [candidate('db-migration', liveJob('Failed')), candidate('seed', liveJob('Complete'))];

  it('the failed Jobs by default, from the live Job or, once it is gone, the ledger', () => {
    assert.deepEqual(
      jobsToRerun('apps/pre', jobs, [], { force: false }, now).map((c) => c.name),
      ['db-migration'],
    );
    const gone = [candidate('db-migration'), candidate('seed', liveJob('Complete'))];
    const runs = [failedRun('db-migration')];
    assert.deepEqual(
      jobsToRerun('apps/pre', gone, runs, { force: false }, now).map((c) => c.name),
      ['db-migration'],
    );
  });

  it('a completed Job only when named, and says what to do when none failed', () => {
    assert.deepEqual(
      jobsToRerun('apps/pre', jobs, [], { job: 'seed', force: false }, now).map((c) => c.name),
      ['seed'],
    );
    assert.throws(() => jobsToRerun('apps/pre', [jobs[1] as RerunCandidate], [], { force: false }, now), {
      message:
        'Kustomization apps/pre has no failed Job (seed (Complete)); name one with --job to run it again',
    });
    assert.throws(() => jobsToRerun('apps/pre', jobs, [], { job: 'nope', force: false }, now), {
      message: 'Kustomization apps/pre applies no Job named nope; its Jobs: db-migration, seed',
    });
    assert.throws(() => jobsToRerun('apps/app', [], [], { force: false }, now), /applied no Jobs/);
  });

  it('refuses a running Job unless forced', () => {
    const running = [candidate('db-migration', liveJob('Running'))];
    assert.throws(() => jobsToRerun('apps/pre', running, [], { job: 'db-migration', force: false }, now), {
      message:
        'Job/apps/db-migration is still running, started 30s ago: wait for it, or pass --force to stop it and run it again',
    });
    assert.equal(jobsToRerun('apps/pre', running, [], { job: 'db-migration', force: true }, now).length, 1);
  });
});
