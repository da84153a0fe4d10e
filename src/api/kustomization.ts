// Kustomization (kustomize.toolkit.fluxcd.io/v1): the spec users write and the status the reconciler publishes,
// field for field as Flux's kustomize-controller serves them. v1beta2 objects are read through v1 (see crds.ts).
import type {
  ApiType,
  Condition,
  LocalObjectReference,
  NamespacedObjectKindReference,
  ObjectMeta,
  ReconcileRequestStatus,
  SecretKeyReference,
} from './meta.ts';

export const KustomizationApi = {
  group: 'kustomize.toolkit.fluxcd.io',
  version: 'v1',
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  listKind: 'KustomizationList',
  plural: 'kustomizations',
  singular: 'kustomization',
  shortNames: ['ks'],
  categories: ['all', 'fluxcd', 'fluxcd-appliers'],
} as const satisfies ApiType;

/** The older version still served (deprecated) so that manifests written for it apply unmodified. */
export const KustomizationV1beta2Api = {
  ...KustomizationApi,
  version: 'v1beta2',
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1beta2',
} as const satisfies ApiType;

export const SourceKind = {
  gitRepository: 'GitRepository',
  ociRepository: 'OCIRepository',
  bucket: 'Bucket',
  externalArtifact: 'ExternalArtifact',
} as const;
export type SourceKindName = (typeof SourceKind)[keyof typeof SourceKind];

/** `MirrorPrune` (also what an empty value means) deletes on finalize when `prune` is true. */
export const DeletionPolicy = {
  mirrorPrune: 'MirrorPrune',
  delete: 'Delete',
  waitForTermination: 'WaitForTermination',
  orphan: 'Orphan',
} as const;
export type DeletionPolicyName = (typeof DeletionPolicy)[keyof typeof DeletionPolicy];

export const SubstituteStrategy = {
  withVariables: 'WithVariables',
  always: 'Always',
} as const;
export type SubstituteStrategyName = (typeof SubstituteStrategy)[keyof typeof SubstituteStrategy];

export const BuildMetadataOption = {
  originAnnotations: 'originAnnotations',
  transformerAnnotations: 'transformerAnnotations',
} as const;
export type BuildMetadataOptionName = (typeof BuildMetadataOption)[keyof typeof BuildMetadataOption];

export interface CrossNamespaceSourceReference {
  /** Ignored by the controller, which goes by `kind`. */
  apiVersion?: string;
  kind: SourceKindName;
  name: string;
  /** Empty means the Kustomization's own namespace. */
  namespace?: string;
}

export interface DependencyReference {
  name: string;
  /** Empty means the Kustomization's own namespace. */
  namespace?: string;
  /** CEL over `self` and `dep`; replaces the built-in readiness check when set. */
  readyExpr?: string;
}

/** Selects objects by GVK, name and namespace (regular expressions) and label/annotation selectors. */
export interface Selector {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
  annotationSelector?: string;
}

export interface Patch {
  /** A strategic merge patch or a JSON 6902 patch, as inline YAML. */
  patch: string;
  target?: Selector;
}

export interface Image {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

export interface CommonMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface SubstituteReference {
  kind: 'Secret' | 'ConfigMap';
  name: string;
  /** A missing optional object counts as empty instead of failing the build. */
  optional?: boolean;
}

export interface PostBuild {
  substitute?: Record<string, string>;
  /** Later entries override earlier ones; `substitute` overrides them all. */
  substituteFrom?: SubstituteReference[];
  substituteStrategy?: SubstituteStrategyName;
}

export interface CustomHealthCheck {
  apiVersion: string;
  kind: string;
  /** CEL expressions over the object; the first true one of inProgress, failed, current decides. */
  current: string;
  inProgress?: string;
  failed?: string;
}

export interface IgnoreRule {
  /** JSON pointers (RFC 6901) left out of drift detection and apply. */
  paths: string[];
  target?: Selector;
}

/** Exactly one of the two references (the CRD enforces it). */
export interface KubeConfigReference {
  secretRef?: SecretKeyReference;
  configMapRef?: LocalObjectReference;
}

export interface Decryption {
  provider: 'sops';
  secretRef?: LocalObjectReference;
  serviceAccountName?: string;
}

export interface KustomizationSpec {
  /** Go duration string: the requeue period after a success. */
  interval: string;
  /** Go duration string: the requeue period after a failure; defaults to `interval`. */
  retryInterval?: string;
  /** Go duration string; defaults to `interval` − 30s and is never below 30s (see `timeoutOf`). */
  timeout?: string;
  sourceRef: CrossNamespaceSourceReference;
  /** Path inside the artifact; empty means its root. */
  path?: string;
  prune: boolean;
  deletionPolicy?: DeletionPolicyName;
  /** Health-check every applied object (then `healthChecks` is ignored). */
  wait?: boolean;
  /** Recreate objects whose apply fails on an immutable field. */
  force?: boolean;
  dependsOn?: DependencyReference[];
  suspend?: boolean;
  targetNamespace?: string;
  namePrefix?: string;
  nameSuffix?: string;
  patches?: Patch[];
  images?: Image[];
  components?: string[];
  ignoreMissingComponents?: boolean;
  buildMetadata?: BuildMetadataOptionName[];
  commonMetadata?: CommonMetadata;
  postBuild?: PostBuild;
  healthChecks?: NamespacedObjectKindReference[];
  healthCheckExprs?: CustomHealthCheck[];
  ignore?: IgnoreRule[];
  serviceAccountName?: string;
  kubeConfig?: KubeConfigReference;
  decryption?: Decryption;
}

/** One applied object: id `<namespace>_<name>_<group>_<kind>`, v the API version (`v1`, not `apps/v1`). */
export interface ResourceRef {
  id: string;
  v: string;
}

export interface ResourceInventory {
  entries: ResourceRef[];
}

/** One reconcile outcome for one built manifest set, deduplicated on (digest, lastReconciledStatus). */
export interface Snapshot {
  /** `sha256:<hex>` of the built YAML. */
  digest: string;
  firstReconciled: string;
  lastReconciled: string;
  /** Go duration string such as `1.2s`. */
  lastReconciledDuration: string;
  lastReconciledStatus: string;
  totalReconciliations: number;
  /** `revision` and, when the source has one, `originRevision`. */
  metadata?: Record<string, string>;
}

export interface KustomizationStatus extends ReconcileRequestStatus {
  /** -1 until the first successful reconcile (CRD default). */
  observedGeneration?: number;
  conditions?: Condition[];
  lastAppliedRevision?: string;
  lastAppliedOriginRevision?: string;
  lastAttemptedRevision?: string;
  inventory?: ResourceInventory;
  /** At most 5 snapshots, most recent first. */
  history?: Snapshot[];
  /** sluice only: the run ledger, newest first: every run of the Jobs it applied (bounded, see jobs/ledger.ts). */
  jobRuns?: JobRun[];
  /** sluice only: the last `sluice.dev/rerun-requested-at` value acted on. */
  lastHandledRerunAt?: string;
  /** sluice only: the last revision the failure hook (`sluice.dev/on-failure-path`) was started for. */
  lastFailureHookRevision?: string;
  /** What sluice before the run ledger recorded; read once into `jobRuns`, then dropped. */
  completedJobs?: LegacyCompletedJob[];
}

/** What sluice before the run ledger kept of a TTL Job that completed for one exact manifest. */
export interface LegacyCompletedJob {
  id: string;
  digest: string;
  revision: string;
  completedAt: string;
}

/** How a Job run ended (Unknown: its Job was deleted before sluice saw it end), or that it has not yet. */
export type JobRunResult = 'Running' | 'Complete' | 'Failed' | 'Cancelled' | 'Unknown';

/** What created the run: an apply, `sluice rerun`, the Job's own retry annotation, or a failure hook. */
export type JobRunTrigger = 'Apply' | 'Rerun' | 'Retry' | 'OnFailure';

/** One run of one Job (one Job object, by uid) for one exact manifest. */
export interface JobRun {
  /** The Job's inventory id, `<namespace>_<name>_batch_Job`. */
  id: string;
  /** `sha256:<hex>` of the Job's manifest as applied: another manifest is another run, counted afresh. */
  digest: string;
  /** The source revision it ran for. */
  revision: string;
  /** 1 for the first run of this manifest, then one more per rerun or retry. */
  attempt: number;
  trigger: JobRunTrigger;
  /** The Job object's uid: the same name created again is another run. */
  uid: string;
  result: JobRunResult;
  startedAt: string;
  finishedAt?: string;
  /** Why it failed, or why it was cancelled; read when the controller saw it fail, so it outlives the pods. */
  failure?: JobFailure;
  /** A failed run its Job's `sluice.dev/retry` allows to run again: when the next attempt is due. */
  retryAt?: string;
}

/** What a failed run left behind: the Job's Failed condition and its failed container's termination. */
export interface JobFailure {
  /** The Job's Failed reason (BackoffLimitExceeded, DeadlineExceeded, ...), or sluice's (Cancelled). */
  reason: string;
  message?: string;
  pod?: string;
  container?: string;
  exitCode?: number;
  signal?: number;
  /** The container's termination reason: Error, OOMKilled, ... */
  terminationReason?: string;
  /** What the container wrote to its terminationMessagePath (or, with FallbackToLogsOnError, its log's end). */
  terminationMessage?: string;
  /** The end of the failed container's log, when asked for (`--failed-job-log-lines`, or the annotation). */
  log?: string;
  /** Why the termination message or log was not kept (a Secret sluice could not read to keep out of them). */
  withheld?: string;
}

export interface Kustomization {
  apiVersion: typeof KustomizationApi.apiVersion;
  kind: typeof KustomizationApi.kind;
  metadata: ObjectMeta;
  spec: KustomizationSpec;
  status?: KustomizationStatus;
}
