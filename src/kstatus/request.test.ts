import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requestOutcome, type ReconciledObject } from './request.ts';

const condition = (type: string, status: 'True' | 'False' | 'Unknown', message = '', reason = 'Any') => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

describe('requestOutcome for a reconcile request (requestedAt)', () => {
  const requestedAt = '2026-01-01T00:00:00.123456Z';
  const request = { requestedAt };
  const metadata = { name: 'app', namespace: 'apps' };

  it('waits, showing the Reconciling message, until a pass has handled this request', () => {
    const ks = {
      metadata,
      status: {
        lastHandledReconcileAt: 'earlier',
        conditions: [condition('Reconciling', 'True', 'Building manifests'), condition('Ready', 'True')],
      },
    };
    assert.deepEqual(requestOutcome(ks, request), { state: 'pending', progress: 'Building manifests' });
  });

  it('succeeds when the pass that handled it ended Ready', () => {
    const ks = {
      metadata,
      status: { lastHandledReconcileAt: requestedAt, conditions: [condition('Ready', 'True')] },
    };
    assert.deepEqual(requestOutcome(ks, request), { state: 'succeeded', object: ks });
  });

  it('fails at once with the Ready message when that pass ended in a failure, retries or not', () => {
    const message =
      "health check failed after 2s: failed early due to stalled resources: [Job/ns/db status: 'Failed']";
    const ks = {
      metadata,
      status: {
        lastHandledReconcileAt: requestedAt,
        conditions: [
          condition('Reconciling', 'True', 'retrying'),
          condition('Ready', 'False', message, 'HealthCheckFailed'),
        ],
      },
    };
    assert.deepEqual(requestOutcome(ks, request), { state: 'failed', message });
  });

  it('keeps waiting, showing why, while a dependency or the source is not ready yet, or a check was cancelled', () => {
    for (const [message, reason] of [
      ["dependency 'ns/db' is not ready", 'DependencyNotReady'],
      ['Source artifact not found, retrying in 30s', 'ArtifactFailed'],
      [
        'health check canceled for revision main@sha1:a: the source has a new revision, main@sha1:b',
        'HealthCheckCanceled',
      ],
    ] as const) {
      const ks = {
        metadata,
        status: {
          lastHandledReconcileAt: requestedAt,
          conditions: [condition('Ready', 'False', message, reason)],
        },
      };
      assert.deepEqual(requestOutcome(ks, request), { state: 'pending', progress: message });
    }
  });

  it('reports a deleted object', () => {
    assert.deepEqual(requestOutcome(undefined, request), { state: 'deleted' });
  });
});

describe('requestOutcome for a spec change (generation), as resume and create wait', () => {
  const ks = (generation: number, status: ReconciledObject['status']): ReconciledObject => ({
    metadata: { name: 'app', namespace: 'apps', generation },
    status,
  });
  const ready = (status: 'True' | 'False', observedGeneration: number, reason = 'Any', message = 'msg') => ({
    type: 'Ready',
    status,
    reason,
    message,
    observedGeneration,
  });
  const request = { generation: 3 };

  it('waits until the Ready condition is about the current generation', () => {
    assert.deepEqual(
      requestOutcome(ks(3, { observedGeneration: 1, conditions: [ready('True', 1)] }), request),
      { state: 'pending', progress: undefined },
    );
    assert.deepEqual(
      requestOutcome(ks(3, { observedGeneration: 1, conditions: [ready('False', 2)] }), request),
      { state: 'pending', progress: undefined },
    );
  });

  it('is ready when Ready=True and the object was observed at this generation', () => {
    const done = ks(3, { observedGeneration: 3, conditions: [ready('True', 3)] });
    assert.deepEqual(requestOutcome(done, request), { state: 'succeeded', object: done });
    const reconciling = { type: 'Reconciling', status: 'True' as const, observedGeneration: 3 };
    assert.deepEqual(
      requestOutcome(ks(3, { observedGeneration: 3, conditions: [ready('True', 3), reconciling] }), request),
      { state: 'pending', progress: undefined },
    );
    assert.deepEqual(
      requestOutcome(ks(3, { observedGeneration: -1, conditions: [ready('True', 3)] }), request),
      { state: 'pending', progress: undefined },
    );
  });

  it('fails at once on Ready=False or Stalled for this generation, but not on unready dependencies', () => {
    assert.deepEqual(
      requestOutcome(
        ks(3, { observedGeneration: -1, conditions: [ready('False', 3, 'BuildFailed', 'boom')] }),
        request,
      ),
      { state: 'failed', message: 'boom' },
    );
    assert.deepEqual(
      requestOutcome(
        ks(3, { conditions: [ready('False', 3, 'DependencyNotReady', 'dependency not ready')] }),
        request,
      ),
      { state: 'pending', progress: 'dependency not ready' },
    );
    const stalled = { type: 'Stalled', status: 'True' as const, message: 'cycle', observedGeneration: 3 };
    assert.deepEqual(requestOutcome(ks(3, { conditions: [stalled] }), request), {
      state: 'failed',
      message: 'cycle',
    });
    assert.deepEqual(requestOutcome(undefined, request), { state: 'deleted' });
  });
});

describe('requestOutcome for a new source revision', () => {
  const revision = 'main@sha1:2222222222222222222222222222222222222222';
  const ks = (status: ReconciledObject['status']): ReconciledObject => ({
    metadata: { name: 'app' },
    status,
  });

  it('waits until a pass attempted the revision, and succeeds once it is applied', () => {
    const earlier = 'main@sha1:1111111111111111111111111111111111111111';
    const old = ks({
      lastAttemptedRevision: earlier,
      lastAppliedRevision: earlier,
      conditions: [condition('Ready', 'True')],
    });
    assert.equal(requestOutcome(old, { revision }).state, 'pending');
    const applied = ks({
      lastAttemptedRevision: revision,
      lastAppliedRevision: revision,
      conditions: [condition('Ready', 'True')],
    });
    assert.equal(requestOutcome(applied, { revision }).state, 'succeeded');
  });

  it('fails when the pass for that revision failed', () => {
    const failed = ks({
      lastAttemptedRevision: revision,
      conditions: [condition('Ready', 'False', 'kustomize build failed', 'BuildFailed')],
    });
    assert.deepEqual(requestOutcome(failed, { revision }), {
      state: 'failed',
      message: 'kustomize build failed',
    });
  });
});
