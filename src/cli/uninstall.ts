// `sluice uninstall`: Flux's `flux uninstall` for sluice. In Flux's order: the controller (its Deployment, RBAC
// and ServiceAccount; the Deployment is waited for, so no controller puts a finalizer back), the finalizers of
// every Kustomization and GitRepository (so deleting the CRDs cannot hang, and what they applied stays on the
// cluster), the CRDs (which deletes those objects), and the namespace unless --keep-namespace.
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { allCrds } from '../api/crds.ts';
import { parseDuration } from '../api/duration.ts';
import { GitRepositoryApi } from '../api/gitrepository.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { collectionPath, type ApiType } from '../api/meta.ts';
import { ContentType, type KubeClient, type KubeList, type KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { describeRef, ObjectClient, type ObjectRef } from '../kube/objects.ts';
import { componentRefs, controllerName } from '../install/manifests.ts';
import {
  ReportedFailure,
  runWithClient,
  statusLog,
  withClusterOptions,
  type ClusterOptions,
  type StatusLog,
} from './output.ts';

export const confirmationPrompt =
  'Are you sure you want to delete sluice and its custom resource definitions';

/** y or yes, in any case; anything else (an empty line included) declines. */
export function confirmed(answer: string): boolean {
  return /^(y|yes)$/i.test(answer.trim());
}

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

  /** Deletes an object if it exists; a missing object is not an error and prints nothing. */
  const remove = async (ref: ObjectRef, propagationPolicy: 'Background' | 'Foreground') => {
    const subject = describeRef(ref);
    try {
      const path = await objects.path(ref);
      await client.delete(path, { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy, ...dryRun });
      log.success(`${subject} deleted${suffix}`);
      return true;
    } catch (error) {
      if (!isNotFound(error)) fail(`${subject} deletion failed: ${messageOf(error)}`);
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
        const why = deadline.aborted ? `still there after ${options.timeoutMs / 1000}s` : messageOf(error);
        fail(`${controllerName} did not stop: ${why}`);
      }
    }
  }

  log.action('deleting toolkit.fluxcd.io finalizers in all namespaces');
  for (const api of [GitRepositoryApi, KustomizationApi]) {
    let items: KubeObject[];
    try {
      items = await listAll(client, api);
    } catch (error) {
      fail(`listing ${api.kind} objects failed: ${messageOf(error)}`);
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
        log.success(`${subject} finalizers deleted${suffix}`);
      } catch (error) {
        if (!isNotFound(error)) fail(`${subject} removing finalizers failed: ${messageOf(error)}`);
      }
    }
  }

  log.action('deleting toolkit.fluxcd.io custom resource definitions');
  for (const crd of allCrds()) {
    await remove({ apiVersion: crd.apiVersion, kind: crd.kind, name: crd.metadata.name }, 'Background');
  }

  if (!options.keepNamespace) {
    await remove({ apiVersion: 'v1', kind: 'Namespace', name: options.namespace }, 'Background');
  }
  return ok;
}

/** Every object of a kind in all namespaces; none when its CRD is not installed. */
async function listAll(client: KubeClient, api: ApiType): Promise<KubeObject[]> {
  const items: KubeObject[] = [];
  let continueToken: string | undefined;
  do {
    let page: KubeList;
    try {
      page = await client.get<KubeList>(collectionPath(api, undefined), {
        limit: 500,
        continue: continueToken,
      });
    } catch (error) {
      if (isNotFound(error)) return items;
      throw error;
    }
    items.push(...page.items);
    continueToken = page.metadata.continue || undefined;
  } while (continueToken);
  return items;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function ask(question: string): Promise<boolean> {
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return confirmed(await readline.question(`${question}? [y/N] `));
  } finally {
    readline.close();
  }
}

interface UninstallCommandOptions extends ClusterOptions {
  keepNamespace?: boolean;
  dryRun?: boolean;
  silent?: boolean;
  timeout: string;
}

export function uninstallCommand(): Command {
  return withClusterOptions(
    new Command('uninstall')
      .description(
        'remove sluice: its controller, RBAC, CRDs and namespace (what the Kustomizations applied stays)',
      )
      .option('--keep-namespace', 'do not delete the namespace')
      .option('--dry-run', 'only print the objects that would be deleted')
      .option('-s, --silent', 'delete without asking for confirmation')
      .option('--timeout <duration>', 'how long to wait for the controller to stop', '5m'),
  ).action(async (options: UninstallCommandOptions) => {
    const dryRun = options.dryRun ?? false;
    const status = statusLog();
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(options.timeout, '--timeout');
    } catch (error) {
      status.failure(messageOf(error));
      process.exitCode = 1;
      return;
    }
    if (!dryRun && !options.silent && !process.stdin.isTTY) {
      status.failure(
        'refusing to uninstall without confirmation: stdin is not a terminal; pass --silent (-s) to confirm',
      );
      process.exitCode = 1;
      return;
    }
    await runWithClient(options, async (client, log) => {
      // Asked once the cluster configuration has loaded, as flux does: a bad kubeconfig fails before the question.
      if (!dryRun && !options.silent && !(await ask(confirmationPrompt))) throw new Error('aborting');
      const ok = await uninstall(client, log, {
        namespace: options.namespace,
        keepNamespace: options.keepNamespace ?? false,
        dryRun,
        timeoutMs,
      });
      if (!ok) {
        log.failure('uninstall finished with errors');
        throw new ReportedFailure();
      }
      log.success(`uninstall finished${dryRun ? ' (dry run)' : ''}`);
    });
  });
}
