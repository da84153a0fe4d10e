// OCIRepository (source.toolkit.fluxcd.io/v1): an OCI artifact (as `flux push artifact` makes them) fetched from a
// container registry into a versioned artifact, field for field as Flux's source-controller serves it.
import type { Artifact } from './gitrepository.ts';
import type { ApiType, Condition, LocalObjectReference, ObjectMeta, ReconcileRequestStatus } from './meta.ts';

export const OCIRepositoryApi = {
  group: 'source.toolkit.fluxcd.io',
  version: 'v1',
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'OCIRepository',
  listKind: 'OCIRepositoryList',
  plural: 'ocirepositories',
  singular: 'ocirepository',
  shortNames: ['ocirepo'],
  categories: ['all', 'fluxcd', 'fluxcd-sources'],
} as const satisfies ApiType;

/** The fetch timeout when `spec.timeout` is not set (the CRD also defaults it on write). */
export const defaultOciTimeout = '60s';

/** Precedence: digest > semver > tag; with none, the `latest` tag. */
export interface OCIRepositoryRef {
  digest?: string;
  semver?: string;
  /** A regular expression the tags must match before semver picks among them. */
  semverFilter?: string;
  tag?: string;
}

export interface OCILayerSelector {
  mediaType?: string;
  /** `extract` (the default): the layer's tar.gz is unpacked and archived again; `copy`: stored as it is. */
  operation?: 'extract' | 'copy';
}

export interface OCIRepositorySpec {
  /** `oci://<host>/<repository>`, without a tag. */
  url: string;
  ref?: OCIRepositoryRef;
  layerSelector?: OCILayerSelector;
  provider?: 'generic' | 'aws' | 'azure' | 'gcp';
  /** A `kubernetes.io/dockerconfigjson` Secret with the registry's credentials. */
  secretRef?: LocalObjectReference;
  verify?: Record<string, unknown>;
  serviceAccountName?: string;
  certSecretRef?: LocalObjectReference;
  proxySecretRef?: LocalObjectReference;
  interval: string;
  timeout?: string;
  ignore?: string;
  /** Plain HTTP to the registry. */
  insecure?: boolean;
  suspend?: boolean;
}

export interface OCIRepositoryStatus extends ReconcileRequestStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  url?: string;
  artifact?: Artifact;
  observedIgnore?: string;
  observedLayerSelector?: OCILayerSelector;
}

export interface OCIRepository {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: OCIRepositorySpec;
  status?: OCIRepositoryStatus;
}
