import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSourceFilter } from './ignore.ts';

let scratch: string;
let counter = 0;

/** A directory tree from path -> content (a path ending in `/` is an empty directory). */
async function tree(files: Record<string, string>): Promise<string> {
  const root = path.join(scratch, `tree-${++counter}`);
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(root, file);
    if (file.endsWith('/')) await mkdir(target, { recursive: true });
    else {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, content);
    }
  }
  return root;
}

/** The paths of `candidates` the filter keeps (directories end in `/`). */
async function kept(root: string, candidates: string[], specIgnore?: string): Promise<string[]> {
  const filter = await loadSourceFilter(root, specIgnore);
  return candidates.filter((p) => !filter(p.replace(/\/$/, ''), p.endsWith('/')));
}

before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'sluice-ignore-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('loadSourceFilter', () => {
  const candidates = [
    '.git/',
    '.git/config',
    '.gitignore',
    'sub/.gitattributes',
    '.gitmodules',
    'deploy/',
    'deploy/app.yaml',
    'deploy/logo.png',
    'docs/diagram.jpeg',
    'dist/bundle.tar.gz',
    '.github/',
    '.github/workflows/ci.yml',
    '.circleci/',
    '.travis.yml',
    '.gitlab-ci.yml',
    'appveyor.yml',
    '.drone.yml',
    'cloudbuild.yaml',
    'codeship-services.yml',
    'codeship-steps.yml',
    'nested/.goreleaser.yml',
    '.sops.yaml',
    'nested/.flux.yaml',
    'Logo.PNG',
    'README.md',
  ];

  it("applies Flux's default exclusions when there is no spec.ignore and no .sourceignore", async () => {
    const root = await tree({ 'README.md': '' });
    assert.deepEqual(await kept(root, candidates), ['deploy/', 'deploy/app.yaml', 'Logo.PNG', 'README.md']);
  });

  it('lets spec.ignore replace the default list, but never the VCS files', async () => {
    const root = await tree({ 'README.md': '' });
    const keptPaths = await kept(root, candidates, '*.md\n# a comment\n\n/deploy/*.png\n');
    assert.deepEqual(
      keptPaths,
      candidates.filter(
        (p) =>
          !['.git/', '.git/config', '.gitignore', 'sub/.gitattributes', '.gitmodules'].includes(p) &&
          p !== 'README.md' &&
          p !== 'deploy/logo.png',
      ),
    );
  });

  it('treats an empty spec.ignore as unset (the defaults apply)', async () => {
    const root = await tree({ 'README.md': '' });
    assert.deepEqual(await kept(root, ['logo.png', 'README.md'], ''), ['README.md']);
  });

  it('loads .sourceignore files at any depth, relative to their directory; they too replace the defaults', async () => {
    const root = await tree({
      '.sourceignore': '/secrets/\n',
      'apps/.sourceignore': '*.txt\n/local.yaml\n!keep.txt\n',
      'apps/team/.sourceignore': 'draft/\n',
    });
    const paths = [
      'secrets/',
      'apps/secrets/',
      'apps/notes.txt',
      'apps/deep/er/notes.txt',
      'apps/keep.txt',
      'notes.txt',
      'apps/local.yaml',
      'apps/deep/local.yaml',
      'local.yaml',
      'apps/team/draft/',
      'apps/team/sub/draft/',
      'apps/draft/',
      'logo.png',
      '.sourceignore',
      '.gitignore',
    ];
    assert.deepEqual(await kept(root, paths), [
      'apps/secrets/',
      'apps/keep.txt',
      'notes.txt',
      'apps/deep/local.yaml',
      'local.yaml',
      'apps/draft/',
      'logo.png',
      '.sourceignore',
    ]);
  });

  it('gives spec.ignore the last word over .sourceignore files', async () => {
    const root = await tree({ 'apps/.sourceignore': '*.yaml\n' });
    assert.deepEqual(await kept(root, ['apps/a.yaml', 'apps/b.yaml'], '!apps/b.yaml\n'), ['apps/b.yaml']);
  });

  it('escapes glob characters in the directory of a .sourceignore', async () => {
    const root = await tree({ 'we[ir]d*/.sourceignore': 'x.yaml\n' });
    assert.deepEqual(await kept(root, ['we[ir]d*/x.yaml', 'wed/x.yaml', 'weirdo/x.yaml']), [
      'wed/x.yaml',
      'weirdo/x.yaml',
    ]);
  });

  it('ignores .sourceignore files inside .git and .sourceignore symlinks', async () => {
    const root = await tree({ '.git/.sourceignore': '*.yaml\n', 'outside.txt': '*.md\n', 'sub/': '' });
    await symlink(path.join(root, 'outside.txt'), path.join(root, 'sub/.sourceignore'));
    assert.deepEqual(await kept(root, ['a.yaml', 'sub/README.md', 'logo.png']), ['a.yaml', 'sub/README.md']);
  });
});
