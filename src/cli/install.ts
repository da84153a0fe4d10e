// `sluice install`: puts sluice on a cluster (its CRDs, namespace, RBAC and controller Deployment) and waits
// until the controller is available, or prints the manifests with --export. Status lines go to stderr in
// Flux's style, manifests to stdout.
import { Command, InvalidArgumentError } from 'commander';
import { parseDuration } from '../api/duration.ts';
import { defaultImage, manifestsYaml } from '../install/manifests.ts';
import { install, manifestsFor, type Log } from '../install/install.ts';
import { sluiceVersion } from '../version.ts';
import { loadClient, withClusterOptions, type ClusterOptions } from './flags.ts';
import { errorMessage } from '../errors.ts';

interface InstallCommandOptions extends ClusterOptions {
  export?: boolean;
  image?: string;
  timeout: string;
}

function parseImage(value: string): string {
  if (!value.trim() || /\s/.test(value)) throw new InvalidArgumentError(`not an image reference: "${value}"`);
  return value;
}

export function installCommand(): Command {
  return withClusterOptions(
    new Command('install')
      .description(
        'install sluice on the cluster (CRDs, namespace, RBAC, controller Deployment), or print it with --export',
      )
      .option('--export', 'print the manifests as YAML to stdout instead of applying them')
      .option(
        '--image <image>',
        `the controller image, built from the Dockerfile and pushed where the cluster can pull it (default: ${defaultImage(sluiceVersion)})`,
        parseImage,
      )
      .option('--timeout <duration>', 'how long to wait for the installation to become ready', '5m'),
  ).action(async (options: InstallCommandOptions) => {
    if (options.export) {
      process.stdout.write(manifestsYaml(manifestsFor(options.namespace, options.image)));
      return;
    }
    const log: Log = (line) => process.stderr.write(`${line}\n`);
    try {
      const timeoutMs = parseDuration(options.timeout, '--timeout');
      const client = await loadClient(options);
      try {
        await install(client, { timeoutMs, log, namespace: options.namespace, image: options.image });
      } finally {
        await client.close();
      }
      log('✔ install finished');
    } catch (error) {
      log(`✗ ${errorMessage(error)}`);
      process.exitCode = 1;
    }
  });
}
