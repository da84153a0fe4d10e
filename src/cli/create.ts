// `sluice create source git` and `sluice create kustomization`: Flux's create commands. With --export they
// print the manifest (to commit to git); otherwise they apply it and wait, on a watch, until it is Ready.
import { Command, InvalidArgumentError } from 'commander';
import YAML from 'yaml';
import { GitRepositoryApi } from '../api/gitrepository.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { formatDuration, parseDuration } from '../api/duration.ts';
import type { KubeObject } from '../kube/client.ts';
import { FieldManager } from '../api/meta.ts';
import { waitForRequest, type RequestOutcome } from '../kstatus/request.ts';
import { ObjectClient, refOf } from '../kube/objects.ts';
import { booleanOption, durationMs, withClusterOptions, type ClusterOptions } from './flags.ts';
import { type FluxObject } from './kinds.ts';
import { runWithClient, statusLog, ReportedFailure } from './status-log.ts';
import type { StatusLog } from '../runtime/logger.ts';

const duration = (value: string): string => formatDuration(durationMs(value));

function sourceReference(value: string): { kind: string; name: string; namespace?: string } {
  const match = /^(GitRepository)\/(?:([a-z0-9-]+)\/)?([a-z0-9.-]+)$/.exec(value);
  if (!match)
    throw new InvalidArgumentError(
      `expected GitRepository/<name> or GitRepository/<namespace>/<name>, got "${value}"`,
    );
  return { kind: match[1] ?? '', name: match[3] ?? '', ...(match[2] ? { namespace: match[2] } : {}) };
}

/** Prints the manifest as flux does (a "---" document), or applies it and waits until it is Ready. */
async function exportOrApply(
  object: KubeObject,
  options: ClusterOptions & { export?: boolean; timeout: string },
  what: string,
) {
  if (options.export) {
    process.stdout.write(`---\n${YAML.stringify(object, { sortMapEntries: false })}`);
    return;
  }
  await runWithClient(options, async (client, log) => {
    log.action(`applying ${what}`);
    const objects = new ObjectClient(client);
    const existed = await objects.get(refOf(object));
    const applied = await objects.apply<FluxObject>(object, { fieldManager: FieldManager.cli });
    log.success(`${what} ${existed ? 'updated' : 'created'}`);
    log.waiting(`waiting for ${what} reconciliation`);
    await waitReady(objects, applied, parseDuration(options.timeout, '--timeout'), log, what);
  });
}

/** Waits until the controller has reconciled the applied generation: Ready (success) or a failure (exit 1). */
async function waitReady(
  objects: ObjectClient,
  applied: FluxObject,
  timeoutMs: number,
  log: StatusLog,
  what: string,
): Promise<void> {
  let outcome: RequestOutcome<FluxObject>;
  try {
    outcome = await waitForRequest<FluxObject>(
      objects,
      refOf(applied),
      { generation: applied.metadata.generation ?? 0 },
      { signal: AbortSignal.timeout(timeoutMs) },
    );
  } catch {
    log.failure(`timed out waiting for ${what} reconciliation after ${formatDuration(timeoutMs)}`);
    throw new ReportedFailure();
  }
  if (outcome.state !== 'succeeded') {
    log.failure(
      `${what} reconciliation failed: ${outcome.state === 'failed' ? outcome.message : 'it was deleted'}`,
    );
    throw new ReportedFailure();
  }
  log.success(`${what} reconciliation completed`);
  const status = outcome.object.status;
  const revision = status?.artifact?.revision ?? status?.lastAppliedRevision;
  if (revision) log.success(`${status?.artifact ? 'fetched' : 'applied'} revision: ${revision}`);
}

interface SourceGitOptions extends ClusterOptions {
  url: string;
  branch?: string;
  tag?: string;
  semver?: string;
  commit?: string;
  interval: string;
  secretRef?: string;
  export?: boolean;
  timeout: string;
}

interface KustomizationOptions extends ClusterOptions {
  source: { kind: string; name: string; namespace?: string };
  path: string;
  prune: boolean;
  interval: string;
  dependsOn: string[];
  wait: boolean;
  force: boolean;
  targetNamespace?: string;
  healthCheckTimeout?: string;
  export?: boolean;
  timeout: string;
}

export function createCommand(): Command {
  const sourceGit = withClusterOptions(
    new Command('git')
      .description('create or update a GitRepository source')
      .argument('<name>', 'the GitRepository name')
      .requiredOption('--url <url>', 'the repository URL (http, https or ssh)')
      .option('--branch <branch>', 'the branch to follow (default: master, as flux)')
      .option('--tag <tag>', 'a tag to follow instead of a branch')
      .option('--semver <range>', 'a semver range of tags to follow')
      .option('--commit <sha>', 'a commit to pin')
      .option('--interval <duration>', 'how often to check for new commits', duration, '1m0s')
      .option('--secret-ref <name>', 'a Secret with credentials (username/password, or identity/known_hosts)')
      .option('--export', 'print the manifest instead of applying it')
      .option('--timeout <duration>', 'how long to wait for the source to be ready', '5m'),
  ).action(async (name: string, o: SourceGitOptions) => {
    const ref = o.commit
      ? { commit: o.commit }
      : o.semver
        ? { semver: o.semver }
        : o.tag
          ? { tag: o.tag }
          : { branch: o.branch ?? 'master' };
    const spec: Record<string, unknown> = { interval: o.interval, ref, url: o.url };
    if (o.secretRef) spec['secretRef'] = { name: o.secretRef };
    if (!o.export) statusLog().action(`generating GitRepository source`);
    await exportOrApply(
      {
        apiVersion: GitRepositoryApi.apiVersion,
        kind: GitRepositoryApi.kind,
        metadata: { name, namespace: o.namespace },
        spec,
      },
      o,
      'GitRepository source',
    );
  });

  const kustomization = withClusterOptions(
    new Command('kustomization')
      .alias('ks')
      .description('create or update a Kustomization')
      .argument('<name>', 'the Kustomization name')
      .requiredOption(
        '--source <ref>',
        'the source: GitRepository/<name> or GitRepository/<namespace>/<name>',
        sourceReference,
      )
      .option('--path <path>', 'the path in the source', './')
      .addOption(booleanOption('--prune', 'delete objects removed from the source', false))
      .option('--interval <duration>', 'how often to reconcile', duration, '1m0s')
      .option(
        '--depends-on <name...>',
        'Kustomizations that must be ready first (<name> or <namespace>/<name>)',
        [],
      )
      .addOption(booleanOption('--wait', 'wait for every applied object to be healthy', false))
      .addOption(
        booleanOption('--force', 'recreate objects whose immutable fields change (e.g. Jobs)', false),
      )
      .option('--target-namespace <namespace>', 'the namespace to put the objects in')
      .option('--health-check-timeout <duration>', 'how long health checks may take', duration)
      .option('--export', 'print the manifest instead of applying it')
      .option('--timeout <duration>', 'how long to wait for the Kustomization to be ready', '5m'),
  ).action(async (name: string, o: KustomizationOptions) => {
    const spec: Record<string, unknown> = {
      interval: o.interval,
      path: o.path,
      prune: o.prune,
      sourceRef: o.source,
    };
    if (o.dependsOn.length) {
      spec['dependsOn'] = o.dependsOn.map((d) =>
        d.includes('/') ? { namespace: d.split('/')[0], name: d.split('/')[1] } : { name: d },
      );
    }
    if (o.wait) spec['wait'] = true;
    if (o.force) spec['force'] = true;
    if (o.targetNamespace) spec['targetNamespace'] = o.targetNamespace;
    if (o.healthCheckTimeout) spec['timeout'] = o.healthCheckTimeout;
    if (!o.export) statusLog().action(`generating Kustomization`);
    await exportOrApply(
      {
        apiVersion: KustomizationApi.apiVersion,
        kind: KustomizationApi.kind,
        metadata: { name, namespace: o.namespace },
        spec,
      },
      o,
      'Kustomization',
    );
  });

  return new Command('create')
    .description('create or update sources and Kustomizations')
    .addCommand(new Command('source').description('create or update sources').addCommand(sourceGit))
    .addCommand(kustomization);
}
