// Runs the sluice CLI as a user does, as a separate process against the test cluster.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { repoRoot } from '../../dev/cluster.ts';
import { testKubeconfig } from './cluster.ts';

const execFileAsync = promisify(execFile);
const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `sluice <args> --kubeconfig <test cluster>` (or the kubeconfig given; `kubeconfigFirst` puts it before the
 * verb): its exit code and output, with stdin not a terminal, no colour and no namespace override.
 */
export async function runSluice(
  args: string[],
  options: { kubeconfig?: string; kubeconfigFirst?: boolean } = {},
): Promise<CliResult> {
  const kubeconfig = ['--kubeconfig', options.kubeconfig ?? testKubeconfig()];
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [cli, ...(options.kubeconfigFirst ? [...kubeconfig, ...args] : [...args, ...kubeconfig])],
      {
        env: { ...process.env, FORCE_COLOR: undefined, FLUX_SYSTEM_NAMESPACE: undefined },
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
