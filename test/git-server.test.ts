import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GitServer, git } from '../dev/git-server.ts';
import { repoRoot } from '../dev/cluster.ts';

const fixture = path.join(repoRoot, 'test/fixtures/hello');

describe('test git server (git http-backend over HTTP)', () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'sluice-git-client-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('serves a fixture repo over HTTP and shows later commits', async () => {
    const server = await GitServer.start();
    try {
      const first = await server.createRepo('app', fixture);
      const clone = path.join(scratch, 'anon');
      await git(scratch, 'clone', '--quiet', '--depth=1', server.url('app'), clone);
      assert.match(await readFile(path.join(clone, 'configmap.yaml'), 'utf8'), /greeting: hi/);
      assert.equal(await git(clone, 'rev-parse', 'HEAD'), first);

      const second = await server.commit(
        'app',
        { 'configmap.yaml': null, 'deploy/a.yaml': 'a: 1\n' },
        'next',
      );
      assert.notEqual(second, first);
      assert.equal(
        await git(scratch, 'ls-remote', server.url('app'), 'refs/heads/main'),
        `${second}\trefs/heads/main`,
      );
      await git(clone, 'pull', '--quiet', 'origin', 'main');
      assert.equal(await readFile(path.join(clone, 'deploy/a.yaml'), 'utf8'), 'a: 1\n');
    } finally {
      await server.stop();
    }
  });

  it('requires basic auth when configured, and accepts pushes from an authenticated client', async () => {
    const server = await GitServer.start({ auth: { username: 'robot', password: 's3cret' } });
    try {
      await server.createRepo('private', { 'README.md': 'private\n' });
      const url = new URL(server.url('private'));

      url.username = 'robot';
      url.password = 'wrong';
      await assert.rejects(git(scratch, 'ls-remote', url.href), /Authentication failed/);

      url.password = 's3cret';
      const clone = path.join(scratch, 'authed');
      await git(scratch, 'clone', '--quiet', url.href, clone);
      await writeFile(path.join(clone, 'pushed.txt'), 'over http\n');
      await git(clone, 'add', 'pushed.txt');
      await git(clone, 'commit', '--quiet', '-m', 'push over http');
      await git(clone, 'push', '--quiet', 'origin', 'HEAD:main');
      const head = await git(clone, 'rev-parse', 'HEAD');
      assert.equal(await git(scratch, 'ls-remote', url.href, 'refs/heads/main'), `${head}\trefs/heads/main`);
    } finally {
      await server.stop();
    }
  });
});
