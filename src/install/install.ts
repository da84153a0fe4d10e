// Putting sluice on a cluster: its CRDs, namespace, RBAC and controller Deployment applied with the staged apply
// the controller itself uses, then waited for until the controller is available. `sluice install` and the
// development harness (which needs only the CRDs) use this.
import { allCrds } from '../api/crds.ts';
import { FieldManager } from '../api/meta.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { ObjectClient, refOf } from '../kube/objects.ts';
import { ResourceManager } from '../ssa/manager.ts';
import { waitForHealth } from '../ssa/wait.ts';
import { sluiceVersion } from '../version.ts';
import { controllerName, defaultImage, installManifests, type InstallManifestOptions } from './manifests.ts';

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
    fieldManager: FieldManager.install,
    force: false,
    readyTimeoutMs: options.timeoutMs,
    signal: AbortSignal.timeout(options.timeoutMs + 5_000),
  });
  for (const change of changes) options.log(`${change.subject} ${change.action}`);
  return changes;
}
