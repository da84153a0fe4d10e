// The rows `sluice history` prints for runs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRun } from '../api/kustomization.ts';
import { historyRow } from './history.ts';

const now = new Date('2026-12-01T10:05:00Z');
const base: JobRun = {
  id: 'apps_db-migration_batch_Job',
  digest: 'sha256:0',
  revision: 'main@sha1:abc',
  attempt: 1,
  trigger: 'Apply',
  uid: 'u',
  result: 'Complete',
  startedAt: '2026-12-01T10:00:00Z',
  finishedAt: '2026-12-01T10:00:04Z',
};

describe('history rows', () => {
  it('a completed run: no exit code, no cause', () => {
    assert.deepEqual(historyRow(base, now), [
      'main@sha1:abc',
      'Job/apps/db-migration',
      '1',
      '2026-12-01T10:00:00Z',
      '4s',
      'Complete',
      '-',
      '-',
    ]);
  });

  it('a failed rerun with its cause and its retry, and a run still going', () => {
    const failed: JobRun = {
      ...base,
      attempt: 2,
      trigger: 'Retry',
      result: 'Failed',
      retryAt: '2026-12-01T10:05:20Z',
      failure: {
        reason: 'BackoffLimitExceeded',
        pod: 'db-migration-x7k2p',
        container: 'migration',
        exitCode: 3,
      },
    };
    const row = historyRow(failed, now);
    assert.equal(row[2], '2 (retry)');
    assert.equal(row[6], '3');
    assert.equal(row[7], 'pod db-migration-x7k2p container migration exited 3 (runs again in 20s)');
    const running: JobRun = { ...base, result: 'Running' };
    delete running.finishedAt;
    assert.equal(historyRow(running, now)[4], '5m0s so far');
  });
});
