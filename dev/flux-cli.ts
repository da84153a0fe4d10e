// The real flux CLI, for the tests that run Flux's own tooling against sluice: built from the Go module proxy by
// dev/flux/build-cli.sh into the cache, outside the repo, once per version.
import { execFile, spawn } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './cluster.ts';

const execFileAsync = promisify(execFile);

/** FLUX_CLI_VERSION of dev/cluster/versions.sh, the one place versions are kept. */
async function fluxCliVersion(): Promise<string> {
  const versions = await readFile(path.join(repoRoot, 'dev/cluster/versions.sh'), 'utf8');
  const version = /^FLUX_CLI_VERSION=(\S+)/m.exec(versions)?.[1];
  if (!version) throw new Error('dev/cluster/versions.sh sets no FLUX_CLI_VERSION');
  return version;
}

/** Where build-cli.sh puts the binary (its SLUICE_CACHE_DIR default included). */
export async function fluxCliPath(): Promise<string> {
  const cache =
    process.env.SLUICE_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'sluice');
  return path.join(cache, 'bin', `flux-cli-${await fluxCliVersion()}`, 'flux');
}

const exists = (file: string) =>
  access(file, constants.X_OK).then(
    () => true,
    () => false,
  );

/** The flux CLI, built first when it is not cached; the build's lines go to `onLine`. */
export async function ensureFluxCli(onLine: (line: string) => void): Promise<string> {
  const binary = await fluxCliPath();
  if (await exists(binary)) return binary;
  onLine('[flux-cli] not cached yet: building it from the Go module proxy');
  await new Promise<void>((resolve, reject) => {
    const build = spawn('bash', [path.join(repoRoot, 'dev/flux/build-cli.sh')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [build.stdout, build.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => chunk.split('\n').filter(Boolean).forEach(onLine));
    }
    build.on('error', reject);
    build.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`dev/flux/build-cli.sh exited ${code}`)),
    );
  });
  return binary;
}

export interface FluxResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `flux <args> --kubeconfig <kubeconfig>`: its exit code and output, with no colour and no update check. */
export async function runFlux(args: string[], kubeconfig: string): Promise<FluxResult> {
  try {
    const { stdout, stderr } = await execFileAsync(
      await fluxCliPath(),
      [...args, '--kubeconfig', kubeconfig],
      {
        env: { ...process.env, FLUX_SYSTEM_NAMESPACE: undefined, NO_COLOR: '1' },
        timeout: 120_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout,
      stderr: failed.stderr,
    };
  }
}
