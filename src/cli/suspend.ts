// `sluice suspend` and `sluice resume` for Kustomizations and GitRepositories, with Flux's messages: a merge
// patch of spec.suspend, and on resume a watch until the controller has reconciled the new generation.
import { Command } from 'commander';
import { ContentType, type KubeClient, type KubeList } from '../kube/client.ts';
import { ObjectClient, type ObjectRef } from '../kube/objects.ts';
import { formatDuration, parseDuration } from '../api/duration.ts';
import {
  collectionPath,
  gitRepositoryKind,
  kustomizationKind,
  readyCondition,
  runWithClient,
  withClusterOptions,
  type ClusterOptions,
  type FluxKind,
  type FluxObject,
  type StatusLog,
} from './output.ts';

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

export type ReconcileOutcome =
  { state: 'waiting' } | { state: 'ready' } | { state: 'failed'; message: string };

/**
 * Whether the controller has finished reconciling the object's current generation (Flux's readiness rule for
 * `resume`: observedGeneration ≥ 1 and the Ready condition about this generation). Unlike flux, a Ready=False
 * result is final at once instead of after --timeout, except while dependencies are not ready yet.
 */
export function reconcileOutcome(object: FluxObject | undefined): ReconcileOutcome {
  if (object === undefined) return { state: 'failed', message: 'the object was deleted' };
  const generation = object.metadata.generation;
  const observedGeneration = object.status?.observedGeneration ?? -1;
  const conditions = object.status?.conditions ?? [];
  const aboutThisGeneration = (condition: { observedGeneration?: number }) =>
    condition.observedGeneration
      ? condition.observedGeneration === generation
      : observedGeneration === generation;
  const stalled = conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
  if (stalled && aboutThisGeneration(stalled)) return { state: 'failed', message: stalled.message ?? '' };
  const ready = readyCondition(object);
  if (!ready || !aboutThisGeneration(ready)) return { state: 'waiting' };
  if (ready.status === 'False' && ready.reason !== 'DependencyNotReady') {
    return { state: 'failed', message: ready.message ?? '' };
  }
  const reconciling = conditions.some((c) => c.type === 'Reconciling' && c.status === 'True');
  if (
    ready.status === 'True' &&
    observedGeneration >= 1 &&
    observedGeneration === generation &&
    !reconciling
  ) {
    return { state: 'ready' };
  }
  return { state: 'waiting' };
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
          const reason = error instanceof Error ? error.message : String(error);
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

/** Watches one resumed object until its reconcile succeeds, fails, or the timeout passes; reports the result. */
async function waitForReconcile(
  objects: ObjectClient,
  kind: FluxKind,
  ref: ObjectRef,
  timeoutMs: number,
  log: StatusLog,
): Promise<boolean> {
  let last: FluxObject | undefined;
  let outcome: ReconcileOutcome = { state: 'waiting' };
  try {
    await objects.waitFor<FluxObject>(
      ref,
      (object) => {
        last = object;
        outcome = reconcileOutcome(object);
        return outcome.state !== 'waiting';
      },
      AbortSignal.timeout(timeoutMs),
    );
  } catch (error) {
    if (!(error instanceof Error && error.name === 'TimeoutError')) throw error;
    const lastMessage = last ? readyCondition(last)?.message : undefined;
    log.failure(
      `${kind.api.kind} ${ref.name} reconciliation not completed after ${formatDuration(timeoutMs)}` +
        (lastMessage ? `: ${lastMessage}` : ''),
    );
    return false;
  }
  const result = outcome as ReconcileOutcome;
  if (result.state === 'failed') {
    log.failure(`${kind.api.kind} ${ref.name} reconciliation failed: ${result.message}`);
    return false;
  }
  log.success(`${kind.api.kind} ${ref.name} reconciliation completed`);
  log.success(`${kind.revisionVerb} revision ${(last && kind.revisionOf(last)) ?? ''}`);
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
      const resumed: ObjectRef[] = [];
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
        await objects.patch(ref, patch, ContentType.mergePatch);
        log.success(`${kind.humanKind} resumed`);
        resumed.push(ref);
      }
      if (options.wait ?? names.length === 1) {
        resumed.forEach(() => log.waiting(`waiting for ${kind.api.kind} reconciliation`));
        const results = await Promise.all(
          resumed.map((ref) => waitForReconcile(objects, kind, ref, timeoutMs, log)),
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
