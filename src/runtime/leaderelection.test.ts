import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mayAcquire, microTime, nextLeaseSpec, releasedLeaseSpec } from './leaderelection.ts';

describe('leader election decisions', () => {
  const held = { holderIdentity: 'other', leaseDurationSeconds: 4 };

  it('takes a lease that is free, released, or already ours at once', () => {
    assert.ok(mayAcquire(undefined, 'me', 0, 0));
    assert.ok(mayAcquire({ holderIdentity: '', leaseDurationSeconds: 1 }, 'me', 1_000, 1_000));
    assert.ok(mayAcquire({ ...held, holderIdentity: 'me' }, 'me', 1_000, 1_000));
  });

  it("waits out the holder's lease duration from when this process last saw the lease change", () => {
    assert.equal(mayAcquire(held, 'me', 10_000, 13_999), false);
    assert.ok(mayAcquire(held, 'me', 10_000, 14_000));
  });

  it('keeps acquireTime and transitions while renewing, and counts a new holder as a transition', () => {
    const t0 = new Date('2026-01-01T00:00:00.123Z');
    const t1 = new Date('2026-01-01T00:00:05Z');
    const created = nextLeaseSpec(undefined, 'me', t0, 35);
    assert.deepEqual(created, {
      holderIdentity: 'me',
      leaseDurationSeconds: 35,
      acquireTime: '2026-01-01T00:00:00.123000Z',
      renewTime: '2026-01-01T00:00:00.123000Z',
      leaseTransitions: 0,
    });
    const renewed = nextLeaseSpec(created, 'me', t1, 35);
    assert.equal(renewed.acquireTime, created.acquireTime);
    assert.equal(renewed.renewTime, '2026-01-01T00:00:05.000000Z');
    assert.equal(renewed.leaseTransitions, 0);
    const taken = nextLeaseSpec(renewed, 'standby', t1, 35);
    assert.equal(taken.acquireTime, '2026-01-01T00:00:05.000000Z');
    assert.equal(taken.leaseTransitions, 1);
  });

  it('releases with no holder and a one-second duration, keeping the transition count', () => {
    const released = releasedLeaseSpec({ ...held, leaseTransitions: 3 }, new Date(0));
    assert.deepEqual(released, {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: microTime(new Date(0)),
      renewTime: '1970-01-01T00:00:00.000000Z',
      leaseTransitions: 3,
    });
  });
});
