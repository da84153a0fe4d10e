// Runs the sluice CLI as a user does, as a separate process against the test cluster.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { repoRoot } from '../../dev/cluster.ts';
import { runCommand, type CommandResult } from '../../dev/process.ts';
import { testKubeconfig } from './cluster.ts';

const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');

export type CliResult = CommandResult;

/**
 * `sluice <args> --kubeconfig <test cluster>` (or the kubeconfig given; `kubeconfigFirst` puts it before the
 * verb): its exit code and output, with stdin not a terminal, no colour and no namespace override.
 */
export async function runSluice(
  args: string[],
  options: { kubeconfig?: string; kubeconfigFirst?: boolean } = {},
): Promise<CliResult> {
  const kubeconfig = ['--kubeconfig', options.kubeconfig ?? testKubeconfig()];
  return runCommand(
    process.execPath,
    [cli, ...(options.kubeconfigFirst ? [...kubeconfig, ...args] : [...args, ...kubeconfig])],
    {
      env: { FORCE_COLOR: undefined, FLUX_SYSTEM_NAMESPACE: undefined },
    },
  );
}

/**
 * `sluice <args> --kubeconfig <test cluster>` as a process that keeps running (`--watch`, `ui`), its output
 * piped, with no colour; the caller stops it.
 */
export function spawnSluice(args: string[]): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [cli, ...args, '--kubeconfig', testKubeconfig()], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: undefined },
  });
}
