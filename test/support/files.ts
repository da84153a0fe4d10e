// Fixture directories for tests: a scratch root per test file, removed afterwards, and trees of files in it.
import { after } from 'node:test';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A scratch directory removed when the test file ends; `tree` fills a fresh subdirectory of it. */
export async function scratchDir(
  prefix: string,
): Promise<{ root: string; tree(files: Record<string, string>): Promise<string> }> {
  const root = await realpath(await mkdtemp(join(tmpdir(), `sluice-${prefix}-`)));
  after(() => rm(root, { recursive: true, force: true }));
  let count = 0;
  return {
    root,
    async tree(files) {
      count += 1;
      const dir = join(root, `case-${count}`);
      await mkdir(dir, { recursive: true });
      for (const [path, content] of Object.entries(files)) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), content);
      }
      return dir;
    },
  };
}

/** Every file below `dir`, as relative path → content: a fixture folder ready for a git repository. */
export async function readTree(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = join(prefix, entry.name);
    if (entry.isDirectory()) Object.assign(out, await readTree(dir, rel));
    else out[rel] = await readFile(join(dir, rel), 'utf8');
  }
  return out;
}
