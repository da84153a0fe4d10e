// `sluice controller`: runs the GitRepository and Kustomization controllers until SIGTERM or SIGINT, then
// stops taking work, lets reconciles in progress end, and exits. Flags keep Flux's names.
import { Command, InvalidArgumentError, Option } from 'commander';
import { KubeClient } from '../kube/client.ts';
import { parseDuration } from '../api/duration.ts';
import { createLogger } from '../runtime/logger.ts';
import { runControllers } from '../controllers/run.ts';

function parseBoolean(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError('expected true or false');
}

/** A Flux-style boolean flag: `--flag`, `--flag=true` or `--flag=false`. */
function booleanOption(flags: string, description: string, defaultValue: boolean): Option {
  return new Option(`${flags} [bool]`, description)
    .argParser(parseBoolean)
    .preset('true')
    .default(defaultValue);
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

function parseDurationFlag(value: string): number {
  try {
    return parseDuration(value, 'flag');
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

interface ControllerFlags {
  kubeconfig?: string;
  context?: string;
  concurrent: number;
  requeueDependency: number;
  watchAllNamespaces: boolean;
  watchLabelSelector?: string;
  /** Set by --no-remote-bases: commander files a "--no-" flag under the name without "no". */
  remoteBases: boolean;
  storagePath?: string;
  storageAdvAddr?: string;
  logLevel: string;
}

export function controllerCommand(): Command {
  return (
    new Command('controller')
      .description('run the GitRepository and Kustomization controllers')
      .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
      .option('--context <name>', 'kubeconfig context to use')
      .option('--concurrent <n>', 'Kustomizations reconciled in parallel', parsePositiveInt, 4)
      .addOption(
        new Option(
          '--requeue-dependency <duration>',
          'how soon to retry an unready dependency or missing artifact',
        )
          .argParser(parseDurationFlag)
          .default(30_000, '30s'),
      )
      .addOption(
        booleanOption(
          '--watch-all-namespaces',
          'watch every namespace; false watches only $RUNTIME_NAMESPACE',
          true,
        ),
      )
      .option('--watch-label-selector <selector>', 'reconcile only objects with these labels (sharding)')
      // Unlike Flux, remote bases are refused unless asked for: a build should only read the artifact.
      .addOption(
        booleanOption(
          '--no-remote-bases',
          'refuse kustomize bases fetched from remote URLs (false allows them)',
          true,
        ),
      )
      .option('--storage-path <dir>', 'where artifacts are stored (default: a temporary directory)')
      .option('--storage-adv-addr <url>', 'base URL advertised in artifact URLs')
      .option('--log-level <level>', 'debug, info or error', 'info')
      .action(async (flags: ControllerFlags) => {
        const log = createLogger({ level: flags.logLevel });
        const namespace = process.env.RUNTIME_NAMESPACE;
        if (!flags.watchAllNamespaces && !namespace) {
          throw new InvalidArgumentError(
            '--watch-all-namespaces=false needs RUNTIME_NAMESPACE to name the namespace to watch',
          );
        }
        const client = await KubeClient.load({ kubeconfig: flags.kubeconfig, context: flags.context });
        const controllers = await runControllers({
          client,
          log,
          concurrent: flags.concurrent,
          requeueDependencyMs: flags.requeueDependency,
          watchNamespace: flags.watchAllNamespaces ? undefined : namespace,
          watchLabelSelector: flags.watchLabelSelector,
          noRemoteBases: flags.remoteBases,
          storagePath: flags.storagePath,
          storageAdvertiseBase: flags.storageAdvAddr,
        });
        log.info(
          { server: client.server, namespace: flags.watchAllNamespaces ? '*' : namespace },
          'controllers started',
        );
        await new Promise<void>((resolve) => {
          const shutdown = (signal: string) => {
            log.info({ signal }, 'shutting down');
            resolve();
          };
          process.once('SIGTERM', () => shutdown('SIGTERM'));
          process.once('SIGINT', () => shutdown('SIGINT'));
        });
        await controllers.stop();
        await client.close();
        log.info('stopped');
      })
  );
}
