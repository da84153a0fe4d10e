// dependsOn: a Kustomization proceeds only when each dependency is Ready for its current generation and,
// when both are built from the same source, has applied the very revision this one is about to apply.
import type { Kustomization } from '../../api/kustomization.ts';
import { KustomizationApi } from '../../api/kustomization.ts';
import type { ObjectClient } from '../../kube/objects.ts';
import { getCondition } from '../../runtime/conditions.ts';

/** Why the dependencies are not ready yet, or undefined when they all are. */
export async function dependencyNotReady(
  objects: ObjectClient,
  ks: Kustomization,
  revision: string,
): Promise<string | undefined> {
  for (const dep of ks.spec.dependsOn ?? []) {
    const namespace = dep.namespace || ks.metadata.namespace;
    const id = `${namespace}/${dep.name}`;
    let live: Kustomization | undefined;
    try {
      live = await objects.get<Kustomization & { [key: string]: unknown }>({
        apiVersion: KustomizationApi.apiVersion,
        kind: KustomizationApi.kind,
        namespace,
        name: dep.name,
      });
    } catch (error) {
      return `dependency '${id}' not found: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (!live) return `dependency '${id}' not found: ${KustomizationApi.kind} "${dep.name}" not found`;
    const status = live.status;
    if (!status?.conditions?.length || live.metadata.generation !== status.observedGeneration) {
      return `dependency '${id}' is not ready`;
    }
    if (getCondition(status, 'Ready')?.status !== 'True') return `dependency '${id}' is not ready`;
    if (sameSource(ks, live) && status.lastAppliedRevision !== revision) {
      return `dependency '${id}' revision is not up to date`;
    }
  }
  return undefined;
}

function sameSource(a: Kustomization, b: Kustomization): boolean {
  const ref = (k: Kustomization) =>
    `${k.spec.sourceRef.kind}/${k.spec.sourceRef.namespace || k.metadata.namespace}/${k.spec.sourceRef.name}`;
  return ref(a) === ref(b);
}
