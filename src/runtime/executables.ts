// The external programs the controller runs (kustomize's WebAssembly module, sops): each found the same way, an
// explicit path or its environment variable first, then PATH (executables only), then the versioned cache that
// dev/cluster/build.sh fills.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface Executable {
  /** The file name, e.g. `kustomize`. */
  name: string;
  /** The release the tests run and the image ships, e.g. `v5.8.1`. */
  version: string;
  /** The environment variable that names the file, e.g. `SLUICE_SOPS`. */
  env: string;
  /** The cache directory's name without the version (default: `name`), e.g. `age` for age-keygen. */
  cacheName?: string;
}

/** The path of `tool`, a file that is not run as a process (a WebAssembly module), or an error saying how to provide it. */
export async function findToolFile(tool: Executable, explicit?: string): Promise<string> {
  const chosen = explicit ?? process.env[tool.env];
  if (chosen) {
    if (await isFile(chosen)) return chosen;
    throw new Error(`${tool.name} ${chosen} is not a file`);
  }
  const cached = cachedPath(tool);
  if (await isFile(cached)) return cached;
  throw new Error(
    `${tool.name} not found: set ${tool.env}, or build ${tool.name} ${tool.version} into ${cached} with 'npm run cluster:build'`,
  );
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
  const cached = cachedPath(tool);
  if (await isExecutable(cached)) return cached;
  throw new Error(
    `${tool.name} binary not found: set ${tool.env}, put ${tool.name} ${tool.version} on PATH, ` +
      `or build it into ${cached} with 'npm run cluster:build'`,
  );
}

// The cache layout of dev/cluster/versions.sh.
function cachedPath(tool: Executable): string {
  return join(cacheRoot(), 'bin', `${tool.cacheName ?? tool.name}-${tool.version}`, tool.name);
}

function cacheRoot(): string {
  if (process.env.SLUICE_CACHE_DIR) return process.env.SLUICE_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sluice');
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
