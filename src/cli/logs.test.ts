// The pure parts of `sluice logs ks`: which Jobs, which pods in which order, which containers, the header.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containersToPrint, inventoryJobs, logHeader } from './logs.ts';
import { jobPodSelector, podsInRunOrder, type Pod } from '../kube/pods.ts';

const pod = (name: string, creationTimestamp: string, phase = 'Succeeded'): Pod => ({
  metadata: { name, namespace: 'apps', creationTimestamp },
  spec: { initContainers: [{ name: 'wait-db' }], containers: [{ name: 'migration' }, { name: 'proxy' }] },
  status: { phase },
});

describe('sluice logs ks', () => {
  it('takes the Jobs of the inventory in inventory order and nothing else', () => {
    const jobs = inventoryJobs([
      { id: 'apps_zz-last-applied_batch_Job' },
      { id: 'apps_my-app_apps_Deployment' },
      { id: '_apps__Namespace' },
      { id: 'apps_db-migration_batch_Job' },
      { id: 'apps_nightly_batch_CronJob' },
    ]);
    assert.deepEqual(
      jobs.map((job) => job.name),
      ['zz-last-applied', 'db-migration'],
    );
  });

  it("selects a Job's pods by the Job's own selector, else by its controller-uid label", () => {
    const uid = '1b1f6f0e-0c1a-4f43-9d71-7f4f5e0e9a01';
    assert.equal(
      jobPodSelector({
        metadata: { name: 'j', namespace: 'apps', uid },
        spec: { selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } } },
      }),
      `batch.kubernetes.io/controller-uid=${uid}`,
    );
    assert.equal(
      jobPodSelector({
        metadata: { name: 'j', namespace: 'apps', uid },
        spec: { selector: { matchLabels: { app: 'migrate', tier: 'db' } } },
      }),
      'app=migrate,tier=db',
    );
    assert.equal(
      jobPodSelector({ metadata: { name: 'j', namespace: 'apps', uid } }),
      `batch.kubernetes.io/controller-uid=${uid}`,
    );
  });

  it('prints retries in the order they ran', () => {
    const ordered = podsInRunOrder([
      pod('job-c', '2026-11-30T10:00:09Z'),
      pod('job-a', '2026-11-30T10:00:01Z', 'Failed'),
      pod('job-b', '2026-11-30T10:00:01Z', 'Failed'),
    ]);
    assert.deepEqual(
      ordered.map((p) => p.metadata.name),
      ['job-a', 'job-b', 'job-c'],
    );
  });

  it('prints init containers first, or only the container asked for', () => {
    const p = pod('job-a', '2026-11-30T10:00:01Z');
    assert.deepEqual(containersToPrint(p), ['wait-db', 'migration', 'proxy']);
    assert.deepEqual(containersToPrint(p, 'proxy'), ['proxy']);
    assert.deepEqual(containersToPrint(p, 'nope'), []);
  });

  it('heads each log with its Job, pod, container and phase', () => {
    assert.equal(
      logHeader('apps/db-migration', pod('db-migration-x7k2p', '2026-11-30T10:00:01Z'), 'migration'),
      '==> Job/apps/db-migration pod/db-migration-x7k2p container/migration (Succeeded) <==',
    );
  });
});
