import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { outcomeOf, rfc3339Nano } from './reconcile.ts';

const condition = (type: string, status: 'True' | 'False' | 'Unknown', message = '', reason = 'Any') => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

describe('outcomeOf', () => {
  const requestedAt = '2026-01-01T00:00:00.123456Z';
  const metadata = { name: 'app', namespace: 'apps' };

  it('waits, showing the Reconciling message, until a pass has handled this request', () => {
    const ks = {
      metadata,
      status: {
        lastHandledReconcileAt: 'earlier',
        conditions: [condition('Reconciling', 'True', 'Building manifests'), condition('Ready', 'True')],
      },
    };
    assert.deepEqual(outcomeOf(ks, requestedAt), { state: 'pending', progress: 'Building manifests' });
  });

  it('succeeds when the pass that handled it ended Ready', () => {
    const ks = {
      metadata,
      status: { lastHandledReconcileAt: requestedAt, conditions: [condition('Ready', 'True')] },
    };
    assert.deepEqual(outcomeOf(ks, requestedAt), { state: 'succeeded', object: ks });
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
    assert.deepEqual(outcomeOf(ks, requestedAt), { state: 'failed', message });
  });

  it('keeps waiting, showing why, while a dependency or the source is not ready yet', () => {
    for (const [message, reason] of [
      ["dependency 'ns/db' is not ready", 'DependencyNotReady'],
      ['Source artifact not found, retrying in 30s', 'ArtifactFailed'],
    ] as const) {
      const ks = {
        metadata,
        status: {
          lastHandledReconcileAt: requestedAt,
          conditions: [condition('Ready', 'False', message, reason)],
        },
      };
      assert.deepEqual(outcomeOf(ks, requestedAt), { state: 'pending', progress: message });
    }
  });

  it('reports a deleted object', () => {
    assert.deepEqual(outcomeOf(undefined, requestedAt), { state: 'deleted' });
  });
});

describe('rfc3339Nano', () => {
  it("formats as Go's RFC3339Nano in UTC, trailing zeros of the fraction dropped", () => {
    const second = BigInt(Date.UTC(2026, 4, 1, 10, 20, 30)) * 1_000_000n;
    assert.equal(rfc3339Nano(second + 123_456_000n), '2026-05-01T10:20:30.123456Z');
    assert.equal(rfc3339Nano(second + 1n), '2026-05-01T10:20:30.000000001Z');
    assert.equal(rfc3339Nano(second), '2026-05-01T10:20:30Z');
  });
});
