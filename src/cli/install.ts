// `sluice install`: puts sluice's API on a cluster (later also its namespace, RBAC and controller), or prints the
// manifests with --export. Status lines go to stderr in Flux's style, manifests to stdout.
import { Command } from 'commander';
import { allCrds, crdsYaml } from '../api/crds.ts';
import { parseDuration } from '../api/duration.ts';
import { KubeClient } from '../kube/client.ts';
import { ObjectClient } from '../kube/objects.ts';
import { ResourceManager } from '../ssa/manager.ts';

/** The server-side apply field manager of everything `sluice install` writes. */
export const installFieldManager = 'sluice';

export type Log = (line: string) => void;

export interface InstallOptions {
  /** How long to wait for what was applied to become usable, in milliseconds. */
  timeoutMs: number;
  log: Log;
}

/** Everything `sluice install` puts on the cluster, in order; each step applies and then waits. */
export async function install(client: KubeClient, options: InstallOptions): Promise<void> {
  await installCrds(client, options);
}

/** Applies every CRD with server-side apply and waits until the API server serves each of them. */
export async function installCrds(client: KubeClient, options: InstallOptions): Promise<void> {
  options.log('► installing CRDs');
  // The same staged apply the controller uses: CRDs are definitions, applied and waited for until established.
  const changes = await new ResourceManager(new ObjectClient(client)).applyAllStaged(allCrds(), {
    fieldManager: installFieldManager,
    force: false,
    readyTimeoutMs: options.timeoutMs,
    signal: AbortSignal.timeout(options.timeoutMs + 5_000),
  });
  for (const change of changes) options.log(`${change.subject} ${change.action}`);
  for (const change of changes) options.log(`✔ ${change.subject} established`);
}

interface InstallCommandOptions {
  export?: boolean;
  kubeconfig?: string;
  context?: string;
  timeout: string;
}

export function installCommand(): Command {
  return new Command('install')
    .description('install the sluice CRDs on the cluster, or print them with --export')
    .option('--export', 'print the manifests as YAML to stdout instead of applying them')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use (default: the current context)')
    .option('--timeout <duration>', 'how long to wait for the installation to become ready', '5m')
    .action(async (options: InstallCommandOptions) => {
      if (options.export) {
        process.stdout.write(crdsYaml());
        return;
      }
      const log: Log = (line) => process.stderr.write(`${line}\n`);
      try {
        const timeoutMs = parseDuration(options.timeout, '--timeout');
        const client = await KubeClient.load({ kubeconfig: options.kubeconfig, context: options.context });
        try {
          await install(client, { timeoutMs, log });
        } finally {
          await client.close();
        }
        log('✔ install finished');
      } catch (error) {
        log(`✗ ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    });
}
