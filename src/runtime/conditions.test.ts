import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  setCondition,
  markReconciling,
  markStalled,
  getCondition,
  type WithConditions,
} from './conditions.ts';

const t0 = new Date('2026-11-23T10:00:00.750Z');
const t1 = new Date('2026-11-23T10:05:00.000Z');

describe('conditions', () => {
  it('stamps observedGeneration and a second-precision UTC transition time', () => {
    const status: WithConditions = {};
    setCondition(
      status,
      3,
      { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'Reconciliation in progress' },
      t0,
    );
    assert.deepEqual(status.conditions, [
      {
        type: 'Ready',
        status: 'Unknown',
        observedGeneration: 3,
        lastTransitionTime: '2026-11-23T10:00:00Z',
        reason: 'Progressing',
        message: 'Reconciliation in progress',
      },
    ]);
  });

  it('keeps the transition time when nothing changes, and moves it when only the message changes', () => {
    const status: WithConditions = {};
    const ready = { type: 'Ready', status: 'False', reason: 'BuildFailed', message: 'a' } as const;
    setCondition(status, 1, ready, t0);
    setCondition(status, 2, ready, t1);
    assert.equal(getCondition(status, 'Ready')?.lastTransitionTime, '2026-11-23T10:00:00Z');
    assert.equal(getCondition(status, 'Ready')?.observedGeneration, 2);
    setCondition(status, 2, { ...ready, message: 'b' }, t1);
    assert.equal(getCondition(status, 'Ready')?.lastTransitionTime, '2026-11-23T10:05:00Z');
  });

  it('orders Stalled, Reconciling, Ready first and the rest by type', () => {
    const status: WithConditions = {};
    for (const type of ['Healthy', 'Ready', 'ArtifactInStorage', 'Reconciling'] as const) {
      setCondition(status, 1, { type, status: 'True', reason: 'Succeeded', message: 'm' }, t0);
    }
    assert.deepEqual(
      status.conditions?.map((c) => c.type),
      ['Reconciling', 'Ready', 'ArtifactInStorage', 'Healthy'],
    );
  });

  it('lets Reconciling and Stalled exclude each other', () => {
    const status: WithConditions = {};
    markStalled(status, 1, 'InvalidCELExpression', 'bad');
    markReconciling(status, 1, 'Progressing', 'Fetching');
    assert.deepEqual(
      status.conditions?.map((c) => c.type),
      ['Reconciling'],
    );
    markStalled(status, 1, 'InvalidCELExpression', 'bad');
    assert.deepEqual(
      status.conditions?.map((c) => c.type),
      ['Stalled'],
    );
  });

  it('caps messages at 32768 bytes with an ellipsis', () => {
    const status: WithConditions = {};
    setCondition(
      status,
      1,
      { type: 'Ready', status: 'False', reason: 'BuildFailed', message: 'x'.repeat(40000) },
      t0,
    );
    const message = getCondition(status, 'Ready')?.message ?? '';
    assert.equal(Buffer.byteLength(message), 32768);
    assert.ok(message.endsWith('...'));
  });
});
