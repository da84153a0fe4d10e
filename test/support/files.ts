// Fixture directories for tests: a scratch root per test file, removed afterwards, and trees of files in it.
import { after } from 'node:test';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
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
