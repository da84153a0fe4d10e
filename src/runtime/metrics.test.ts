import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics, exponentialBuckets } from './metrics.ts';
import { WorkQueue } from './workqueue.ts';

const kustomization = (status: 'True' | 'False', extra: Record<string, unknown> = {}) => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: 'app', namespace: 'apps', ...extra },
  spec: { suspend: false },
  status: { conditions: [{ type: 'Ready', status }] },
});

const line = (text: string, series: string): string | undefined =>
  text.split('\n').find((l) => l.startsWith(`${series} `));

describe('Metrics', () => {
  it("uses Flux's bucket layout", () => {
    const buckets = exponentialBuckets(10e-9, 10, 10);
    assert.equal(buckets.length, 10);
    assert.ok(Math.abs((buckets[0] ?? 0) - 1e-8) < 1e-20);
    assert.ok(Math.abs((buckets[9] ?? 0) - 10) < 1e-9);
  });

  it('records Ready as Flux does: one series per status, exactly one of them 1, Deleted once deleted', async () => {
    const metrics = new Metrics();
    metrics.recordStatus(kustomization('True'));
    let text = await metrics.render();
    const series = (status: string) =>
      `gotk_reconcile_condition{kind="Kustomization",name="app",namespace="apps",type="Ready",status="${status}"}`;
    assert.equal(line(text, series('True')), `${series('True')} 1`);
    for (const status of ['False', 'Unknown', 'Deleted'])
      assert.equal(line(text, series(status)), `${series(status)} 0`);
    assert.equal(
      line(text, 'gotk_suspend_status{kind="Kustomization",name="app",namespace="apps"}'),
      'gotk_suspend_status{kind="Kustomization",name="app",namespace="apps"} 0',
    );

    metrics.recordStatus(kustomization('True', { deletionTimestamp: '2026-01-01T00:00:00Z' }));
    text = await metrics.render();
    assert.equal(line(text, series('Deleted')), `${series('Deleted')} 1`);
    assert.equal(line(text, series('True')), `${series('True')} 0`);
  });

  it('records reconcile durations and results under Flux and controller-runtime names', async () => {
    const metrics = new Metrics();
    const ref = { kind: 'Kustomization', namespace: 'apps', name: 'app' };
    metrics.recordReconcile('kustomization', ref, 0.25, 'requeue_after');
    metrics.recordReconcile('kustomization', ref, 0.5, 'error');
    const text = await metrics.render();
    assert.equal(
      line(text, 'gotk_reconcile_duration_seconds_count{kind="Kustomization",name="app",namespace="apps"}'),
      'gotk_reconcile_duration_seconds_count{kind="Kustomization",name="app",namespace="apps"} 2',
    );
    assert.ok(
      line(text, 'controller_runtime_reconcile_total{controller="kustomization",result="requeue_after"}'),
    );
    assert.ok(line(text, 'controller_runtime_reconcile_total{controller="kustomization",result="error"}'));
    assert.ok(line(text, 'controller_runtime_reconcile_errors_total{controller="kustomization"}'));
  });

  it('counts a terminal error (a stalled object) as an error and as terminal', async () => {
    const metrics = new Metrics();
    const ref = { kind: 'Kustomization', namespace: 'apps', name: 'app' };
    metrics.recordReconcile('kustomization', ref, 0.1, 'success');
    metrics.recordReconcile('kustomization', ref, 0.1, 'terminal');
    const text = await metrics.render();
    const total = (result: string) =>
      `controller_runtime_reconcile_total{controller="kustomization",result="${result}"}`;
    assert.equal(line(text, total('success')), `${total('success')} 1`);
    assert.equal(line(text, total('error')), `${total('error')} 1`);
    const terminal = 'controller_runtime_terminal_reconcile_errors_total{controller="kustomization"}';
    assert.equal(line(text, terminal), `${terminal} 1`);
  });

  it("feeds a work queue into controller-runtime's workqueue metrics", async () => {
    const metrics = new Metrics();
    const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 1 }, metrics.queueObserver('kustomization'));
    queue.add('apps/a');
    queue.add('apps/b');
    const labels = '{name="kustomization",controller="kustomization"}';
    assert.equal(line(await metrics.render(), `workqueue_depth${labels}`), `workqueue_depth${labels} 2`);
    const key = await queue.get();
    assert.equal(key, 'apps/a');
    queue.addRateLimited('apps/a');
    queue.done('apps/a');
    queue.shutDown();
    const text = await metrics.render();
    assert.equal(line(text, `workqueue_adds_total${labels}`), `workqueue_adds_total${labels} 2`);
    assert.equal(line(text, `workqueue_retries_total${labels}`), `workqueue_retries_total${labels} 1`);
    assert.equal(line(text, `workqueue_depth${labels}`), `workqueue_depth${labels} 1`);
    assert.equal(
      line(text, `workqueue_queue_duration_seconds_count${labels}`),
      `workqueue_queue_duration_seconds_count${labels} 1`,
    );
    assert.equal(
      line(text, `workqueue_work_duration_seconds_count${labels}`),
      `workqueue_work_duration_seconds_count${labels} 1`,
    );
  });
});
