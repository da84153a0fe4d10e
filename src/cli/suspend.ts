// `sluice suspend` and `sluice resume` for Kustomizations and GitRepositories, with Flux's messages: a merge
// patch of spec.suspend, and on resume a watch until the controller has reconciled the new generation.
import { Command } from 'commander';
import { collectionPath } from '../api/meta.ts';
import { ContentType, type KubeClient, type KubeList } from '../kube/client.ts';
import { ObjectClient, type ObjectRef } from '../kube/objects.ts';
import { formatDuration, parseDuration } from '../api/duration.ts';
import { waitForRequest, type RequestOutcome } from '../kstatus/request.ts';
import { withClusterOptions, type ClusterOptions } from './flags.ts';
import { gitRepositoryKind, kustomizationKind, type FluxKind, type FluxObject } from './kinds.ts';
import { runWithClient } from './status-log.ts';
import type { StatusLog } from '../runtime/logger.ts';
import { errorMessage } from '../errors.ts';

/** Flux's annotation recording why an object was suspended (`flux suspend --reason`). */
export const suspendReasonAnnotation = 'suspend.toolkit.fluxcd.io/reason';

interface SuspendOptions extends ClusterOptions {
  all?: boolean;
  reason?: string;
}

interface ResumeOptions extends ClusterOptions {
  all?: boolean;
  wait?: boolean;
  timeout: string;
}

const refOf = (kind: FluxKind, namespace: string, name: string): ObjectRef => ({
  apiVersion: kind.api.apiVersion,
  kind: kind.api.kind,
  namespace,
  name,
});

/** One object to patch, or (`object` undefined) a name that matched nothing. */
interface Target {
  name: string;
  object?: FluxObject;
}

/** The objects to patch, in the order given: every one in the namespace with --all, else each name once. */
async function targets(
  client: KubeClient,
  kind: FluxKind,
  names: string[],
  options: ClusterOptions & { all?: boolean },
): Promise<Target[]> {
  const path = collectionPath(kind.api, options.namespace);
  if (names.length === 0) {
    if (!options.all) throw new Error(`${kind.humanKind} name is required`);
    const list = await client.get<KubeList<FluxObject>>(path);
    if (list.items.length === 0) {
      throw new Error(`no ${kind.api.kind} objects found in ${options.namespace} namespace`);
    }
    return list.items.map((object) => ({ name: object.metadata.name, object }));
  }
  const found: Target[] = [];
  for (const name of new Set(names)) {
    const list = await client.get<KubeList<FluxObject>>(path, { fieldSelector: `metadata.name=${name}` });
    found.push({ name, object: list.items[0] });
  }
  return found;
}

const notFound = (kind: FluxKind, name: string, namespace: string) =>
  `${kind.api.kind} ${name} not found in ${namespace} namespace`;

function suspendKindCommand(kind: FluxKind, name: string, aliases: string[]): Command {
  const command = new Command(name)
    .aliases(aliases)
    .description(`suspend the reconciliation of ${kind.api.kind} objects`)
    .argument('[names...]', `the ${kind.api.kind} objects to suspend`)
    .option('--all', 'suspend every object of this kind in the namespace')
    .option('-r, --reason <reason>', `why, recorded in the ${suspendReasonAnnotation} annotation`);
  return withClusterOptions(command).action(async (names: string[], options: SuspendOptions) => {
    await runWithClient(options, async (client, log) => {
      const objects = new ObjectClient(client);
      let failed = false;
      for (const { name: objectName, object } of await targets(client, kind, names, options)) {
        if (!object) {
          log.failure(notFound(kind, objectName, options.namespace));
          failed = true;
          continue;
        }
        log.action(`suspending ${kind.humanKind} ${objectName} in ${options.namespace} namespace`);
        const patch = {
          spec: { suspend: true },
          ...(options.reason
            ? { metadata: { annotations: { [suspendReasonAnnotation]: options.reason } } }
            : {}),
        };
        try {
          await objects.patch(refOf(kind, options.namespace, objectName), patch, ContentType.mergePatch);
          log.success(`${kind.humanKind} suspended`);
        } catch (error) {
          const reason = errorMessage(error);
          log.failure(
            `failed suspending ${kind.api.kind} ${objectName} in ${options.namespace} namespace: ${reason}`,
          );
          failed = true;
        }
      }
      if (failed) process.exitCode = 1;
    });
  });
}

/**
 * Watches one resumed object until the controller has reconciled its new generation, or the timeout passes;
 * reports the result.
 */
async function waitForReconcile(
  objects: ObjectClient,
  kind: FluxKind,
  resumed: FluxObject,
  timeoutMs: number,
  log: StatusLog,
): Promise<boolean> {
  const ref = refOf(kind, resumed.metadata.namespace, resumed.metadata.name);
  let last: string | undefined;
  let outcome: RequestOutcome<FluxObject>;
  try {
    outcome = await waitForRequest<FluxObject>(
      objects,
      ref,
      { generation: resumed.metadata.generation ?? 0 },
      { signal: AbortSignal.timeout(timeoutMs), onProgress: (message) => (last = message) },
    );
  } catch (error) {
    if (!(error instanceof Error && error.name === 'TimeoutError')) throw error;
    log.failure(
      `${kind.api.kind} ${ref.name} reconciliation not completed after ${formatDuration(timeoutMs)}` +
        (last ? `: ${last}` : ''),
    );
    return false;
  }
  if (outcome.state !== 'succeeded') {
    const message = outcome.state === 'failed' ? outcome.message : 'the object was deleted';
    log.failure(`${kind.api.kind} ${ref.name} reconciliation failed: ${message}`);
    return false;
  }
  log.success(`${kind.api.kind} ${ref.name} reconciliation completed`);
  log.success(`${kind.revisionVerb} revision ${kind.revisionOf(outcome.object) ?? ''}`);
  return true;
}

function resumeKindCommand(kind: FluxKind, name: string, aliases: string[]): Command {
  const command = new Command(name)
    .aliases(aliases)
    .description(`resume the reconciliation of suspended ${kind.api.kind} objects`)
    .argument('[names...]', `the ${kind.api.kind} objects to resume`)
    .option('--all', 'resume every object of this kind in the namespace')
    .option('--wait', 'wait for the objects to reconcile (the default with exactly one name)')
    .option('--no-wait', 'do not wait for the objects to reconcile')
    .option('--timeout <duration>', 'how long to wait for the reconciliation', '5m');
  return withClusterOptions(command).action(async (names: string[], options: ResumeOptions) => {
    await runWithClient(options, async (client, log) => {
      const timeoutMs = parseDuration(options.timeout, '--timeout');
      const objects = new ObjectClient(client);
      const resumed: FluxObject[] = [];
      let failed = false;
      for (const { name: objectName, object } of await targets(client, kind, names, options)) {
        if (!object) {
          log.failure(notFound(kind, objectName, options.namespace));
          failed = true;
          continue;
        }
        const ref = refOf(kind, options.namespace, object.metadata.name);
        log.action(`resuming ${kind.humanKind} ${ref.name} in ${options.namespace} namespace`);
        const hasReason = object.metadata.annotations?.[suspendReasonAnnotation] !== undefined;
        const patch = {
          spec: { suspend: false },
          ...(hasReason ? { metadata: { annotations: { [suspendReasonAnnotation]: null } } } : {}),
        };
        resumed.push(await objects.patch<FluxObject>(ref, patch, ContentType.mergePatch));
        log.success(`${kind.humanKind} resumed`);
      }
      if (options.wait ?? names.length === 1) {
        resumed.forEach(() => log.waiting(`waiting for ${kind.api.kind} reconciliation`));
        const results = await Promise.all(
          resumed.map((object) => waitForReconcile(objects, kind, object, timeoutMs, log)),
        );
        if (results.includes(false)) failed = true;
      }
      if (failed) process.exitCode = 1;
    });
  });
}

/** `suspend` or `resume`, with the kinds under Flux's names: `ks`/`kustomization` and `source git`. */
function verbCommand(
  verb: 'suspend' | 'resume',
  description: string,
  kindCommand: (kind: FluxKind, name: string, aliases: string[]) => Command,
): Command {
  return new Command(verb)
    .description(description)
    .addCommand(kindCommand(kustomizationKind, 'kustomization', ['ks', 'kustomizations']))
    .addCommand(kindCommand(gitRepositoryKind, 'gitrepository', ['gitrepo', 'gitrepositories']))
    .addCommand(
      new Command('source')
        .alias('sources')
        .description(`${verb} sources`)
        .addCommand(kindCommand(gitRepositoryKind, 'git', [])),
    );
}

export function suspendCommand(): Command {
  return verbCommand('suspend', 'suspend the reconciliation of resources', suspendKindCommand);
}

export function resumeCommand(): Command {
  return verbCommand('resume', 'resume suspended resources', resumeKindCommand);
}
