import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { dropIgnoredEntries, ignorePathsMatcher } from './ignore-paths.ts';

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'sluice-ignore-paths-'));
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
  return root;
}

describe('ignorePathsMatcher', () => {
  const matches = ignorePathsMatcher(['secret.yaml', '/top.yaml', 'sub/', '**/*.enc.yaml']);
  const cases: [string, boolean, boolean][] = [
    ['secret.yaml', false, true],
    ['deep/secret.yaml', false, true],
    ['top.yaml', false, true],
    ['deep/top.yaml', false, false],
    ['sub', true, true],
    ['sub/file.yaml', false, true],
    ['sub', false, false],
    ['a/b/c.enc.yaml', false, true],
    ['../secret.yaml', false, false],
    ['kept.yaml', false, false],
  ];
  for (const [file, isDirectory, expected] of cases) {
    it(`${file}${isDirectory ? '/' : ''} → ${expected}`, () =>
      assert.equal(matches(file, isDirectory), expected));
  }
});

describe('dropIgnoredEntries', () => {
  it('drops matching local entries of every kustomization file, anchored to its own directory', async () => {
    const root = await tree({
      'app/kustomization.yaml':
        'resources: [../base, a.yaml, secret.yaml, sub, https://example.com/x.yaml]\n',
      'app/a.yaml': '',
      'app/secret.yaml': '',
      'app/sub/kustomization.yaml': 'resources: []\n',
      'base/kustomization.yaml':
        'resources: [b.yaml, secret.yaml]\ncomponents: [comp]\ncrds: [secret.yaml]\n',
      'base/b.yaml': '',
      'base/secret.yaml': '',
      'base/comp/kustomization.yaml': 'kind: Component\n',
      'untouched/kustomization.yaml': '# a comment stays\nresources: [kept.yaml]\n',
      'untouched/kept.yaml': '',
    });
    await dropIgnoredEntries(root, ignorePathsMatcher(['secret.yaml', 'sub', 'missing.yaml']));
    const read = async (file: string) => parse(await readFile(path.join(root, file), 'utf8')) as unknown;
    assert.deepEqual(await read('app/kustomization.yaml'), {
      resources: ['../base', 'a.yaml', 'https://example.com/x.yaml'],
    });
    assert.deepEqual(await read('base/kustomization.yaml'), {
      resources: ['b.yaml'],
      components: ['comp'],
      crds: [],
    });
    // A file with nothing to drop is not rewritten.
    assert.equal(
      await readFile(path.join(root, 'untouched/kustomization.yaml'), 'utf8'),
      '# a comment stays\nresources: [kept.yaml]\n',
    );
  });

  it('leaves an entry that names nothing for kustomize to report', async () => {
    const root = await tree({ 'kustomization.yaml': 'resources: [gone.yaml]\n' });
    await dropIgnoredEntries(root, ignorePathsMatcher(['gone.yaml']));
    assert.equal(await readFile(path.join(root, 'kustomization.yaml'), 'utf8'), 'resources: [gone.yaml]\n');
  });
});
