import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GitRepositoryRef } from '../api/gitrepository.ts';
import { GitServer, git } from '../../dev/git-server.ts';
import { GitError } from './errors.ts';
import { checkout, lsRemote, pickSemverTag } from './git.ts';

let scratch: string;
let counter = 0;
const freshDir = () => path.join(scratch, `checkout-${++counter}`);

/** Clones the repository over HTTP, runs `change` in the clone, and pushes all it named. */
async function pushFromClone(server: GitServer, repo: string, change: (work: string) => Promise<void>) {
  const work = path.join(scratch, `clone-${++counter}`);
  await git(scratch, 'clone', '--quiet', server.url(repo), work);
  await change(work);
}

async function expectGitError(promise: Promise<unknown>, kind: GitError['kind']): Promise<GitError> {
  const err = await promise.then(
    () => assert.fail(`expected a ${kind} GitError`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof GitError, `expected a GitError, got ${String(err)}`);
  assert.equal(err.kind, kind, err.message);
  return err;
}

before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'sluice-source-git-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('git checkout and lsRemote against a real git server', () => {
  let server: GitServer;
  let url: string;
  let first: string;
  let second: string;
  let devCommit: string;
  let annotatedTagObject: string;

  before(async () => {
    server = await GitServer.start();
    first = await server.createRepo('app', { 'README.md': 'one\n', 'deploy/app.yaml': 'replicas: 1\n' });
    second = await server.commit('app', { 'deploy/app.yaml': 'replicas: 2\n' }, 'scale to two');
    url = server.url('app');
    await pushFromClone(server, 'app', async (work) => {
      await git(work, 'tag', 'v1.0.0', first);
      await git(work, 'tag', '1.0.5', first);
      await git(work, 'tag', '-a', '-m', 'release 1.1.0', 'v1.1.0', second);
      await git(work, 'tag', 'v3', second); // not strict semver: never picked
      await git(work, 'tag', 'not-a-version', second);
      await git(work, 'checkout', '--quiet', '-b', 'dev');
      await writeFile(path.join(work, 'dev.txt'), 'dev only\n');
      await git(work, 'add', 'dev.txt');
      await git(work, 'commit', '--quiet', '-m', 'dev work');
      await git(work, 'tag', 'v2.0.0-rc.1');
      await git(work, 'push', '--quiet', 'origin', 'dev', 'HEAD:refs/pull/1/head', 'main:master', '--tags');
      devCommit = await git(work, 'rev-parse', 'HEAD');
      annotatedTagObject = await git(work, 'rev-parse', 'v1.1.0');
    });
  });
  after(async () => {
    await server.stop();
  });

  it('checks out master when there is no ref, with the full commit message', async () => {
    const dir = freshDir();
    const result = await checkout({ url, dir });
    assert.equal(result.revision, `master@sha1:${second}`);
    assert.equal(result.commit, second);
    assert.equal(result.checkoutDir, dir);
    assert.equal(result.message, 'scale to two');
    assert.equal(await readFile(path.join(dir, 'deploy/app.yaml'), 'utf8'), 'replicas: 2\n');
  });

  it('checks out an explicit branch', async () => {
    const main = await checkout({ url, ref: { branch: 'main' }, dir: freshDir() });
    assert.equal(main.revision, `main@sha1:${second}`);
    const dir = freshDir();
    const dev = await checkout({ url, ref: { branch: 'dev' }, dir });
    assert.equal(dev.revision, `dev@sha1:${devCommit}`);
    assert.equal(await readFile(path.join(dir, 'dev.txt'), 'utf8'), 'dev only\n');
  });

  it('checks out a lightweight tag and an annotated tag, naming the commit the tag points to', async () => {
    const dir = freshDir();
    const light = await checkout({ url, ref: { tag: 'v1.0.0' }, dir });
    assert.equal(light.revision, `v1.0.0@sha1:${first}`);
    assert.equal(await readFile(path.join(dir, 'deploy/app.yaml'), 'utf8'), 'replicas: 1\n');

    assert.notEqual(annotatedTagObject, second);
    const annotated = await checkout({ url, ref: { tag: 'v1.1.0' }, dir: freshDir() });
    assert.equal(annotated.revision, `v1.1.0@sha1:${second}`);
    assert.equal(annotated.commit, second);
  });

  it('picks the highest tag in a semver range (leading v optional, prereleases and loose versions skipped)', async () => {
    const range = await checkout({ url, ref: { semver: '>=1.0.0 <2.0.0' }, dir: freshDir() });
    assert.equal(range.revision, `v1.1.0@sha1:${second}`);
    const tilde = await checkout({ url, ref: { semver: '~1.0' }, dir: freshDir() });
    assert.equal(tilde.revision, `1.0.5@sha1:${first}`);
    const commas = await lsRemote(url, { semver: '>=1.0.0, <1.1.0' }, undefined);
    assert.equal(commas.revision, `1.0.5@sha1:${first}`);
    const prerelease = await lsRemote(url, { semver: '>=2.0.0-rc.0' }, undefined);
    assert.equal(prerelease.revision, `v2.0.0-rc.1@sha1:${devCommit}`);

    const none = await expectGitError(
      checkout({ url, ref: { semver: '>=2.0.0' }, dir: freshDir() }),
      'RefNotFound',
    );
    assert.equal(
      none.message,
      `failed to checkout and determine revision: no match found for semver: >=2.0.0: git repository: '${url}'`,
    );
    const bad = await expectGitError(
      lsRemote(url, { semver: 'not a range' }, undefined),
      'GitOperationFailed',
    );
    assert.match(bad.message, /semver parse error: improper constraint: not a range/);
  });

  it('checks out ref.name and keeps the full reference in the revision', async () => {
    const head = await checkout({ url, ref: { name: 'refs/heads/main' }, dir: freshDir() });
    assert.equal(head.revision, `refs/heads/main@sha1:${second}`);
    const dir = freshDir();
    const pull = await checkout({ url, ref: { name: 'refs/pull/1/head' }, dir });
    assert.equal(pull.revision, `refs/pull/1/head@sha1:${devCommit}`);
    assert.equal(await readFile(path.join(dir, 'dev.txt'), 'utf8'), 'dev only\n');
    const tag = await checkout({ url, ref: { name: 'refs/tags/v1.1.0' }, dir: freshDir() });
    assert.equal(tag.revision, `refs/tags/v1.1.0@sha1:${second}`);

    await expectGitError(lsRemote(url, { name: 'main' }, undefined), 'GitOperationFailed');
  });

  it('checks out a commit alone, and a commit on a branch older than its tip', async () => {
    const dir = freshDir();
    const alone = await checkout({ url, ref: { commit: first }, dir });
    assert.equal(alone.revision, `sha1:${first}`);
    assert.equal(await readFile(path.join(dir, 'deploy/app.yaml'), 'utf8'), 'replicas: 1\n');

    const onBranch = await checkout({ url, ref: { branch: 'main', commit: first }, dir: freshDir() });
    assert.equal(onBranch.revision, `main@sha1:${first}`);
    const atTip = await checkout({ url, ref: { branch: 'dev', commit: devCommit }, dir: freshDir() });
    assert.equal(atTip.revision, `dev@sha1:${devCommit}`);
    const upperCase = await lsRemote(url, { commit: first.toUpperCase() }, undefined);
    assert.equal(upperCase.revision, `sha1:${first}`);
  });

  it('reports a commit that is not on the branch, or not in the repository, as RefNotFound', async () => {
    const offBranch = await expectGitError(
      checkout({ url, ref: { branch: 'main', commit: devCommit }, dir: freshDir() }),
      'RefNotFound',
    );
    assert.match(offBranch.message, new RegExp(`unable to resolve commit object for '${devCommit}'`));
    // The server refuses the unknown object, so this also takes the full-fetch fallback.
    const missing = 'deadbeef'.repeat(5);
    const unknown = await expectGitError(
      checkout({ url, ref: { commit: missing }, dir: freshDir() }),
      'RefNotFound',
    );
    assert.equal(
      unknown.message,
      `failed to checkout and determine revision: unable to resolve commit object for '${missing}': ` +
        `object not found: git repository: '${url}'`,
    );
  });

  it('follows the precedence commit > name > tag > semver > branch', async () => {
    const cases: [GitRepositoryRef, string][] = [
      [{ branch: 'dev', semver: '~1.0' }, `1.0.5@sha1:${first}`],
      [{ semver: '~1.0', tag: 'v1.1.0' }, `v1.1.0@sha1:${second}`],
      [{ tag: 'v1.1.0', name: 'refs/heads/dev' }, `refs/heads/dev@sha1:${devCommit}`],
      [{ name: 'refs/heads/dev', commit: first }, `refs/heads/dev@sha1:${first}`],
      [{ branch: 'dev', tag: 'v1.0.0', commit: second }, `dev@sha1:${second}`],
    ];
    for (const [ref, revision] of cases) {
      assert.equal((await lsRemote(url, ref, undefined)).revision, revision, JSON.stringify(ref));
    }
    const checkedOut = await checkout({ url, ref: { branch: 'dev', tag: 'v1.0.0' }, dir: freshDir() });
    assert.equal(checkedOut.revision, `v1.0.0@sha1:${first}`);
  });

  it('resolves with lsRemote the same revision a checkout produces', async () => {
    const refs: (GitRepositoryRef | undefined)[] = [
      undefined,
      { branch: 'dev' },
      { tag: 'v1.0.0' },
      { tag: 'v1.1.0' },
      { semver: '>=1.0.0 <2.0.0' },
      { name: 'refs/pull/1/head' },
      { name: 'refs/tags/v1.1.0' },
      { commit: first },
    ];
    for (const ref of refs) {
      const remote = await lsRemote(url, ref, undefined);
      const local = await checkout({ url, ref, dir: freshDir() });
      assert.deepEqual(remote, { revision: local.revision, commit: local.commit }, JSON.stringify(ref));
    }
  });

  it('reports an unknown branch, tag, ref or repository as RefNotFound, naming the ref and the URL', async () => {
    const branch = await expectGitError(
      checkout({ url, ref: { branch: 'nope' }, dir: freshDir() }),
      'RefNotFound',
    );
    assert.equal(
      branch.message,
      `failed to checkout and determine revision: unable to clone: couldn't find remote ref 'refs/heads/nope': ` +
        `git repository: '${url}'`,
    );
    const listed = await expectGitError(lsRemote(url, { branch: 'nope' }, undefined), 'RefNotFound');
    assert.equal(listed.message, branch.message);
    const tag = await expectGitError(lsRemote(url, { tag: 'v9.9.9' }, undefined), 'RefNotFound');
    assert.match(tag.message, /couldn't find remote ref 'refs\/tags\/v9\.9\.9'/);
    await expectGitError(
      checkout({ url, ref: { name: 'refs/pull/9/head' }, dir: freshDir() }),
      'RefNotFound',
    );
    const repo = await expectGitError(
      checkout({ url: server.url('missing'), dir: freshDir() }),
      'RefNotFound',
    );
    assert.match(
      repo.message,
      /repository not found: git repository: 'http:\/\/127\.0\.0\.1:\d+\/missing\.git'/,
    );
  });

  it('rejects ref values that are not reference names, before running git', async () => {
    for (const ref of [
      { branch: '--upload-pack=touch /tmp/x' },
      { branch: 'main:refs/heads/other' },
      { tag: 'v1..0' },
      { commit: 'abc123' },
      { name: 'refs/heads/../x' },
    ]) {
      const err = await expectGitError(lsRemote(url, ref, undefined), 'GitOperationFailed');
      assert.match(err.message, /^failed to checkout and determine revision: invalid /);
    }
  });

  it('refuses a checkout directory that is not empty', async () => {
    const dir = freshDir();
    await checkout({ url, dir });
    await assert.rejects(checkout({ url, dir }), /is not empty/);
  });
});

describe('git transport errors', () => {
  it('rejects URLs that are not http, https or ssh as URLInvalid', async () => {
    const file = await expectGitError(lsRemote('file:///tmp/repo.git', undefined, undefined), 'URLInvalid');
    assert.match(file.message, /unsupported URL scheme 'file' in 'file:\/\/\/tmp\/repo\.git'/);
    await expectGitError(checkout({ url: 'git@github.com:org/repo.git', dir: freshDir() }), 'URLInvalid');
    await expectGitError(lsRemote('ext::sh -c touch% /tmp/pwned', undefined, undefined), 'URLInvalid');
  });

  it('reports an unreachable server with the URL and the cause', async () => {
    const url = 'http://127.0.0.1:1/x.git';
    const err = await expectGitError(checkout({ url, dir: freshDir() }), 'GitOperationFailed');
    assert.match(
      err.message,
      /^failed to checkout and determine revision: unable to clone 'http:\/\/127\.0\.0\.1:1\/x\.git': .*(Failed to connect|Couldn't connect)/,
    );
    assert.equal(err.url, url);
  });

  it('times out a server that never answers, as Timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}/slow.git`;
    try {
      const started = Date.now();
      const err = await expectGitError(lsRemote(url, undefined, undefined, { timeout: 300 }), 'Timeout');
      assert.ok(Date.now() - started < 5000);
      assert.equal(
        err.message,
        `failed to checkout and determine revision: unable to list remote for '${url}': context deadline exceeded ` +
          '(timeout 300ms)',
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("throws the caller's abort reason when the caller cancels", async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await assert.rejects(
      lsRemote('http://127.0.0.1:1/x.git', undefined, undefined, controller),
      /shutting down/,
    );
  });
});

describe('git over HTTP with basic auth', () => {
  const username = 'robot';
  const password = 'pa55-w0rd-s3cret';
  let server: GitServer;
  let url: string;
  let head: string;

  before(async () => {
    server = await GitServer.start({ auth: { username, password } });
    head = await server.createRepo('private', { 'app.yaml': 'private: true\n' });
    url = server.url('private');
  });
  after(async () => {
    await server.stop();
  });

  it('checks out with username and password from the Secret (as Buffers)', async () => {
    const credentials = { username: Buffer.from(username), password: Buffer.from(password) };
    const dir = freshDir();
    const result = await checkout({ url, ref: { branch: 'main' }, credentials, dir });
    assert.equal(result.revision, `main@sha1:${head}`);
    assert.equal(await readFile(path.join(dir, 'app.yaml'), 'utf8'), 'private: true\n');
    assert.equal((await lsRemote(url, { branch: 'main' }, credentials)).revision, result.revision);
    // Nothing about the credentials is left in the clone's config.
    assert.doesNotMatch(await readFile(path.join(dir, '.git/config'), 'utf8'), /Authorization|robot/);
  });

  it('reports a wrong password as AuthenticationFailed without the password', async () => {
    const credentials = { username, password: 'wrong-password' };
    const err = await expectGitError(
      checkout({ url, ref: { branch: 'main' }, credentials, dir: freshDir() }),
      'AuthenticationFailed',
    );
    assert.equal(
      err.message,
      `failed to checkout and determine revision: unable to clone '${url}': authentication required`,
    );
    assert.doesNotMatch(err.message + (err.stack ?? ''), /wrong-password/);
    const listed = await expectGitError(
      lsRemote(url, { branch: 'main' }, credentials),
      'AuthenticationFailed',
    );
    assert.equal(
      listed.message,
      `failed to checkout and determine revision: unable to list remote for '${url}': authentication required`,
    );
    await expectGitError(lsRemote(url, undefined, undefined), 'AuthenticationFailed');
  });

  it('moves credentials out of the URL, and never shows them', async () => {
    const withUserInfo = new URL(url);
    withUserInfo.username = username;
    withUserInfo.password = password;
    const result = await lsRemote(withUserInfo.href, { branch: 'main' }, undefined);
    assert.equal(result.revision, `main@sha1:${head}`);

    withUserInfo.password = 'wrong-in-url';
    const err = await expectGitError(
      lsRemote(withUserInfo.href, undefined, undefined),
      'AuthenticationFailed',
    );
    assert.equal(err.url, url);
    assert.doesNotMatch(err.message, /wrong-in-url|robot/);
  });

  it('rejects a password without a username', async () => {
    const err = await expectGitError(lsRemote(url, undefined, { password }), 'AuthenticationFailed');
    assert.equal(
      err.message,
      "failed to configure authentication options: invalid 'http' auth option: 'password' requires 'username' to be set",
    );
  });
});

describe('pickSemverTag', () => {
  it('orders by semver precedence, then build metadata', () => {
    assert.equal(pickSemverTag(['v1.2.3', 'v1.10.0', 'v1.9.9'], '^1.0.0'), 'v1.10.0');
    assert.equal(pickSemverTag(['1.0.0+b', '1.0.0+a'], '1.0.0'), '1.0.0+b');
    assert.equal(pickSemverTag(['vv1.0.0', 'v1.0', ' 1.0.0', '=1.0.0'], '*'), undefined);
  });
});

describe('checkout directory', () => {
  it('is created when missing and keeps its .git', async () => {
    const server = await GitServer.start();
    try {
      await server.createRepo('small', { 'a.txt': 'a\n' });
      const dir = path.join(freshDir(), 'nested', 'dir');
      await checkout({ url: server.url('small'), ref: { branch: 'main' }, dir });
      assert.ok((await stat(path.join(dir, '.git'))).isDirectory());
    } finally {
      await server.stop();
    }
  });
});

describe('credentials stay with their host', () => {
  it('sends a submodule on another host no Authorization header', async () => {
    const secured = await GitServer.start({ auth: { username: 'robot', password: 'right-password' } });
    const elsewhere = await GitServer.start();
    try {
      const libCommit = await elsewhere.createRepo('lib', { 'lib.txt': 'from elsewhere\n' });
      await secured.createRepo('app', { 'README.md': 'app\n' });
      await secured.addSubmodule('app', 'vendor/lib', elsewhere.url('lib'), libCommit);
      const dir = freshDir();
      await checkout({
        url: secured.url('app'),
        ref: { branch: 'main' },
        credentials: { username: 'robot', password: 'right-password' },
        recurseSubmodules: true,
        dir,
      });
      assert.equal(await readFile(path.join(dir, 'vendor/lib/lib.txt'), 'utf8'), 'from elsewhere\n');
      assert.ok(secured.authorizationsSeen.length > 0, 'the repository itself was sent the credentials');
      assert.deepEqual(elsewhere.authorizationsSeen, []);
    } finally {
      await secured.stop();
      await elsewhere.stop();
    }
  });
});
