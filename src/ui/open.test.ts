import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { scratchDir } from '../../dev/fixtures.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { openBrowser } from './open.ts';

const scratch = await scratchDir('open');
after(() => scratch.remove());

describe('openBrowser', () => {
  it('gives the opener a file only this user can read, never the token', async () => {
    // A desktop's opener that writes down the arguments it was given.
    const bin = await scratch.tree({});
    const seen = path.join(bin, 'argv');
    await writeFile(path.join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${seen}'\n`);
    await chmod(path.join(bin, 'xdg-open'), 0o755);
    const saved = { PATH: process.env.PATH, DISPLAY: process.env.DISPLAY };
    process.env.PATH = `${bin}${path.delimiter}${process.env.PATH}`;
    process.env.DISPLAY = ':99';
    try {
      const token = 'a'.repeat(48);
      const page = openBrowser(`http://127.0.0.1:8000/?token=${token}`);
      assert.ok(page);
      // The opener runs detached: its record is awaited, with a deadline.
      const deadline = Date.now() + 10_000;
      let argv = '';
      while (!argv.endsWith('\n') && Date.now() < deadline) {
        argv = await readFile(seen, 'utf8').catch(() => '');
        if (!argv.endsWith('\n')) await delay(50);
      }
      assert.equal(argv, `${page}\n`);
      assert.doesNotMatch(argv, new RegExp(token));
      assert.equal((await stat(page)).mode & 0o777, 0o600);
      assert.match(
        await readFile(page, 'utf8'),
        new RegExp(`url=http://127\\.0\\.0\\.1:8000/\\?token=${token}"`),
      );
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.DISPLAY === undefined) delete process.env.DISPLAY;
      else process.env.DISPLAY = saved.DISPLAY;
    }
  });
});
