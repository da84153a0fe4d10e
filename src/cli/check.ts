// `sluice check`: Flux's `flux check` for sluice. Prerequisites (the cluster answers, and its Kubernetes is
// recent enough), then the installation: the controller Deployment ready, a live leader on the Lease and its
// version, and the CRDs established and serving every version this CLI knows. Exit 0 only if all pass.
import { Command } from 'commander';
import semver from 'semver';
import { allCrds, type CustomResourceDefinition } from '../api/crds.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { computeStatus } from '../kstatus/status.ts';
import { controllerLeaseName, controllerName } from '../install/manifests.ts';
import { leaseVersionAnnotation, type Lease } from '../runtime/leaderelection.ts';
import { sluiceVersion } from '../version.ts';
import {
  humanDuration,
  ReportedFailure,
  runWithClient,
  withClusterOptions,
  type ClusterOptions,
  type StatusLog,
} from './output.ts';

/**
 * The oldest Kubernetes sluice supports: Flux's own constraint. The CRDs' CEL validation rules are GA since
 * 1.29 (and on by default since 1.25); 1.30 is the oldest minor the Kubernetes project still patched when
 * sluice began.
 */
export const kubernetesConstraint = '>=1.30.0-0';

/** One line of the report: ✔ when ok, ✗ when not; `info` lines (images) print as ►. */
export interface CheckEntry {
  ok: boolean;
  message: string;
  info?: boolean;
}

/** `✔ Kubernetes 1.36.3 >=1.30.0-0`, from the API server's /version gitVersion. */
export function kubernetesVersionCheck(gitVersion: string): CheckEntry {
  const parsed = semver.parse(gitVersion.replace(/^v/, ''), { loose: true });
  if (!parsed) return { ok: false, message: `cannot parse the Kubernetes version "${gitVersion}"` };
  const version = `${parsed.major}.${parsed.minor}.${parsed.patch}`;
  const ok = semver.satisfies(parsed, kubernetesConstraint, { includePrerelease: true });
  return { ok, message: `Kubernetes ${version} ${kubernetesConstraint}` };
}

/** The controller Deployment: ready (kstatus Current, as `install` waits for), then its images. */
export function deploymentCheck(deployment: KubeObject | undefined, namespace: string): CheckEntry[] {
  if (!deployment) {
    return [
      {
        ok: false,
        message: `${controllerName}: deployment not found in namespace ${namespace} (run "sluice install -n ${namespace}")`,
      },
    ];
  }
  deployment.apiVersion ??= 'apps/v1';
  deployment.kind ??= 'Deployment';
  const status = computeStatus(deployment);
  if (status.status !== 'Current') {
    return [{ ok: false, message: `${controllerName}: deployment not ready: ${status.message}` }];
  }
  const spec = deployment['spec'] as { template?: { spec?: { containers?: { image?: string }[] } } };
  const images = (spec.template?.spec?.containers ?? []).map((c) => c.image ?? '');
  return [
    { ok: true, message: `${controllerName}: deployment ready` },
    ...images.map((image) => ({ ok: true, info: true, message: image })),
  ];
}

/**
 * The controller is alive when a replica holds the Lease and renewed it within its duration (renewTime is the
 * holder's clock, so a large clock skew between it and this machine shows here), and its version is this CLI's.
 */
export function leaseCheck(lease: Lease | undefined, nowMs: number, cliVersion: string): CheckEntry[] {
  const name = controllerLeaseName;
  if (!lease) {
    return [{ ok: false, message: `no leader: the Lease ${name} does not exist (the controller never ran)` }];
  }
  const spec = lease.spec ?? {};
  const renewedMs = spec.renewTime ? Date.parse(spec.renewTime) : NaN;
  const ago = Number.isNaN(renewedMs) ? 'never' : `${humanDuration(nowMs - renewedMs)} ago`;
  if (!spec.holderIdentity) {
    return [
      {
        ok: false,
        message: `no leader: the Lease ${name} was released (${ago}); is the controller running?`,
      },
    ];
  }
  const expiresMs = renewedMs + (spec.leaseDurationSeconds ?? 0) * 1000;
  if (Number.isNaN(renewedMs) || expiresMs < nowMs) {
    return [
      {
        ok: false,
        message: `no leader: ${spec.holderIdentity} last renewed the Lease ${ago}, and it expired after ${spec.leaseDurationSeconds ?? 0}s`,
      },
    ];
  }
  const entries: CheckEntry[] = [{ ok: true, message: `leader ${spec.holderIdentity} (renewed ${ago})` }];
  const version = lease.metadata.annotations?.[leaseVersionAnnotation];
  if (!version) {
    entries.push({
      ok: false,
      message: `the leader does not record its version (${leaseVersionAnnotation})`,
    });
  } else if (version !== cliVersion) {
    // The CLI installs the CRDs: a controller of another version may not read what they accept.
    entries.push({
      ok: false,
      message: `controller version ${version} differs from this CLI's ${cliVersion}: run "sluice install" with the CLI of one version`,
    });
  } else {
    entries.push({ ok: true, message: `controller version ${version}` });
  }
  return entries;
}

interface LiveCrd {
  spec?: { versions?: { name: string; served: boolean; storage: boolean }[] };
  status?: { conditions?: { type: string; status: string; message?: string }[]; storedVersions?: string[] };
}

/** `✔ name/v1` (the storage version) when established and serving every version sluice defines. */
export function crdCheck(wanted: CustomResourceDefinition, live: LiveCrd | undefined): CheckEntry {
  const name = wanted.metadata.name;
  if (!live) return { ok: false, message: `${name} not found` };
  const established = live.status?.conditions?.find((c) => c.type === 'Established');
  if (established?.status !== 'True') {
    return {
      ok: false,
      message: `${name} is not established${established?.message ? `: ${established.message}` : ''}`,
    };
  }
  const served = new Set((live.spec?.versions ?? []).filter((v) => v.served).map((v) => v.name));
  const missing = wanted.spec.versions.filter((v) => v.served && !served.has(v.name)).map((v) => v.name);
  if (missing.length > 0) return { ok: false, message: `${name} does not serve ${missing.join(', ')}` };
  const storage = live.spec?.versions?.find((v) => v.storage)?.name ?? live.status?.storedVersions?.at(-1);
  return { ok: true, message: `${name}/${storage}` };
}

async function getOrUndefined<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Prints a section; true if every entry passed. */
function report(log: StatusLog, title: string, entries: CheckEntry[]): boolean {
  log.action(`checking ${title}`);
  for (const entry of entries) {
    if (entry.info) log.action(entry.message);
    else if (entry.ok) log.success(entry.message);
    else log.failure(entry.message);
  }
  return entries.every((e) => e.ok);
}

/** A section whose lookup failed (e.g. Forbidden) is one ✗ line, and the other sections still run. */
async function section(
  log: StatusLog,
  title: string,
  entries: () => Promise<CheckEntry[]>,
): Promise<boolean> {
  let result: CheckEntry[];
  try {
    result = await entries();
  } catch (error) {
    result = [{ ok: false, message: error instanceof Error ? error.message : String(error) }];
  }
  return report(log, title, result);
}

export async function check(
  client: KubeClient,
  log: StatusLog,
  options: { namespace: string; pre: boolean },
): Promise<boolean> {
  const prerequisites = await section(log, 'prerequisites', async () => {
    const version = await client.get<{ gitVersion: string }>('/version');
    return [kubernetesVersionCheck(version.gitVersion)];
  });
  if (!prerequisites) return false;
  if (options.pre) {
    log.success('prerequisites checks passed');
    return true;
  }
  const ns = options.namespace;
  const controllers = await section(log, 'controllers', async () => {
    const deployment = await getOrUndefined<KubeObject>(
      client,
      `/apis/apps/v1/namespaces/${ns}/deployments/${controllerName}`,
    );
    const lease = await getOrUndefined<Lease>(
      client,
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${controllerLeaseName}`,
    );
    return [...deploymentCheck(deployment, ns), ...leaseCheck(lease, Date.now(), sluiceVersion)];
  });
  const crds = await section(log, 'crds', async () => {
    const entries: CheckEntry[] = [];
    for (const crd of allCrds()) {
      const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
      entries.push(crdCheck(crd, await getOrUndefined<LiveCrd>(client, path)));
    }
    return entries;
  });
  if (!controllers || !crds) return false;
  log.success('all checks passed');
  return true;
}

interface CheckOptions extends ClusterOptions {
  pre?: boolean;
}

export function checkCommand(): Command {
  return withClusterOptions(
    new Command('check')
      .description('check the prerequisites and the installation (exit 1 if a check fails)')
      .option(
        '--pre',
        'only check the prerequisites (the cluster is reachable and its Kubernetes recent enough)',
      ),
  ).action((options: CheckOptions) =>
    runWithClient(options, async (client, log) => {
      const passed = await check(client, log, { namespace: options.namespace, pre: options.pre ?? false });
      if (!passed) {
        log.failure(options.pre ? 'prerequisites checks failed' : 'checks failed');
        throw new ReportedFailure();
      }
    }),
  );
}
