// Types and names shared by the GitRepository and Kustomization APIs: conditions, references, the well-known
// annotations and labels. Every string here is spelled exactly as Flux spells it, since Flux's CLI and other
// tools read these objects too.
import type { KubeObjectMeta } from '../kube/client.ts';

/** An object's metadata, with the fields the controllers read typed. */
export interface ObjectMeta extends KubeObjectMeta {
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** A condition as any object's status may carry one: all sluice can count on when it reads others' objects. */
export interface StatusCondition {
  type: string;
  status: string;
  observedGeneration?: number;
  reason?: string;
  message?: string;
}

/** A metav1.Condition, as sluice's controllers write it in `status.conditions`. */
export interface Condition extends StatusCondition {
  type: ConditionType;
  status: ConditionStatus;
  /** RFC 3339 in UTC, truncated to seconds. */
  lastTransitionTime: string;
  reason: Reason;
  message: string;
}

/** The condition types sluice's controllers write, spelled as Flux's. */
export type ConditionType =
  'Ready' | 'Reconciling' | 'Stalled' | 'Healthy' | 'ArtifactInStorage' | 'FetchFailed';

/**
 * The condition reasons sluice's controllers write, spelled as Flux's (Flux's tools and users match on them);
 * a GitRepository's fetch failures use the GitError kinds too.
 */
export type Reason =
  | 'Succeeded'
  | 'Progressing'
  | 'ProgressingWithRetry'
  | 'ReconciliationSucceeded'
  | 'ReconciliationFailed'
  | 'DependencyNotReady'
  | 'DependencyCycle'
  | 'ArtifactFailed'
  | 'BuildFailed'
  | 'PruneFailed'
  | 'HealthCheckFailed'
  | 'HealthCheckCanceled'
  | 'InvalidCELExpression'
  | 'AccessDenied'
  | 'GitOperationFailed'
  | 'AuthenticationFailed'
  | 'URLInvalid'
  | 'RefNotFound'
  | 'OCIArtifactPullFailed'
  | 'OCIArtifactLayerOperationFailed'
  | 'ReadOperationFailed'
  | 'IncludeUnavailable'
  // Event reasons only.
  | 'NewArtifact';

/** Annotations and labels that Flux's controllers and CLI read or write. */
export const Annotation = {
  /** Any change of its value asks for a reconcile; the value is copied to `status.lastHandledReconcileAt`. */
  reconcileRequestedAt: 'reconcile.fluxcd.io/requestedAt',
  /** Owner labels set on every applied object; prune only deletes objects that carry both. */
  kustomizeName: 'kustomize.toolkit.fluxcd.io/name',
  kustomizeNamespace: 'kustomize.toolkit.fluxcd.io/namespace',
  /** `disabled`: neither applied nor pruned. */
  reconcile: 'kustomize.toolkit.fluxcd.io/reconcile',
  /** `Override` (default), `Merge`, `IfNotPresent` or `Ignore`. */
  ssa: 'kustomize.toolkit.fluxcd.io/ssa',
  /** `enabled`: recreate this object when an apply hits an immutable field. */
  force: 'kustomize.toolkit.fluxcd.io/force',
  /** `disabled`: never garbage-collected. */
  prune: 'kustomize.toolkit.fluxcd.io/prune',
  /** `disabled`: no post-build variable substitution in this object. */
  substitute: 'kustomize.toolkit.fluxcd.io/substitute',
  /** `disabled`: skip the "SOPS-encrypted Secret without decryption" guard. */
  decrypt: 'kustomize.toolkit.fluxcd.io/decrypt',
  /** Event annotations naming the revision a Kustomization event is about. */
  kustomizeRevision: 'kustomize.toolkit.fluxcd.io/revision',
  kustomizeOriginRevision: 'kustomize.toolkit.fluxcd.io/originRevision',
  /** Event annotations naming the artifact a GitRepository event is about. */
  sourceRevision: 'source.toolkit.fluxcd.io/revision',
  sourceDigest: 'source.toolkit.fluxcd.io/digest',
} as const;

/** sluice's own annotations: on a Kustomization, or on a Job it applies (Flux ignores them). */
export const SluiceAnnotation = {
  /** On a Job: how many times to run it again after it fails for the same manifest (it must be idempotent). */
  retry: 'sluice.dev/retry',
  /** On a Job: the wait before the first retry (default 10s), doubled for each next one. */
  retryBackoff: 'sluice.dev/retry-backoff',
  /** On a Job: the longest wait between two retries (default 5m). */
  retryBackoffMax: 'sluice.dev/retry-backoff-max',
  /** On a Kustomization: keep this many of a failed Job's last log lines in the run ledger. */
  failedJobLogLines: 'sluice.dev/failed-job-log-lines',
  /**
   * On a Kustomization: what a new source revision does to a running Job. `finish` (default): it finishes first;
   * `cancel`: the health check stops, the running Job is deleted and the new revision applied at once.
   */
  onNewRevision: 'sluice.dev/on-new-revision',
  /** On a Kustomization: a path in the same source whose Jobs run once when a revision fails. */
  onFailurePath: 'sluice.dev/on-failure-path',
  /** On a Kustomization, set by `sluice rerun`: run these Jobs (comma-separated names) again. */
  rerunJobs: 'sluice.dev/rerun-jobs',
  /** `sluice rerun --force`: a running Job is deleted and run again too. */
  rerunForce: 'sluice.dev/rerun-force',
  /** A new value asks for the rerun once; copied to `status.lastHandledRerunAt`. */
  rerunRequestedAt: 'sluice.dev/rerun-requested-at',
} as const;

/** sluice's labels on the Jobs a failure hook creates. */
export const SluiceLabel = {
  hook: 'sluice.dev/hook',
} as const;

/** Values of the per-object annotations above; the controller compares them case-insensitively. */
export const AnnotationValue = {
  enabled: 'enabled',
  disabled: 'disabled',
  ssaOverride: 'Override',
  ssaMerge: 'Merge',
  ssaIfNotPresent: 'IfNotPresent',
  ssaIgnore: 'Ignore',
} as const;

export const Label = {
  /** Secrets and ConfigMaps with `reconcile.fluxcd.io/watch: Enabled` trigger the Kustomizations using them. */
  watch: 'reconcile.fluxcd.io/watch',
} as const;

/**
 * The server-side apply field managers sluice writes as: Flux's own names where Flux's controllers write the same
 * fields, so that switching between the two does not leave fields owned by a manager that no longer writes them.
 */
export const FieldManager = {
  /** What a Kustomization applies (kustomize-controller's name). */
  kustomizeController: 'kustomize-controller',
  /** A Kustomization's status (kustomize-controller's status manager). */
  kustomizationStatus: 'gotk-kustomize-controller',
  /** A source's status: a GitRepository's or an OCIRepository's (source-controller's name). */
  sourceStatus: 'source-controller',
  /** What `sluice install` applies. */
  install: 'sluice',
  /** What `sluice create` applies. */
  cli: 'sluice-client',
} as const;

/** The finalizer both controllers put on their objects. */
export const Finalizer = 'finalizers.fluxcd.io';

export interface LocalObjectReference {
  name: string;
}

export interface SecretKeyReference {
  name: string;
  /** Defaults to an implementation-specific key (`value` for a kubeconfig). */
  key?: string;
}

export interface NamespacedObjectKindReference {
  /** Empty means `apps/v1` for Kustomization health checks. */
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** What `status.lastHandledReconcileAt` records: the last `reconcile.fluxcd.io/requestedAt` value handled. */
export interface ReconcileRequestStatus {
  lastHandledReconcileAt?: string;
}

/** Group, version, kind and resource names of one served API version. */
export interface ApiType {
  group: string;
  version: string;
  apiVersion: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  categories: readonly string[];
}

/** The collection path of a kind in one namespace, or in all of them when `namespace` is undefined. */
export function collectionPath(
  api: Pick<ApiType, 'group' | 'version' | 'plural'>,
  namespace?: string,
): string {
  const base = `/apis/${api.group}/${api.version}`;
  return namespace === undefined ? `${base}/${api.plural}` : `${base}/namespaces/${namespace}/${api.plural}`;
}
