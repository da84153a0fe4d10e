// `sluice install`: puts sluice on a cluster (its CRDs, namespace, RBAC and controller Deployment) and waits
// until the controller is available, or prints the manifests with --export. Status lines go to stderr in
// Flux's style, manifests to stdout.
import { Command, InvalidArgumentError } from 'commander';
import { allCrds } from '../api/crds.ts';
import { parseDuration } from '../api/duration.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { ObjectClient, refOf } from '../kube/objects.ts';
import { ResourceManager } from '../ssa/manager.ts';
import { waitForHealth } from '../ssa/wait.ts';
import {
  controllerName,
  defaultImage,
  installManifests,
  manifestsYaml,
  type InstallManifestOptions,
} from '../install/manifests.ts';
import { sluiceVersion } from '../version.ts';
import { loadClient, withClusterOptions, type ClusterOptions } from './output.ts';

/** The server-side apply field manager of everything `sluice install` writes. */
export const installFieldManager = 'sluice';

export type Log = (line: string) => void;

export interface InstallOptions {
  /** How long to wait for what was applied to become usable, in milliseconds. */
  timeoutMs: number;
  log: Log;
}

export interface ComponentInstallOptions extends InstallOptions {
  namespace: string;
  /** Default: `sluice-controller:<version>`. */
  image?: string;
}

/** The manifests for a namespace and image, at this CLI's version. */
export function manifestsFor(namespace: string, image?: string): KubeObject[] {
  const options: InstallManifestOptions = {
    namespace,
    image: image ?? defaultImage(sluiceVersion),
    version: sluiceVersion,
  };
  return installManifests(options);
}

/**
 * Applies everything with the staged apply (CRDs and the namespace first, each waited for, then the RBAC and
 * the Deployment), then waits until the controller Deployment is available.
 */
export async function install(client: KubeClient, options: ComponentInstallOptions): Promise<void> {
  const objects = manifestsFor(options.namespace, options.image);
  options.log(`► installing components in ${options.namespace} namespace`);
  await applyLogged(client, objects, options);
  for (const crd of allCrds()) options.log(`✔ CustomResourceDefinition/${crd.metadata.name} established`);

  options.log('◎ verifying installation');
  const deployment = objects.find((o) => o.kind === 'Deployment') as KubeObject;
  const outcome = await waitForHealth(new ObjectClient(client), [{ ref: refOf(deployment) }], {
    timeoutMs: options.timeoutMs,
    signal: AbortSignal.timeout(options.timeoutMs + 5_000),
  });
  if (!outcome.healthy) throw new Error(`${controllerName}: deployment not ready: ${outcome.message}`);
  options.log(`✔ ${controllerName}: deployment ready`);
}

/** Applies every CRD with server-side apply and waits until the API server serves each of them. */
export async function installCrds(client: KubeClient, options: InstallOptions): Promise<void> {
  options.log('► installing CRDs');
  const changes = await applyLogged(client, allCrds(), options);
  for (const change of changes) options.log(`✔ ${change.subject} established`);
}

// The same staged apply the controller uses: definitions (CRDs, the Namespace) are applied and waited for
// before the objects that need them.
async function applyLogged(client: KubeClient, objects: KubeObject[], options: InstallOptions) {
  const changes = await new ResourceManager(new ObjectClient(client)).applyAllStaged(objects, {
    fieldManager: installFieldManager,
    force: false,
    readyTimeoutMs: options.timeoutMs,
    signal: AbortSignal.timeout(options.timeoutMs + 5_000),
  });
  for (const change of changes) options.log(`${change.subject} ${change.action}`);
  return changes;
}

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
      log(`✗ ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  });
}
