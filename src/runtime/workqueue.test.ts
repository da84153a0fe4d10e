import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './workqueue.ts';

describe('WorkQueue', () => {
  it('queues a key once however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  it('never hands a key in progress to a second worker, and requeues it when done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a'); // a change arrives while a worker reconciles 'a'
    assert.equal(q.length, 0, 'the key must wait for the first worker');
    assert.equal(key, 'a');
    q.done('a');
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
  });

  it('hands a key straight to a waiting worker', async () => {
    const q = new WorkQueue();
    const next = q.get();
    q.add('x');
    assert.equal(await next, 'x');
  });

  it('keeps the earliest of two delayed adds', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 60_000);
    q.addAfter('a', 5);
    assert.equal(await q.get(), 'a');
    q.done('a');
    q.shutDown();
  });

  it('drops a pending delayed add once the key is handed out: the pass schedules its own next one', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const q = new WorkQueue();
      q.addAfter('a', 1_000); // e.g. "dependency not ready, look again in 1s"
      q.add('a'); // ...but the dependency became ready and said so first
      assert.equal(await q.get(), 'a');
      q.done('a');
      mock.timers.tick(5_000);
      assert.equal(q.length, 0, 'the stale 1s timer queued a redundant pass');
      q.addAfter('a', 1_000); // a timer set after the pass still fires
      mock.timers.tick(1_000);
      assert.equal(q.length, 1);
      q.shutDown();
    } finally {
      mock.timers.reset();
    }
  });

  it('doubles the retry delay per failure, up to the maximum, and forget resets it', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 350 });
    assert.deepEqual([q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k')], [100, 200, 350]);
    q.forget('k');
    assert.equal(q.addRateLimited('k'), 100);
    q.shutDown();
  });

  it('releases waiting workers on shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);
    q.add('late');
    assert.equal(await q.get(), undefined);
  });
});
