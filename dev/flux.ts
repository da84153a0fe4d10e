// Flux's own tools for the tests that run them against sluice: the real flux CLI (dev/flux/build-cli.sh) and
// Flux's controllers (dev/flux/build-controllers.sh), built from the Go module proxy into the cache, outside the
// repo, once per version.
import { spawn } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheBin, repoRoot } from './cluster.ts';
import { runCommand, type CommandResult } from './process.ts';

/** A version of dev/cluster/versions.sh, the one place versions are kept, e.g. FLUX_CLI_VERSION. */
async function versionOf(variable: string): Promise<string> {
  const versions = await readFile(path.join(repoRoot, 'dev/cluster/versions.sh'), 'utf8');
  const version = new RegExp(`^${variable}=(\\S+)`, 'm').exec(versions)?.[1];
  if (!version) throw new Error(`dev/cluster/versions.sh sets no ${variable}`);
  return version;
}

const exists = (file: string) =>
  access(file, constants.F_OK).then(
    () => true,
    () => false,
  );

/** Where build-cli.sh puts the flux binary. */
export async function fluxCliPath(): Promise<string> {
  return path.join(cacheBin(), `flux-cli-${await versionOf('FLUX_CLI_VERSION')}`, 'flux');
}

/** The flux CLI, built first when it is not cached; the build's lines go to `onLine`. */
export async function ensureFluxCli(onLine: (line: string) => void): Promise<string> {
  const binary = await fluxCliPath();
  if (await exists(binary)) return binary;
  onLine('[flux-cli] not cached yet: building it from the Go module proxy');
  await runScript('dev/flux/build-cli.sh', [], onLine);
  return binary;
}

export type FluxController = 'source-controller' | 'kustomize-controller' | 'notification-controller';

/**
 * The directory build-controllers.sh puts a controller in: the binary, and its module's CRDs in crds/. The
 * version is the tests' one from versions.sh unless given.
 */
export async function fluxControllerDir(name: FluxController, version?: string): Promise<string> {
  const variable = `FLUX_${(name.split('-')[0] ?? '').toUpperCase()}_CONTROLLER_VERSION`;
  return path.join(cacheBin(), `flux-${name}-${version ?? (await versionOf(variable))}`);
}

/** The version of Flux's source-controller and kustomize-controller the benchmarks run. */
export const fluxBenchVersion = (): Promise<string> => versionOf('FLUX_BENCH_CONTROLLERS_VERSION');

/** Builds the controllers not cached yet (`crds: true`: only fetches their CRDs); the build's lines go to `onLine`. */
export async function ensureFluxControllers(
  names: FluxController[],
  onLine: (line: string) => void,
  options: { crds?: boolean } = {},
): Promise<void> {
  const missing: FluxController[] = [];
  for (const name of names) {
    const dir = await fluxControllerDir(name);
    if (!(await exists(options.crds ? path.join(dir, 'crds') : path.join(dir, name)))) missing.push(name);
  }
  if (missing.length === 0) return;
  onLine(
    `[flux] not cached yet: ${missing.join(', ')}${options.crds ? ' (CRDs)' : ''}; building from the Go module proxy`,
  );
  await runScript('dev/flux/build-controllers.sh', [...(options.crds ? ['crds'] : []), ...missing], onLine);
}

/** Runs one of the build scripts, its output line by line to `onLine`; rejects when it fails. */
function runScript(script: string, args: string[], onLine: (line: string) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const build = spawn('bash', [path.join(repoRoot, script), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [build.stdout, build.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => chunk.split('\n').filter(Boolean).forEach(onLine));
    }
    build.on('error', reject);
    build.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited ${code}`))));
  });
}

/** `flux <args> --kubeconfig <kubeconfig>`: its exit code and output, with no colour. */
export async function runFlux(args: string[], kubeconfig: string): Promise<CommandResult> {
  return runCommand(await fluxCliPath(), [...args, '--kubeconfig', kubeconfig], {
    env: { FLUX_SYSTEM_NAMESPACE: undefined, NO_COLOR: '1' },
    timeoutMs: 120_000,
  });
}
