import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aheadBuild, aheadWaitMs, buildsGoing, neededBuild } from './build-priority.ts';

/** A build that ends when the test says. */
function controlled(): { work: () => Promise<string>; finish: () => void; started: () => boolean } {
  let finish: () => void = () => undefined;
  let started = false;
  const work = () =>
    new Promise<string>((resolve) => {
      started = true;
      finish = () => resolve('built');
    });
  return { work, finish: () => finish(), started: () => started };
}

describe('build priority', () => {
  it('holds a build ahead of need back while a needed build runs, then runs it', async () => {
    const needed = controlled();
    const ahead = controlled();
    const neededDone = neededBuild(needed.work);
    const aheadDone = aheadBuild(ahead.work);
    await Promise.resolve();
    assert.deepEqual(buildsGoing(), { needed: 1, ahead: 0, waiting: 1 });
    assert.equal(ahead.started(), false);
    needed.finish();
    assert.equal(await neededDone, 'built');
    assert.equal(ahead.started(), true);
    ahead.finish();
    assert.equal(await aheadDone, 'built');
    assert.deepEqual(buildsGoing(), { needed: 0, ahead: 0, waiting: 0 });
  });

  it('runs builds ahead of need one at a time', async () => {
    const first = controlled();
    const second = controlled();
    const done = [aheadBuild(first.work), aheadBuild(second.work)];
    await Promise.resolve();
    assert.equal(first.started(), true);
    assert.equal(second.started(), false);
    first.finish();
    await done[0];
    assert.equal(second.started(), true);
    second.finish();
    await done[1];
  });

  it(`starts a build ahead of need after ${aheadWaitMs} ms at the latest`, async () => {
    const needed = controlled();
    const ahead = controlled();
    const neededDone = neededBuild(needed.work);
    const started = Date.now();
    const aheadDone = aheadBuild(ahead.work);
    while (!ahead.started() && Date.now() - started < aheadWaitMs * 3) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(ahead.started(), true);
    assert.ok(Date.now() - started >= aheadWaitMs - 50);
    ahead.finish();
    needed.finish();
    await Promise.all([neededDone, aheadDone]);
  });
});
