// The external programs the controller runs (kustomize, sops): each found the same way, an explicit path or
// its environment variable first, then PATH, then the versioned cache that dev/cluster/build.sh fills.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface Executable {
  /** The file name, e.g. `kustomize`. */
  name: string;
  /** The release the tests run and the image ships, e.g. `v5.8.1`. */
  version: string;
  /** The environment variable that names the file, e.g. `SLUICE_KUSTOMIZE`. */
  env: string;
  /** The cache directory's name without the version (default: `name`), e.g. `age` for age-keygen. */
  cacheName?: string;
}

/** The path of `tool` to run, or an error saying how to provide it. */
export async function findExecutable(tool: Executable, explicit?: string): Promise<string> {
  const chosen = explicit ?? process.env[tool.env];
  if (chosen) {
    if (await isExecutable(chosen)) return chosen;
    throw new Error(`${tool.name} binary ${chosen} is not an executable file`);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutable(join(dir, tool.name)))) return join(dir, tool.name);
  }
  const cached = join(cacheRoot(), 'bin', `${tool.cacheName ?? tool.name}-${tool.version}`, tool.name);
  if (await isExecutable(cached)) return cached;
  throw new Error(
    `${tool.name} binary not found: set ${tool.env}, put ${tool.name} ${tool.version} on PATH, ` +
      `or build it into ${cached} with 'npm run cluster:build'`,
  );
}

// The cache layout of dev/cluster/versions.sh.
function cacheRoot(): string {
  if (process.env.SLUICE_CACHE_DIR) return process.env.SLUICE_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sluice');
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
