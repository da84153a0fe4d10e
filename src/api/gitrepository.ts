// GitRepository (source.toolkit.fluxcd.io/v1): the spec users write and the status the source reconciler
// publishes, field for field as Flux's source-controller serves them.
import type { ApiType, Condition, LocalObjectReference, ObjectMeta, ReconcileRequestStatus } from './meta.ts';

export const GitRepositoryApi = {
  group: 'source.toolkit.fluxcd.io',
  version: 'v1',
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'GitRepository',
  listKind: 'GitRepositoryList',
  plural: 'gitrepositories',
  singular: 'gitrepository',
  shortNames: ['gitrepo'],
  categories: ['all', 'fluxcd', 'fluxcd-sources'],
} as const satisfies ApiType;

export const GitProvider = {
  generic: 'generic',
  aws: 'aws',
  azure: 'azure',
  github: 'github',
} as const;
export type GitProviderName = (typeof GitProvider)[keyof typeof GitProvider];

/** `head` is the legacy spelling of `HEAD`; both verify the checked-out commit. */
export const GitVerificationMode = {
  head: 'HEAD',
  legacyHead: 'head',
  tag: 'Tag',
  tagAndHead: 'TagAndHEAD',
} as const;
export type GitVerificationModeName = (typeof GitVerificationMode)[keyof typeof GitVerificationMode];

/** The clone timeout when `spec.timeout` is not set (the CRD also defaults it on write). */
export const defaultGitTimeout = '60s';

/** With no ref at all the `master` branch is checked out. */
export const defaultGitBranch = 'master';

/** Precedence in the checkout: commit > name > tag > semver > branch. */
export interface GitRepositoryRef {
  branch?: string;
  tag?: string;
  semver?: string;
  /** A full Git reference such as `refs/pull/1/head`. */
  name?: string;
  /** Combined with `branch`, the branch is cloned shallowly and the commit checked out. */
  commit?: string;
}

export interface GitRepositoryVerification {
  mode?: GitVerificationModeName;
  /** Public keys: `*.asc` entries are PGP keys, `*.sshpub` entries SSH keys. */
  secretRef: LocalObjectReference;
}

export interface GitRepositoryInclude {
  repository: LocalObjectReference;
  fromPath?: string;
  /** Defaults to the included repository's name. */
  toPath?: string;
}

export interface GitRepositorySpec {
  /** `http://`, `https://` or `ssh://` only; the scp-like `git@host:repo` form is rejected by the CRD. */
  url: string;
  secretRef?: LocalObjectReference;
  provider?: GitProviderName;
  /** Only allowed with the `azure` or `aws` provider. */
  serviceAccountName?: string;
  /** Go duration string (ms, s, m, h). */
  interval: string;
  /** Go duration string (ms, s, m only); defaults to 60s. */
  timeout?: string;
  ref?: GitRepositoryRef;
  verify?: GitRepositoryVerification;
  proxySecretRef?: LocalObjectReference;
  /** `.gitignore`-format patterns that replace the default exclusion list. */
  ignore?: string;
  suspend?: boolean;
  recurseSubmodules?: boolean;
  include?: GitRepositoryInclude[];
  sparseCheckout?: string[];
}

/** A stored artifact, as consumers download it: `url` verified against `digest`. */
export interface Artifact {
  /** Relative path in the storage, `gitrepository/<ns>/<name>/<commit>.tar.gz`. */
  path: string;
  url: string;
  /** `main@sha1:<hex>`, `v1.2.3@sha1:<hex>`, `refs/pull/1/head@sha1:<hex>` or `sha1:<hex>`; compare as opaque. */
  revision: string;
  /** `<algorithm>:<hex>` of the tarball bytes. */
  digest: string;
  lastUpdateTime: string;
  size?: number;
  metadata?: Record<string, string>;
}

export interface GitRepositoryStatus extends ReconcileRequestStatus {
  /** -1 until the first reconcile (CRD default). */
  observedGeneration?: number;
  conditions?: Condition[];
  artifact?: Artifact;
  includedArtifacts?: Artifact[];
  observedIgnore?: string;
  observedRecurseSubmodules?: boolean;
  observedInclude?: GitRepositoryInclude[];
  observedSparseCheckout?: string[];
  sourceVerificationMode?: GitVerificationModeName;
}

export interface GitRepository {
  apiVersion: typeof GitRepositoryApi.apiVersion;
  kind: typeof GitRepositoryApi.kind;
  metadata: ObjectMeta;
  spec: GitRepositorySpec;
  status?: GitRepositoryStatus;
}
