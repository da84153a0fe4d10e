// Which files of a checkout go into the artifact, with Flux's rules (fluxcd/pkg sourceignore and the
// storage's SourceIgnoreFilter): the VCS files are always excluded; the default list applies only when there
// are no other patterns at all; `.sourceignore` files at any depth and `spec.ignore` (last, so it wins)
// replace it.
import { lstat, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import ignore from 'ignore';

export const sourceIgnoreFile = '.sourceignore';

/** Always excluded, even when `.sourceignore` files or `spec.ignore` replace the defaults. */
export const vcsExclusions: readonly string[] = ['.git/', '.gitignore', '.gitmodules', '.gitattributes'];

/** Excluded when there is neither a `.sourceignore` pattern nor `spec.ignore`. */
export const defaultExclusions: readonly string[] = [
  // Binary and archive files
  '*.jpg',
  '*.jpeg',
  '*.gif',
  '*.png',
  '*.wmv',
  '*.flv',
  '*.tar.gz',
  '*.zip',
  // CI configuration
  '.github/',
  '.circleci/',
  '.travis.yml',
  '.gitlab-ci.yml',
  'appveyor.yml',
  '.drone.yml',
  'cloudbuild.yaml',
  'codeship-services.yml',
  'codeship-steps.yml',
  // Tooling files at any depth
  '**/.goreleaser.yml',
  '**/.sops.yaml',
  '**/.flux.yaml',
];

/** True when the path (relative to the checkout root, `/`-separated) is left out of the artifact. */
export type SourceFilter = (relativePath: string, isDirectory: boolean) => boolean;

/**
 * Loads every `.sourceignore` under `root` (not following symlinks, skipping `.git`) and builds the filter.
 * `specIgnore` is the GitRepository's `spec.ignore`.
 */
export async function loadSourceFilter(root: string, specIgnore?: string): Promise<SourceFilter> {
  const patterns = [...(await sourceIgnorePatterns(root, '')), ...readPatterns(specIgnore ?? '', '')];
  // Case-sensitive, like git on Linux and Flux's matcher.
  const matcher = ignore({ ignorecase: false }).add([
    ...vcsExclusions,
    ...(patterns.length > 0 ? patterns : defaultExclusions),
  ]);
  return (relativePath, isDirectory) => matcher.ignores(isDirectory ? `${relativePath}/` : relativePath);
}

/** The patterns of `dir`'s `.sourceignore`, then those of its subdirectories in name order, as Flux reads them. */
async function sourceIgnorePatterns(root: string, dir: string): Promise<string[]> {
  const absolute = path.join(root, dir);
  const patterns: string[] = [];
  const file = path.join(absolute, sourceIgnoreFile);
  // Only a regular file: a symlink could point anywhere on the controller's host (or at /dev/zero).
  const stat = await lstat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (stat?.isFile()) patterns.push(...readPatterns(await readFile(file, 'utf8'), dir));
  const entries = (await readdir(absolute, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    if (entry.isDirectory() && entry.name !== '.git') {
      patterns.push(...(await sourceIgnorePatterns(root, dir === '' ? entry.name : `${dir}/${entry.name}`)));
    }
  }
  return patterns;
}

/** Non-comment, non-blank lines, rewritten to apply below `dir` (relative to the root, '' for the root). */
function readPatterns(content: string, dir: string): string[] {
  return content
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('#') && line.trim() !== '')
    .map((line) => (dir === '' ? line : scopePattern(line, dir)));
}

/**
 * Rewrites a pattern read in `dir` into one relative to the root: a pattern with a slash before its end is
 * anchored to `dir`, any other matches at any depth below it.
 */
function scopePattern(line: string, dir: string): string {
  const negation = line.startsWith('!') ? '!' : '';
  let body = negation ? line.slice(1) : line;
  const anchored = body.trimEnd().replace(/\/+$/, '').includes('/');
  if (body.startsWith('/')) body = body.slice(1);
  return `${negation}${escapeGlob(dir)}/${anchored ? '' : '**/'}${body}`;
}

/** Escapes a directory name so that it matches itself in a pattern. */
function escapeGlob(dir: string): string {
  return dir.replace(/[\\*?[\]]/g, '\\$&').replace(/^[!#]/, '\\$&');
}
