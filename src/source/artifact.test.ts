import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import * as tar from 'tar';
import { GitServer } from '../../dev/git-server.ts';
import { ArtifactStore, archiveDirectory, buildArtifact, extractArtifact, fileDigest } from './artifact.ts';
import { checkout } from './git.ts';
import { loadSourceFilter } from './ignore.ts';

let scratch: string;
let counter = 0;
const fresh = (label: string) => path.join(scratch, `${label}-${++counter}`);

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
}

interface EntryHeader {
  path: string;
  type: string;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  uname: string | undefined;
  gname: string | undefined;
  mtime: number | undefined;
}

async function entriesOf(file: string): Promise<EntryHeader[]> {
  const entries: EntryHeader[] = [];
  await tar.list({
    file,
    onReadEntry: (entry) => {
      entries.push({
        path: entry.path,
        type: entry.type,
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        uname: entry.uname,
        gname: entry.gname,
        mtime: entry.mtime?.getTime(),
      });
    },
  });
  return entries;
}

async function archive(
  dir: string,
  ignore?: string,
): Promise<{ file: string; digest: string; size: number; leftOut: { path: string; target: string }[] }> {
  const file = `${fresh('archive')}.tar.gz`;
  const result = await archiveDirectory(dir, file, await loadSourceFilter(dir, ignore));
  return { file, ...result };
}

before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'sluice-artifact-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const files = {
  'deploy/app.yaml': 'replicas: 2\n',
  'deploy/config/settings.env': 'A=1\n',
  'README.md': '# app\n',
  'run.sh': '#!/bin/sh\necho hi\n',
  'logo.png': 'not really a png',
  '.github/workflows/ci.yml': 'on: push\n',
};

describe('archiveDirectory', () => {
  it('writes sorted, filtered entries with no owner, zero mtimes and normalised modes', async () => {
    const dir = fresh('tree');
    await writeTree(dir, files);
    await chmod(path.join(dir, 'run.sh'), 0o775);
    await mkdir(path.join(dir, '.git/objects'), { recursive: true });
    await writeFile(path.join(dir, '.git/config'), '[core]\n');
    await symlink('deploy/app.yaml', path.join(dir, 'link.yaml'));
    await symlink('deploy', path.join(dir, 'linked-dir'));

    const { file, digest, size, leftOut } = await archive(dir);
    // Left out, as in Flux, but named so that the reconciler can say so.
    assert.deepEqual(leftOut, [
      { path: 'link.yaml', target: 'deploy/app.yaml' },
      { path: 'linked-dir', target: 'deploy' },
    ]);
    const bytes = await readFile(file);
    assert.equal(size, bytes.length);
    assert.equal(digest, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);

    const entries = await entriesOf(file);
    assert.deepEqual(
      entries.map((e) => [e.path, e.type, e.mode?.toString(8)]),
      [
        ['./', 'Directory', '750'],
        ['README.md', 'File', '600'],
        ['deploy/', 'Directory', '750'],
        ['deploy/app.yaml', 'File', '600'],
        ['deploy/config/', 'Directory', '750'],
        ['deploy/config/settings.env', 'File', '600'],
        ['run.sh', 'File', '700'],
      ],
    );
    for (const entry of entries) {
      assert.equal(entry.uid, undefined, entry.path);
      assert.equal(entry.gid, undefined, entry.path);
      assert.ok(!entry.uname, entry.path);
      assert.ok(!entry.gname, entry.path);
      assert.ok(entry.mtime === undefined || entry.mtime === 0, `${entry.path}: mtime ${entry.mtime}`);
    }
  });

  it('depends only on content: other mtimes, permissions and build times give the same digest', async () => {
    const one = fresh('tree');
    const two = fresh('tree');
    await writeTree(one, files);
    await writeTree(two, Object.fromEntries(Object.entries(files).reverse()));
    await utimes(path.join(two, 'README.md'), new Date('2001-01-01'), new Date('2001-01-01'));
    await chmod(path.join(one, 'README.md'), 0o644);
    await chmod(path.join(two, 'README.md'), 0o664);
    const first = await archive(one);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await archive(two);
    assert.equal(second.digest, first.digest);

    await chmod(path.join(two, 'README.md'), 0o755);
    assert.notEqual((await archive(two)).digest, first.digest, 'the executable bit is content');
    await writeFile(path.join(one, 'README.md'), '# changed\n');
    assert.notEqual((await archive(one)).digest, first.digest);
  });

  it('gives two checkouts of the same commit the same digest', async () => {
    const server = await GitServer.start();
    try {
      await server.createRepo('app', files);
      const url = server.url('app');
      const a = await checkout({ url, ref: { branch: 'main' }, dir: fresh('checkout') });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const b = await checkout({ url, ref: { branch: 'main' }, dir: fresh('checkout') });
      const first = await archive(a.checkoutDir);
      const second = await archive(b.checkoutDir);
      assert.equal(second.digest, first.digest);
      assert.ok(!(await entriesOf(first.file)).some((e) => e.path.startsWith('.git')));
    } finally {
      await server.stop();
    }
  });

  it('archives a tree whose every file is filtered out as an empty archive', async () => {
    const dir = fresh('tree');
    await writeTree(dir, { 'logo.png': 'x', '.gitignore': 'x' });
    const { file, digest } = await archive(dir);
    assert.deepEqual(
      (await entriesOf(file)).map((e) => e.path),
      ['./'],
    );
    const dest = fresh('dest');
    await extractArtifact(file, dest, digest);
    assert.deepEqual(await readdir(dest), []);
  });

  it('applies spec.ignore', async () => {
    const dir = fresh('tree');
    await writeTree(dir, files);
    const { file } = await archive(dir, 'deploy/config/\n*.md\n');
    assert.deepEqual(
      (await entriesOf(file)).map((e) => e.path),
      [
        './',
        '.github/',
        '.github/workflows/',
        '.github/workflows/ci.yml',
        'deploy/',
        'deploy/app.yaml',
        'logo.png',
        'run.sh',
      ],
    );
  });
});

describe('ArtifactStore and buildArtifact', () => {
  const commits = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)];

  it('stores the artifact at <kind>/<ns>/<name>/<commit>.tar.gz and describes it as Flux does', async () => {
    const store = new ArtifactStore(fresh('storage'));
    const dir = fresh('tree');
    await writeTree(dir, files);
    const before = Date.now();
    const artifact = await buildArtifact({
      store,
      kind: 'GitRepository',
      namespace: 'team-a',
      name: 'app',
      sourceDir: dir,
      commit: commits[0] ?? '',
      revision: `main@sha1:${commits[0]}`,
      advertiseBase: 'http://sluice.flux-system.svc.cluster.local./',
    });
    const expectedPath = `gitrepository/team-a/app/${commits[0]}.tar.gz`;
    assert.equal(artifact.path, expectedPath);
    assert.equal(artifact.url, `http://sluice.flux-system.svc.cluster.local./${expectedPath}`);
    assert.equal(artifact.revision, `main@sha1:${commits[0]}`);
    const local = path.join(store.root, expectedPath);
    assert.equal(artifact.digest, await fileDigest(local, 'sha256'));
    assert.equal(artifact.size, (await stat(local)).size);
    assert.match(artifact.lastUpdateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Date.parse(artifact.lastUpdateTime) >= Math.floor(before / 1000) * 1000);
    assert.equal((await stat(local)).mode & 0o777, 0o600);
    assert.ok(await store.exists(expectedPath));
    assert.equal((await readdir(path.dirname(local))).length, 1, 'no temporary file left behind');

    const extracted = fresh('extracted');
    await extractArtifact(local, extracted, artifact.digest);
    assert.equal(await readFile(path.join(extracted, 'deploy/app.yaml'), 'utf8'), 'replicas: 2\n');
    assert.deepEqual((await readdir(extracted)).sort(), ['README.md', 'deploy', 'run.sh']);
  });

  it('keeps only the newest artifacts of an object', async () => {
    const store = new ArtifactStore(fresh('storage'), { retain: 2 });
    const dir = fresh('tree');
    await writeTree(dir, files);
    const base = {
      store,
      kind: 'GitRepository',
      namespace: 'ns',
      name: 'app',
      sourceDir: dir,
      advertiseBase: 'http://x',
    };
    const other = await buildArtifact({ ...base, name: 'other', commit: commits[0] ?? '', revision: 'r' });
    let age = 3;
    for (const commit of commits) {
      const artifact = await buildArtifact({ ...base, commit, revision: `sha1:${commit}` });
      // Distinct, increasing mtimes, whatever the filesystem's timestamp resolution.
      const when = new Date(Date.now() - --age * 60_000);
      await utimes(path.join(store.root, artifact.path), when, when);
    }
    assert.deepEqual((await readdir(path.join(store.root, 'gitrepository/ns/app'))).sort(), [
      `${commits[1]}.tar.gz`,
      `${commits[2]}.tar.gz`,
    ]);
    assert.ok(await store.exists(other.path), "another object's artifacts are untouched");

    await store.removeAll('GitRepository', 'ns', 'app');
    assert.equal(await store.exists(store.pathFor('GitRepository', 'ns', 'app', commits[2] ?? '')), false);
    assert.ok(await store.exists(other.path));
  });

  it('opens stored artifacts and refuses paths outside the storage', async () => {
    const store = new ArtifactStore(fresh('storage'));
    await store.writeAtomic('gitrepository/ns/app/x.tar.gz', (file) => writeFile(file, 'bytes'));
    assert.equal(await text(store.open('gitrepository/ns/app/x.tar.gz')), 'bytes');
    assert.throws(() => store.localPath('../outside.tar.gz'), /outside the storage/);
    assert.throws(
      () => store.pathFor('GitRepository', '..', 'app', 'abc'),
      /invalid artifact path component/,
    );
    await assert.rejects(
      store.writeAtomic('gitrepository/ns/app/y.tar.gz', () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.deepEqual(await readdir(path.join(store.root, 'gitrepository/ns/app')), ['x.tar.gz']);
  });
});

describe('extractArtifact', () => {
  it('refuses an archive whose digest does not match, writing nothing', async () => {
    const dir = fresh('tree');
    await writeTree(dir, files);
    const { file } = await archive(dir);
    const wrong = `sha256:${'0'.repeat(64)}`;
    const dest = fresh('dest');
    await assert.rejects(extractArtifact(file, dest, wrong), {
      message: `failed to verify archive: computed digest doesn't match provided '${wrong}'`,
    });
    await assert.rejects(stat(dest), { code: 'ENOENT' });
  });

  it('refuses entries that would escape the destination, before writing anything', async () => {
    const source = fresh('evil');
    await writeTree(source, { 'inner/ok.txt': 'ok\n', 'evil.txt': 'evil\n' });
    const file = `${fresh('evil')}.tar.gz`;
    await tar.create({ file, gzip: true, cwd: path.join(source, 'inner'), preservePaths: true }, [
      'ok.txt',
      '../evil.txt',
    ]);
    const dest = fresh('dest');
    await assert.rejects(
      extractArtifact(file, dest, await fileDigest(file, 'sha256')),
      /entry '\.\.\/evil\.txt' would be written outside/,
    );
    await assert.rejects(stat(dest), { code: 'ENOENT' });
    await assert.rejects(stat(path.join(path.dirname(dest), 'evil.txt')), { code: 'ENOENT' });
  });

  it('refuses a gzip bomb and too many entries, by their headers, writing nothing', async () => {
    const source = fresh('bomb');
    await writeTree(source, { 'a.txt': 'a'.repeat(4000), 'b.txt': 'b', 'c.txt': 'c' });
    const file = `${fresh('bomb')}.tar.gz`;
    await tar.create({ file, gzip: true, cwd: source }, ['a.txt', 'b.txt', 'c.txt']);
    const digest = await fileDigest(file, 'sha256');
    const dest = fresh('dest');
    await assert.rejects(extractArtifact(file, dest, digest, { maxBytes: 1000, maxEntries: 10 }), {
      message: "failed to extract archive: it unpacks to more than 1000 bytes (at entry 'a.txt')",
    });
    await assert.rejects(extractArtifact(file, dest, digest, { maxBytes: 10_000, maxEntries: 2 }), {
      message: 'failed to extract archive: it has more than 2 entries',
    });
    await assert.rejects(stat(dest), { code: 'ENOENT' });
    await extractArtifact(file, dest, digest, { maxBytes: 10_000, maxEntries: 3 });
    assert.deepEqual((await readdir(dest)).sort(), ['a.txt', 'b.txt', 'c.txt']);
  });

  it('skips symlinks in the archive', async () => {
    const source = fresh('links');
    await writeTree(source, { 'real.txt': 'real\n' });
    await symlink('/etc/passwd', path.join(source, 'passwd'));
    const file = `${fresh('links')}.tar.gz`;
    await tar.create({ file, gzip: true, cwd: source }, ['real.txt', 'passwd']);
    assert.ok((await entriesOf(file)).some((e) => e.type === 'SymbolicLink'));
    const dest = fresh('dest');
    await extractArtifact(file, dest, await fileDigest(file, 'sha256'));
    assert.deepEqual(await readdir(dest), ['real.txt']);
  });
});
