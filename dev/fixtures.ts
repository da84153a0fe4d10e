// Fixture folders as files (what the demo, the benchmark and the tests commit to their git repositories), and
// scratch directories to write trees of files into.
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface ScratchDir {
  root: string;
  /** Writes the files into a fresh subdirectory of the root and returns its path. */
  tree(files: Record<string, string>): Promise<string>;
  remove(): Promise<void>;
}

/** A fresh directory under the system's temporary directory, for the caller to remove. */
export async function scratchDir(prefix: string): Promise<ScratchDir> {
  const root = await realpath(await mkdtemp(join(tmpdir(), `sluice-${prefix}-`)));
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
    remove: () => rm(root, { recursive: true, force: true }),
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
