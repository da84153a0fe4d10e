// Taking sluice off a cluster, in Flux's order: the controller (its Deployment, RBAC and ServiceAccount; the
// Deployment is waited for, so no controller puts a finalizer back), the finalizers of every Kustomization and
// GitRepository (so deleting the CRDs cannot hang, and what they applied stays on the cluster), the CRDs (which
// deletes those objects), and the namespace unless asked to keep it. Only what carries sluice's managed-by label is
// deleted: on a cluster where Flux installed the CRDs or flux-system, those are Flux's, and are kept and named.
import { allCrds } from '../api/crds.ts';
import { GitRepositoryApi } from '../api/gitrepository.ts';
import { OCIRepositoryApi } from '../api/ocirepository.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { collectionPath, type ApiType } from '../api/meta.ts';
import { ContentType, type KubeClient, type KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { describeRef, ObjectClient, type ObjectRef } from '../kube/objects.ts';
import type { StatusLog } from '../runtime/logger.ts';
import { errorMessage } from '../errors.ts';
import { componentRefs, controllerName } from './manifests.ts';

export interface UninstallOptions {
  namespace: string;
  keepNamespace: boolean;
  dryRun: boolean;
  /** How long to wait for the controller's pods to be gone. */
  timeoutMs: number;
}

/** Runs every step, even after a failure; false if any failed. */
export async function uninstall(
  client: KubeClient,
  log: StatusLog,
  options: UninstallOptions,
): Promise<boolean> {
  const objects = new ObjectClient(client);
  const suffix = options.dryRun ? ' (dry run)' : '';
  const dryRun = options.dryRun ? { dryRun: ['All'] } : {};
  let ok = true;
  const fail = (message: string) => {
    log.failure(message);
    ok = false;
  };

  /**
   * Deletes an object if it exists and is sluice's; a missing object is not an error and prints nothing, one of
   * another tool is kept and named.
   */
  const remove = async (ref: ObjectRef, propagationPolicy: 'Background' | 'Foreground') => {
    const subject = describeRef(ref);
    try {
      const live = await objects.get(ref);
      if (!live) return false;
      const managedBy = live.metadata?.labels?.[managedByLabel];
      if (managedBy !== 'sluice') {
        log.success(`${subject} kept: it is not sluice's (${managedByLabel}: ${managedBy ?? 'none'})`);
        return false;
      }
      const path = await objects.path(ref);
      await client.delete(path, { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy, ...dryRun });
      log.success(`${subject} deleted${suffix}`);
      return true;
    } catch (error) {
      if (!isNotFound(error)) fail(`${subject} deletion failed: ${errorMessage(error)}`);
      return false;
    }
  };

  log.action(`deleting components in ${options.namespace} namespace`);
  for (const ref of componentRefs(options.namespace)) {
    const isController = ref.kind === 'Deployment';
    // Foreground: the Deployment is gone only once its pods are, so the controller has stopped by then.
    const deleted = await remove(ref, isController ? 'Foreground' : 'Background');
    if (isController && deleted && !options.dryRun) {
      log.waiting(`waiting for ${controllerName} to stop`);
      const deadline = AbortSignal.timeout(options.timeoutMs);
      try {
        await objects.waitUntilGone(ref, deadline);
        log.success(`${controllerName} stopped`);
      } catch (error) {
        const why = deadline.aborted ? `still there after ${options.timeoutMs / 1000}s` : errorMessage(error);
        fail(`${controllerName} did not stop: ${why}`);
      }
    }
  }

  const crdRefs = allCrds().map((crd) => ({
    apiVersion: crd.apiVersion,
    kind: crd.kind,
    name: crd.metadata.name,
  }));
  log.action('deleting toolkit.fluxcd.io finalizers in all namespaces');
  // Another tool's CRDs stay, and so do their objects: their finalizers are that tool's to handle.
  if ((await crdOwner(objects, crdRefs)) === 'another tool') {
    log.success(
      "finalizers kept: the toolkit.fluxcd.io CRDs are not sluice's, so their objects stay with their controllers",
    );
  } else {
    for await (const removal of removeFinalizers(client, { dryRun: options.dryRun })) {
      if ('failure' in removal) fail(removal.failure);
      else log.success(`${removal.subject} finalizers deleted${suffix}`);
    }
  }

  log.action('deleting toolkit.fluxcd.io custom resource definitions');
  for (const ref of crdRefs) await remove(ref, 'Background');

  if (!options.keepNamespace) {
    await remove({ apiVersion: 'v1', kind: 'Namespace', name: options.namespace }, 'Background');
  }
  return ok;
}

const managedByLabel = 'app.kubernetes.io/managed-by';

/** Who installed the CRDs: sluice when any of them carries its label, else another tool if any exists. */
async function crdOwner(
  objects: ObjectClient,
  refs: ObjectRef[],
): Promise<'sluice' | 'another tool' | 'none'> {
  let found = false;
  for (const ref of refs) {
    const live = await objects.get(ref).catch(() => undefined);
    if (live?.metadata?.labels?.[managedByLabel] === 'sluice') return 'sluice';
    found ||= live !== undefined;
  }
  return found ? 'another tool' : 'none';
}

/** One object's finalizers taken off (`subject`: Kind/namespace/name), or what failed. */
export type FinalizerRemoval = { subject: string } | { failure: string };

/**
 * Takes sluice's and any other finalizers off every GitRepository, OCIRepository and Kustomization, in `namespace` or in all,
 * so that deleting them (or their namespace, or their CRDs) cannot hang on a controller that is gone; what they
 * applied stays. An object already gone is skipped; every other failure is reported and the rest still run.
 */
export async function* removeFinalizers(
  client: KubeClient,
  options: { namespace?: string; dryRun?: boolean },
): AsyncGenerator<FinalizerRemoval> {
  for (const api of [GitRepositoryApi, OCIRepositoryApi, KustomizationApi]) {
    let items: KubeObject[];
    try {
      items = await listAll(client, api, options.namespace);
    } catch (error) {
      yield { failure: `listing ${api.kind} objects failed: ${errorMessage(error)}` };
      continue;
    }
    for (const item of items) {
      const finalizers = (item.metadata?.['finalizers'] as string[] | undefined) ?? [];
      if (finalizers.length === 0) continue;
      const subject = `${api.kind}/${item.metadata?.namespace}/${item.metadata?.name}`;
      try {
        await client.patch(
          `${collectionPath(api, item.metadata?.namespace)}/${item.metadata?.name}`,
          { metadata: { finalizers: null } },
          ContentType.mergePatch,
          options.dryRun ? { dryRun: 'All' } : undefined,
        );
        yield { subject };
      } catch (error) {
        if (!isNotFound(error))
          yield { failure: `${subject} removing finalizers failed: ${errorMessage(error)}` };
      }
    }
  }
}

/** Every object of a kind, in `namespace` or in all; none when its CRD is not installed. */
async function listAll(client: KubeClient, api: ApiType, namespace?: string): Promise<KubeObject[]> {
  try {
    return (await client.list(collectionPath(api, namespace))).items;
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}
