// Which objects a Kustomization's health check covers: with `wait`, everything it applied except what was
// skipped; otherwise the `healthChecks` list. The Kustomization itself is never waited on (it would wait
// for itself).
import type { Kustomization } from '../../api/kustomization.ts';
import { KustomizationApi } from '../../api/kustomization.ts';
import type { KubeObject } from '../../kube/client.ts';
import type { ChangeSetEntry } from '../../ssa/manager.ts';
import type { HealthTarget } from '../../ssa/wait.ts';
import type { ObjectRef } from '../../kube/objects.ts';
import { isJobWithTTL } from '../../jobs/ledger.ts';

export function healthTargets(
  ks: Kustomization,
  changeSet: ChangeSetEntry[],
  desired: KubeObject[],
): HealthTarget[] {
  const refs: (ObjectRef & { known?: KubeObject })[] = ks.spec.wait
    ? changeSet.filter((c) => c.action !== 'skipped').map((c) => ({ ...c.ref, known: c.live }))
    : (ks.spec.healthChecks ?? []).map((h) => ({
        // An empty apiVersion means apps/v1, as in Flux.
        apiVersion: h.apiVersion || 'apps/v1',
        kind: h.kind,
        namespace: h.namespace,
        name: h.name,
      }));
  const ttlJobs = new Set(
    desired.filter(isJobWithTTL).map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`),
  );
  return refs
    .filter(
      (r) =>
        !(
          r.kind === KustomizationApi.kind &&
          r.namespace === ks.metadata.namespace &&
          r.name === ks.metadata.name
        ),
    )
    .map(({ known, ...ref }) => ({
      ref,
      known,
      jobWithTTL: ref.kind === 'Job' && ttlJobs.has(`${ref.namespace}/${ref.name}`),
    }));
}
