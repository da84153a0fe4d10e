// `sluice reconcile`: asks the controllers to reconcile an object now, as `flux reconcile` does (a new
// reconcile.fluxcd.io/requestedAt value), then waits on a watch until the pass that handled the request ends.
// Status lines go to stderr in Flux's style.
import { Command } from 'commander';
import { parseDuration, formatDuration } from '../api/duration.ts';
import { GitRepositoryApi } from '../api/gitrepository.ts';
import type { CrossNamespaceSourceReference } from '../api/kustomization.ts';
import { Annotation, type ReconcileRequestStatus } from '../api/meta.ts';
import { waitForRequest, type RequestOutcome } from '../kstatus/request.ts';
import { ContentType } from '../kube/client.ts';
import { ObjectClient, type ObjectRef } from '../kube/objects.ts';
import { withClusterOptions, type ClusterOptions } from './flags.ts';
import { gitRepositoryKind, kustomizationKind, type FluxKind, type FluxObject } from './kinds.ts';
import { runWithClient } from './status-log.ts';
import type { StatusLog } from '../runtime/logger.ts';

/** The fields of a GitRepository or Kustomization that a reconcile request reads. */
type Reconcilable = FluxObject & {
  spec?: { sourceRef?: CrossNamespaceSourceReference };
  status?: ReconcileRequestStatus;
};

const conditionOf = (object: Reconcilable | undefined, type: string) =>
  object?.status?.conditions?.find((condition) => condition.type === type);

/** Go's time.RFC3339Nano in UTC: the fraction without trailing zeros, and no fraction when it is zero. */
export function rfc3339Nano(epochNs: bigint): string {
  const seconds = new Date(Number(epochNs / 1_000_000n)).toISOString().slice(0, 19);
  const fraction = (epochNs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return fraction ? `${seconds}.${fraction}Z` : `${seconds}Z`;
}

/** Now, to the microsecond, so that two requests in a row get different values. */
const nowNs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;

/** Shows the Reconciling messages of the passes in progress. */
interface Progress {
  update(message: string): void;
  stop(): void;
}

/** Each new message printed once: the form for logs and CI. */
function lineProgress(log: StatusLog): Progress {
  const printed = new Set<string>();
  return {
    update(message) {
      if (printed.has(message)) return;
      printed.add(message);
      log.waiting(message);
    },
    stop() {},
  };
}

const spinnerFrames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';

/** One line redrawn in place: a spinner and the latest message, cut to the terminal's width. */
function spinnerProgress(stream: NodeJS.WriteStream): Progress {
  let frame = 0;
  let text = '';
  const draw = () => {
    const line = `${spinnerFrames[frame++ % spinnerFrames.length]} ${text}`;
    stream.write(`\r\x1b[2K${line.slice(0, Math.max(stream.columns - 1, 10))}`);
  };
  const timer = setInterval(draw, 100);
  draw();
  return {
    update(message) {
      text = message;
      draw();
    },
    stop() {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}

/** Skips `stale`, the message an earlier pass left, until another message shows that a pass is running. */
function skippingStale(progress: Progress, stale: string | undefined): Progress {
  let skipped = stale;
  return {
    update(message) {
      if (message === skipped) return;
      skipped = undefined;
      progress.update(message);
    },
    stop: () => progress.stop(),
  };
}

export interface Context {
  objects: ObjectClient;
  timeoutMs: number;
  log: StatusLog;
  progress: () => Progress;
}

export function refOf(kind: FluxKind, namespace: string, name: string): ObjectRef {
  return { apiVersion: kind.api.apiVersion, kind: kind.api.kind, namespace, name };
}

/** The object, which must exist and not be suspended (a request would not bypass suspend). */
export async function getReconcilable(ctx: Context, ref: ObjectRef): Promise<Reconcilable> {
  const object = await ctx.objects.get<Reconcilable>(ref);
  if (!object) throw new Error(`${ref.kind} ${ref.name} not found in ${ref.namespace} namespace`);
  if (object.spec?.suspend) throw new Error('resource is suspended');
  return object;
}

/**
 * Annotates the object with a new request (and `annotations`, given the request's value) and waits until a pass
 * handled it; throws when that pass failed, else returns the object as that pass left it.
 */
export async function requestAndWait(
  ctx: Context,
  kind: FluxKind,
  object: Reconcilable,
  annotations: (requestedAt: string) => Record<string, string | null> = () => ({}),
): Promise<Reconcilable | undefined> {
  const ref = refOf(kind, object.metadata.namespace, object.metadata.name);
  const previous = object.status?.lastHandledReconcileAt;
  let requestedAt = rfc3339Nano(nowNs());
  while (requestedAt === previous) requestedAt = rfc3339Nano(nowNs());

  ctx.log.action(`annotating ${ref.kind} ${ref.name} in ${ref.namespace} namespace`);
  await ctx.objects.patch(
    ref,
    {
      metadata: {
        annotations: { ...annotations(requestedAt), [Annotation.reconcileRequestedAt]: requestedAt },
      },
    },
    ContentType.mergePatch,
  );
  ctx.log.success(`${ref.kind} annotated`);
  ctx.log.waiting(`waiting for ${ref.kind} reconciliation`);

  const stale = conditionOf(object, 'Reconciling');
  const progress = skippingStale(ctx.progress(), stale?.status === 'True' ? stale.message : undefined);
  const signal = AbortSignal.timeout(ctx.timeoutMs);
  const dependency = dependencyFollower(ctx, progress, signal);
  let waitingFor: string | undefined;
  let outcome: RequestOutcome<Reconcilable>;
  try {
    outcome = await waitForRequest<Reconcilable>(
      ctx.objects,
      ref,
      { requestedAt },
      {
        signal,
        onProgress: (message) => {
          waitingFor = message;
          progress.update(message);
          dependency.follow(message, ref.namespace ?? '');
        },
      },
    );
  } catch (error) {
    if (!signal.aborted) throw error;
    // Say what it was waiting for: the last step, and the state of the dependency it waited on.
    const why = [waitingFor, dependency.state()].filter(Boolean).join('; ');
    const message = `timed out waiting for ${ref.kind} reconciliation after ${formatDuration(ctx.timeoutMs)}${why ? `: ${why}` : ''}`;
    throw new Error(message, { cause: error });
  } finally {
    dependency.stop();
    progress.stop();
  }
  if (outcome.state === 'deleted') throw new Error(`${ref.kind} ${ref.name} was deleted while waiting`);
  if (outcome.state === 'failed') throw new Error(`${ref.kind} reconciliation failed: ${outcome.message}`);
  if (outcome.state === 'succeeded') {
    ctx.log.success(`${kind.revisionVerb} revision ${kind.revisionOf(outcome.object) ?? ''}`);
  }
  return outcome.state === 'succeeded' ? outcome.object : undefined;
}

/**
 * While a Kustomization waits on a dependency ("dependency 'ns/name' is not ready"), follows that dependency's
 * Ready condition on a watch and shows each change, so the wait says what it is waiting for.
 */
function dependencyFollower(ctx: Context, progress: Progress, signal: AbortSignal) {
  let followed: string | undefined;
  let current: AbortController | undefined;
  let last: string | undefined;
  return {
    follow(message: string, namespace: string) {
      const match = /^dependency '(?:([^/']+)\/)?([^']+)'/.exec(message);
      const id = match ? `${match[1] ?? namespace}/${match[2]}` : undefined;
      if (!id || id === followed) return;
      current?.abort();
      followed = id;
      last = undefined;
      current = new AbortController();
      const [depNamespace = '', name = ''] = id.split('/');
      const ref = refOf(kustomizationKind, depNamespace, name);
      const watchSignal = AbortSignal.any([signal, current.signal]);
      void (async () => {
        for await (const dep of ctx.objects.states<Reconcilable>(ref, watchSignal)) {
          const ready = conditionOf(dep, 'Ready');
          last = dep
            ? `dependency ${id} is Ready=${ready?.status ?? 'Unknown'}${ready?.reason ? ` (${ready.reason})` : ''}${ready?.message ? `: ${ready.message}` : ''}`
            : `dependency ${id} does not exist`;
          progress.update(last);
        }
      })().catch(() => undefined); // a watch that fails only means less is shown
    },
    state: () => last,
    stop: () => current?.abort(),
  };
}

async function reconcileKustomization(ctx: Context, namespace: string, name: string, withSource: boolean) {
  const ks = await getReconcilable(ctx, refOf(kustomizationKind, namespace, name));
  if (withSource) {
    const sourceRef = ks.spec?.sourceRef;
    if (sourceRef?.kind !== GitRepositoryApi.kind) {
      throw new Error(
        `cannot reconcile source of kind ${sourceRef?.kind ?? '(none)'}: sluice supports GitRepository sources only`,
      );
    }
    const sourceNamespace = sourceRef.namespace || namespace;
    const source = await getReconcilable(ctx, refOf(gitRepositoryKind, sourceNamespace, sourceRef.name));
    await requestAndWait(ctx, gitRepositoryKind, source);
  }
  await requestAndWait(ctx, kustomizationKind, ks);
}

async function reconcileGitRepository(ctx: Context, namespace: string, name: string) {
  const repo = await getReconcilable(ctx, refOf(gitRepositoryKind, namespace, name));
  await requestAndWait(ctx, gitRepositoryKind, repo);
}

export interface ReconcileFlags extends ClusterOptions {
  timeout: string;
  withSource?: boolean;
}

/** Runs `work` with a client; a failure becomes a `✗` line and exit code 1. */
export function run(flags: ReconcileFlags, work: (ctx: Context) => Promise<void>): Promise<void> {
  return runWithClient(flags, (client, log) =>
    work({
      objects: new ObjectClient(client),
      timeoutMs: parseDuration(flags.timeout, '--timeout'),
      log,
      progress: () => (process.stderr.isTTY ? spinnerProgress(process.stderr) : lineProgress(log)),
    }),
  );
}

export function withReconcileOptions(command: Command): Command {
  return withClusterOptions(command).option(
    '--timeout <duration>',
    'how long to wait for the reconciliation',
    '5m',
  );
}

export function reconcileCommand(): Command {
  const kustomization = withReconcileOptions(
    new Command('kustomization')
      .alias('ks')
      .description('reconcile a Kustomization now and wait until it is applied')
      .argument('<name>', 'the Kustomization')
      .option('--with-source', 'reconcile its GitRepository first'),
  ).action((name: string, flags: ReconcileFlags) =>
    run(flags, (ctx) => reconcileKustomization(ctx, flags.namespace, name, flags.withSource ?? false)),
  );
  const git = withReconcileOptions(
    new Command('git')
      .description('reconcile a GitRepository now and wait until its artifact is stored')
      .argument('<name>', 'the GitRepository'),
  ).action((name: string, flags: ReconcileFlags) =>
    run(flags, (ctx) => reconcileGitRepository(ctx, flags.namespace, name)),
  );
  return new Command('reconcile')
    .description('ask the controllers to reconcile an object now, and wait for the outcome')
    .addCommand(kustomization)
    .addCommand(new Command('source').description('reconcile a source now').addCommand(git));
}
