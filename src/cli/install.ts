// `sluice install`: puts sluice's API on a cluster (later also its namespace, RBAC and controller), or prints the
// manifests with --export. Status lines go to stderr in Flux's style, manifests to stdout.
import { Command } from 'commander';
import { allCrds, crdsYaml, type CustomResourceDefinition } from '../api/crds.ts';
import { formatDuration, parseDuration } from '../api/duration.ts';
import type { Condition } from '../api/meta.ts';
import { ContentType, KubeClient, type KubeList } from '../kube/client.ts';
import { isGone, isNotFound } from '../kube/errors.ts';

/** The server-side apply field manager of everything `sluice install` writes. */
export const installFieldManager = 'sluice';

const crdCollectionPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

export type Log = (line: string) => void;

export interface InstallOptions {
  /** How long to wait for what was applied to become usable, in milliseconds. */
  timeoutMs: number;
  log: Log;
}

interface CrdState {
  metadata: { name: string; resourceVersion: string };
  status?: { conditions?: Condition[] };
}

/** Everything `sluice install` puts on the cluster, in order; each step applies and then waits. */
export async function install(client: KubeClient, options: InstallOptions): Promise<void> {
  await installCrds(client, options);
}

/** Applies every CRD with server-side apply and waits until the API server serves each of them. */
export async function installCrds(client: KubeClient, options: InstallOptions): Promise<void> {
  const crds = allCrds();
  options.log('► installing CRDs');
  for (const crd of crds) {
    const action = await applyCrd(client, crd);
    options.log(`CustomResourceDefinition/${crd.metadata.name} ${action}`);
  }
  options.log('◎ waiting for CRDs to be established');
  // One deadline for all: the server establishes them concurrently, so waiting in order costs nothing.
  const deadline = AbortSignal.timeout(options.timeoutMs);
  for (const crd of crds) {
    await waitForEstablished(client, crd.metadata.name, deadline, options.timeoutMs);
    options.log(`✔ CustomResourceDefinition/${crd.metadata.name} established`);
  }
}

/** Server-side applies one CRD (taking over fields other managers own) and says what changed. */
async function applyCrd(
  client: KubeClient,
  crd: CustomResourceDefinition,
): Promise<'created' | 'configured' | 'unchanged'> {
  const path = `${crdCollectionPath}/${crd.metadata.name}`;
  const before = await client.get<CrdState>(path).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  const after = await client.patch<CrdState>(path, crd, ContentType.apply, {
    fieldManager: installFieldManager,
    force: true,
  });
  if (!before) return 'created';
  return before.metadata.resourceVersion === after.metadata.resourceVersion ? 'unchanged' : 'configured';
}

/** Watches one CRD until its Established condition is True; fails at once if its names were refused. */
async function waitForEstablished(
  client: KubeClient,
  name: string,
  deadline: AbortSignal,
  timeoutMs: number,
): Promise<void> {
  const query = { fieldSelector: `metadata.name=${name}` };
  let last: CrdState | undefined;
  const established = (crd: CrdState | undefined): boolean => {
    const names = crd?.status?.conditions?.find((c) => c.type === 'NamesAccepted');
    if (names?.status === 'False') {
      throw new Error(
        `CustomResourceDefinition/${name} was not accepted: ${names.message}; ` +
          'another CRD already uses these names: remove it and run sluice install again',
      );
    }
    return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  };
  try {
    for (;;) {
      const list = await client.get<KubeList<CrdState>>(crdCollectionPath, query);
      last = list.items[0];
      if (established(last)) return;
      try {
        for await (const event of client.watch<CrdState>(
          crdCollectionPath,
          { ...query, resourceVersion: list.metadata.resourceVersion },
          deadline,
        )) {
          if (event.type === 'BOOKMARK') continue;
          last = event.type === 'DELETED' ? undefined : event.object;
          if (established(last)) return;
        }
      } catch (error) {
        if (!isGone(error)) throw error; // the resourceVersion expired: list again
      }
    }
  } catch (error) {
    if (!deadline.aborted) throw error;
    const conditions = last?.status?.conditions
      ?.map((c) => `${c.type}=${c.status} (${c.message})`)
      .join(', ');
    throw new Error(
      `timed out after ${formatDuration(timeoutMs)} waiting for CustomResourceDefinition/${name} to be ` +
        `established (${conditions || 'no conditions yet'}); check the kube-apiserver logs, or retry with a ` +
        'longer --timeout',
      { cause: error },
    );
  }
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
