// The two kinds the commands handle (Kustomization and GitRepository), the words Flux prints for each, and the
// shape of their objects as the commands read them.
import type { KubeClient, KubeObject, KubeObjectMeta } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { GitRepositoryApi } from '../api/gitrepository.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { collectionPath, type ApiType, type StatusCondition } from '../api/meta.ts';

/** The two kinds the commands handle, with the words Flux prints for each. */
export interface FluxKind {
  api: ApiType;
  /** Lower-case, as in "► suspending kustomization app". */
  humanKind: string;
  /** The revision a resumed object reports, and how its success line says it. */
  revisionOf: (object: FluxObject) => string | undefined;
  revisionVerb: string;
}

export interface FluxObject extends KubeObject {
  metadata: KubeObjectMeta & { name: string; namespace: string };
  spec?: { suspend?: boolean; [key: string]: unknown };
  status?: {
    observedGeneration?: number;
    conditions?: StatusCondition[];
    lastAppliedRevision?: string;
    artifact?: { revision?: string };
    inventory?: { entries?: { id: string; v: string }[] };
    [key: string]: unknown;
  };
}

export const kustomizationKind: FluxKind = {
  api: KustomizationApi,
  humanKind: 'kustomization',
  revisionOf: (object) => object.status?.lastAppliedRevision,
  revisionVerb: 'applied',
};

export const gitRepositoryKind: FluxKind = {
  api: GitRepositoryApi,
  humanKind: 'source git',
  revisionOf: (object) => object.status?.artifact?.revision,
  revisionVerb: 'fetched',
};

/** One Kustomization, or the error kubectl gives for a missing one. */
export async function getKustomization(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<FluxObject> {
  try {
    return await client.get<FluxObject>(`${collectionPath(KustomizationApi, namespace)}/${name}`);
  } catch (error) {
    if (isNotFound(error))
      throw new Error(`${KustomizationApi.plural}.${KustomizationApi.group} "${name}" not found`, {
        cause: error,
      });
    throw error;
  }
}

export const readyCondition = (object: FluxObject) =>
  object.status?.conditions?.find((condition) => condition.type === 'Ready');
