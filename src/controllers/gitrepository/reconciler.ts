// The GitRepository reconciler: resolve the ref's revision with a cheap ls-remote, and only when it differs
// from the stored artifact (or the ignore rules changed) clone, archive and store a new artifact. Status and
// events follow Flux's source-controller; a fetch failure is retried with backoff.
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type {
  Artifact,
  GitRepository,
  GitRepositoryInclude,
  GitRepositoryStatus,
} from '../../api/gitrepository.ts';
import { GitRepositoryApi } from '../../api/gitrepository.ts';
import { Annotation } from '../../api/meta.ts';
import { gitRepositoryTimeoutOf } from '../../api/duration.ts';
import type { ReconcileFunc } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import {
  buildArtifact,
  extractArtifact,
  type ArtifactStore,
  artifactUrl,
  leftOutSymlinksKey,
} from '../../source/artifact.ts';
import type { KubeObject } from '../../kube/client.ts';
import { checkout, lsRemote, type GitCredentials } from '../../source/git.ts';
import { writableInside } from '../../source/destination.ts';
import { GitError } from '../../source/errors.ts';
import { ReconcileError, type Pass } from '../reconcile.ts';
import { refuseUnsupported, sourceReconciler } from '../source.ts';
import type { ControllerContext } from '../manager.ts';
import { errorMessage } from '../../errors.ts';

export interface GitRepositoryOptions {
  store: ArtifactStore;
  /** Where the artifact storage is served; artifact URLs are `<base>/<path>`. */
  advertiseBase: string;
}

type GitPass = Pass<GitRepository, GitRepositoryStatus>;

export function gitRepositoryReconciler(
  ctx: ControllerContext,
  events: EventRecorder,
  options: GitRepositoryOptions,
): ReconcileFunc {
  return sourceReconciler(ctx, events, {
    api: GitRepositoryApi,
    failureReason: 'GitOperationFailed',
    store: options.store,
    fetch: reconcileArtifact,
  });

  /** The remote revision, and a new artifact when it is not the stored one; returns the Ready message. */
  async function reconcileArtifact(pass: GitPass): Promise<string> {
    const { object: repo, status } = pass;
    const { spec } = repo;
    refuseUnsupported(
      [
        spec.verify ? 'spec.verify (commit signature verification)' : undefined,
        spec.provider && spec.provider !== 'generic' ? `spec.provider '${spec.provider}'` : undefined,
        spec.proxySecretRef ? 'spec.proxySecretRef' : undefined,
      ],
      'GitOperationFailed',
      'fetch the repository',
    );
    const credentials = await readCredentials(repo);
    const timeout = gitRepositoryTimeoutOf(repo.spec);
    let remote;
    try {
      remote = await lsRemote(repo.spec.url, repo.spec.ref, credentials, {
        timeout,
        signal: pass.request.signal,
      });
    } catch (error) {
      throw fetchFailure(error);
    }
    const { ignore, recurseSubmodules, sparseCheckout } = repo.spec;
    const included = await includedArtifacts(repo);
    const current = status.artifact;
    // As Flux: a new artifact when the revision, or what is taken from it, changed.
    const upToDate =
      current?.revision === remote.revision &&
      status.observedIgnore === ignore &&
      (status.observedRecurseSubmodules ?? false) === (recurseSubmodules ?? false) &&
      isDeepStrictEqual(status.observedSparseCheckout ?? [], sparseCheckout ?? []) &&
      isDeepStrictEqual(status.observedInclude ?? [], repo.spec.include ?? []) &&
      isDeepStrictEqual(
        (status.includedArtifacts ?? []).map((a) => a.digest),
        included.map(({ artifact }) => artifact.digest),
      ) &&
      (await options.store.exists(current.path));
    if (!upToDate) {
      pass.progress(`building artifact: new upstream revision '${remote.revision}'`);
      const workDir = await mkdtemp(path.join(tmpdir(), 'gitrepository-'));
      try {
        let fetched;
        try {
          fetched = await checkout({
            url: repo.spec.url,
            ref: repo.spec.ref,
            credentials,
            dir: path.join(workDir, 'checkout'),
            sparseCheckout,
            recurseSubmodules,
            timeout,
            signal: pass.request.signal,
          });
        } catch (error) {
          throw fetchFailure(error);
        }
        await copyIncluded(included, fetched.checkoutDir, workDir);
        status.artifact = await buildArtifact({
          store: options.store,
          kind: GitRepositoryApi.kind,
          namespace: repo.metadata.namespace ?? '',
          name: repo.metadata.name ?? '',
          sourceDir: fetched.checkoutDir,
          commit: fetched.commit,
          revision: fetched.revision,
          ignore,
          advertiseBase: options.advertiseBase,
        });
        status.observedIgnore = ignore;
        if (recurseSubmodules) status.observedRecurseSubmodules = true;
        else delete status.observedRecurseSubmodules;
        if (sparseCheckout?.length) status.observedSparseCheckout = sparseCheckout;
        else delete status.observedSparseCheckout;
        if (included.length > 0) {
          status.observedInclude = repo.spec.include;
          status.includedArtifacts = included.map(({ artifact }) => artifact);
        } else {
          delete status.observedInclude;
          delete status.includedArtifacts;
        }
        await pass.event(
          'Normal',
          `stored artifact for commit '${fetched.message.split('\n')[0]}'`,
          'NewArtifact',
          {
            [Annotation.sourceRevision]: status.artifact.revision,
            [Annotation.sourceDigest]: status.artifact.digest,
          },
        );
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    }
    // The advertised address may have changed since the artifact was stored (a new --storage-adv-addr).
    if (status.artifact) status.artifact.url = artifactUrl(options.advertiseBase, status.artifact.path);
    // Unlike Flux, which leaves them out silently: a file a Kustomization expects may be one of them.
    const leftOut = status.artifact?.metadata?.[leftOutSymlinksKey];
    const stored =
      `stored artifact for revision '${status.artifact?.revision}'` +
      (leftOut
        ? `; symlinks left out of the artifact (only files and directories are kept): ${leftOut}`
        : '');
    if (leftOut && !upToDate) {
      await pass.event(
        'Warning',
        `symlinks left out of the artifact, nothing is read through them: ${leftOut}`,
        'NewArtifact',
      );
    }
    return stored;
  }

  /** The artifacts of spec.include's GitRepositories (same namespace), each with where it goes. */
  async function includedArtifacts(
    repo: GitRepository,
  ): Promise<{ include: GitRepositoryInclude; artifact: Artifact }[]> {
    const namespace = repo.metadata.namespace ?? '';
    const found = [];
    for (const include of repo.spec.include ?? []) {
      const name = include.repository.name;
      const source =
        ctx.gitRepositories.get(namespace, name) ??
        (await ctx.objects.get<GitRepository & KubeObject>({
          apiVersion: GitRepositoryApi.apiVersion,
          kind: GitRepositoryApi.kind,
          namespace,
          name,
        }));
      if (!source) {
        throw new ReconcileError(
          'IncludeUnavailable',
          `could not get resource for include '${name}': GitRepository "${name}" not found`,
        );
      }
      const artifact = source.status?.artifact;
      if (!artifact || !(await options.store.exists(artifact.path))) {
        throw new ReconcileError(
          'IncludeUnavailable',
          `no artifact available for include '${name}': it has not stored one yet`,
        );
      }
      found.push({ include, artifact });
    }
    return found;
  }

  /** Copies each included artifact's `fromPath` (its root by default) to `toPath` (its name) in the checkout. */
  async function copyIncluded(
    included: { include: GitRepositoryInclude; artifact: Artifact }[],
    checkoutDir: string,
    workDir: string,
  ): Promise<void> {
    for (const [i, { include, artifact }] of included.entries()) {
      const name = include.repository.name;
      const unpacked = path.join(workDir, `include-${i}`);
      await extractArtifact(options.store.localPath(artifact.path), unpacked, artifact.digest);
      try {
        const inside = (root: string, relative: string) => {
          const at = path.resolve(root, relative.replace(/^\/+/, ''));
          return at === root || at.startsWith(root + path.sep) ? at : undefined;
        };
        const from = inside(unpacked, include.fromPath ?? '');
        if (!from || !(await stat(from).catch(() => undefined))?.isDirectory()) {
          throw new Error(`fromPath '${include.fromPath}' is not a directory of its artifact`);
        }
        const to = await writableInside(checkoutDir, include.toPath || name, 'toPath');
        await rm(to, { recursive: true, force: true });
        await cp(from, to, { recursive: true });
      } catch (error) {
        throw new ReconcileError(
          'IncludeUnavailable',
          `failed to copy include '${name}': ${errorMessage(error)}`,
          {
            cause: error,
          },
        );
      }
    }
  }

  /** The Secret named by spec.secretRef, decoded; it must live in the GitRepository's namespace. */
  async function readCredentials(repo: GitRepository): Promise<GitCredentials | undefined> {
    const name = repo.spec.secretRef?.name;
    if (!name) return undefined;
    const secret = await ctx.objects.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: repo.metadata.namespace,
      name,
    });
    if (!secret) {
      throw new ReconcileError(
        'AuthenticationFailed',
        `failed to get secret '${repo.metadata.namespace}/${name}': secrets "${name}" not found`,
      );
    }
    const data = (secret['data'] ?? {}) as Record<string, string>;
    return Object.fromEntries(
      Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    );
  }
}

/** Maps a git failure to the reason users see: bad credentials, bad URL, unknown ref, or another failure. */
function fetchFailure(error: unknown): ReconcileError {
  if (error instanceof GitError) {
    const reason = error.kind === 'Timeout' ? 'GitOperationFailed' : error.kind;
    return new ReconcileError(reason, error.message, { cause: error });
  }
  return new ReconcileError('GitOperationFailed', errorMessage(error), { cause: error });
}
