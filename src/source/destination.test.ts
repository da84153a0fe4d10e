import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '../../dev/fixtures.ts';
import { writableInside } from './destination.ts';

const scratch = await scratchDir('destination');
after(() => scratch.remove());

describe('writableInside', () => {
  it('joins a path inside the root, existing or not', async () => {
    const root = await scratch.tree({ 'apps/cm.yaml': 'x' });
    assert.equal(await writableInside(root, 'apps/vendor', 'toPath'), join(root, 'apps/vendor'));
    assert.equal(await writableInside(root, '/new/dir', 'toPath'), join(root, 'new/dir'));
  });

  it('refuses the root and paths that climb out', async () => {
    const root = await scratch.tree({});
    for (const relative of ['', '.', '/', '..', '../x', 'a/../../x']) {
      await assert.rejects(
        writableInside(root, relative, 'toPath'),
        /toPath '.*' must be a directory inside/,
      );
    }
  });

  it('refuses a symlink anywhere on the way, and the target itself being one', async () => {
    const outside = await scratch.tree({ 'keep.txt': 'still here' });
    const root = await scratch.tree({ 'real/x': 'x' });
    await symlink(outside, join(root, 'escape'));
    await symlink(join(root, 'real'), join(root, 'alias'));
    await assert.rejects(writableInside(root, 'escape/sub', 'toPath'), {
      message:
        "toPath 'escape/sub' passes through 'escape', a symlink in the repository; a copy is never written through one",
    });
    await assert.rejects(writableInside(root, 'escape', 'toPath'), /passes through 'escape'/);
    await assert.rejects(writableInside(root, 'alias/x', 'toPath'), /passes through 'alias'/);
    assert.equal(await readFile(join(outside, 'keep.txt'), 'utf8'), 'still here');
  });
});
