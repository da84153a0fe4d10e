// The checks of `sluice check` (Flux's `flux check` for sluice): the prerequisites (the cluster answers, and its
// Kubernetes is recent enough), then the installation: the controller Deployment ready, a live leader on the
// Lease and its version, and the CRDs established and serving every version this CLI knows.
import semver from 'semver';
import { allCrds, type CustomResourceDefinition } from '../api/crds.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { computeStatus } from '../kstatus/status.ts';
import { leaseVersionAnnotation, type Lease } from '../runtime/leaderelection.ts';
import { humanDuration } from '../api/duration.ts';
import { sluiceVersion } from '../version.ts';
import { errorMessage } from '../errors.ts';
import { controllerLeaseName, controllerName } from './manifests.ts';

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

/** A titled group of checks, as `sluice check` prints them. */
export interface CheckSection {
  title: string;
  entries: CheckEntry[];
}

/** A section whose lookup failed (e.g. Forbidden) is one failed entry, and the other sections still run. */
async function section(title: string, entries: () => Promise<CheckEntry[]>): Promise<CheckSection> {
  try {
    return { title, entries: await entries() };
  } catch (error) {
    return { title, entries: [{ ok: false, message: errorMessage(error) }] };
  }
}

export const passed = (section: CheckSection): boolean => section.entries.every((e) => e.ok);

/** The sections in order; only the prerequisites when `pre`, or when they fail. */
export async function* checks(
  client: KubeClient,
  options: { namespace: string; pre: boolean },
): AsyncGenerator<CheckSection> {
  const prerequisites = await section('prerequisites', async () => {
    const version = await client.get<{ gitVersion: string }>('/version');
    return [kubernetesVersionCheck(version.gitVersion)];
  });
  yield prerequisites;
  if (options.pre || !passed(prerequisites)) return;
  const ns = options.namespace;
  yield await section('controllers', async () => {
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
  yield await section('crds', async () => {
    const entries: CheckEntry[] = [];
    for (const crd of allCrds()) {
      const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
      entries.push(crdCheck(crd, await getOrUndefined<LiveCrd>(client, path)));
    }
    return entries;
  });
}
