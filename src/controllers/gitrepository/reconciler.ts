// The GitRepository reconciler: resolve the ref's revision with a cheap ls-remote, and only when it differs
// from the stored artifact (or the ignore rules changed) clone, archive and store a new artifact. Status and
// events follow Flux's source-controller; a fetch failure is retried with backoff.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GitRepository, GitRepositoryStatus } from '../../api/gitrepository.ts';
import { GitRepositoryApi } from '../../api/gitrepository.ts';
import { Annotation, FieldManager } from '../../api/meta.ts';
import { gitRepositoryTimeoutOf, parseDuration } from '../../api/duration.ts';
import type { KubeObject } from '../../kube/client.ts';
import { withJitter, type ReconcileFunc, type ReconcileRequest } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { deleteCondition, markReconciling, setCondition } from '../../runtime/conditions.ts';
import { buildArtifact, type ArtifactStore } from '../../source/artifact.ts';
import { checkout, lsRemote, type GitCredentials } from '../../source/git.ts';
import { GitError } from '../../source/errors.ts';
import { addFinalizer, finalizeStatus, hasFinalizer, patchStatus, removeFinalizer } from '../status.ts';
import type { ControllerContext } from '../manager.ts';
import { errorMessage } from '../../errors.ts';


export interface GitRepositoryOptions {
  store: ArtifactStore;
  /** Where the artifact storage is served; artifact URLs are `<base>/<path>`. */
  advertiseBase: string;
}

interface Pass {
  repo: GitRepository;
  status: GitRepositoryStatus;
  request: ReconcileRequest;
}

/** A failure with the condition reason it is reported under. */
class SourceError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

export function gitRepositoryReconciler(
  ctx: ControllerContext,
  events: EventRecorder,
  options: GitRepositoryOptions,
): ReconcileFunc {
  return async function reconcile(request) {
    const repo = await ctx.objects.get<GitRepository & KubeObject>({
      apiVersion: GitRepositoryApi.apiVersion,
      kind: GitRepositoryApi.kind,
      namespace: request.namespace,
      name: request.name,
    });
    if (!repo) return {};
    if (repo.metadata['deletionTimestamp']) {
      await options.store.removeAll(GitRepositoryApi.kind, request.namespace, request.name);
      if (hasFinalizer(repo)) await removeFinalizer(ctx.objects, repo);
      return {};
    }
    if (!hasFinalizer(repo)) {
      await addFinalizer(ctx.objects, repo);
      return { requeueAfterMs: 0 };
    }
    const pass: Pass = { repo, status: structuredClone(repo.status ?? {}), request };
    if (repo.spec.suspend) {
      request.log.info('Reconciliation is suspended for this object');
      await writeStatus(pass);
      return {};
    }
    try {
      await reconcileArtifact(pass);
    } catch (error) {
      if (request.signal.aborted) throw error;
      await reportFailure(pass, error);
      throw error; // retried with backoff, as Flux's source-controller does
    }
    await writeStatus(pass);
    return { requeueAfterMs: withJitter(parseDuration(repo.spec.interval, 'spec.interval')) };
  };

  async function reconcileArtifact(pass: Pass): Promise<void> {
    const { repo, status } = pass;
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
    const ignore = repo.spec.ignore;
    const current = status.artifact;
    const upToDate =
      current?.revision === remote.revision &&
      status.observedIgnore === ignore &&
      (await options.store.exists(current.path));
    if (!upToDate) {
      markReconciling(
        status,
        repo.metadata.generation,
        'Progressing',
        `building artifact: new upstream revision '${remote.revision}'`,
      );
      await patchStatus(ctx.objects, repo, status, FieldManager.gitRepositoryStatus);
      const workDir = await mkdtemp(path.join(tmpdir(), 'gitrepository-'));
      try {
        let fetched;
        try {
          fetched = await checkout({
            url: repo.spec.url,
            ref: repo.spec.ref,
            credentials,
            dir: path.join(workDir, 'checkout'),
            timeout,
            signal: pass.request.signal,
          });
        } catch (error) {
          throw fetchFailure(error);
        }
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
        await events.record(
          repo,
          'Normal',
          'NewArtifact',
          `stored artifact for commit '${fetched.message.split('\n')[0]}'`,
          {
            [Annotation.sourceRevision]: status.artifact.revision,
            [Annotation.sourceDigest]: status.artifact.digest,
          },
        );
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    }
    const stored = `stored artifact for revision '${status.artifact?.revision}'`;
    deleteCondition(status, 'FetchFailed');
    setCondition(status, repo.metadata.generation, {
      type: 'ArtifactInStorage',
      status: 'True',
      reason: 'Succeeded',
      message: stored,
    });
    setCondition(status, repo.metadata.generation, {
      type: 'Ready',
      status: 'True',
      reason: 'Succeeded',
      message: stored,
    });
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
      throw new SourceError(
        'AuthenticationFailed',
        `failed to get secret '${repo.metadata.namespace}/${name}': secrets "${name}" not found`,
      );
    }
    const data = (secret['data'] ?? {}) as Record<string, string>;
    return Object.fromEntries(
      Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    );
  }

  async function reportFailure(pass: Pass, error: unknown): Promise<void> {
    const { repo, status } = pass;
    const reason = error instanceof SourceError ? error.reason : 'GitOperationFailed';
    const message = errorMessage(error);
    setCondition(status, repo.metadata.generation, { type: 'FetchFailed', status: 'True', reason, message });
    setCondition(status, repo.metadata.generation, { type: 'Ready', status: 'False', reason, message });
    await writeStatus(pass);
    await events.record(repo, 'Warning', reason, message);
  }

  async function writeStatus(pass: Pass): Promise<void> {
    finalizeStatus(pass.repo, pass.status);
    await patchStatus(ctx.objects, pass.repo, pass.status, FieldManager.gitRepositoryStatus);
  }
}

/** Maps a git failure to the reason users see: bad credentials, bad URL, unknown ref, or another failure. */
function fetchFailure(error: unknown): SourceError {
  if (error instanceof GitError)
    return new SourceError(error.kind === 'Timeout' ? 'GitOperationFailed' : error.kind, error.message, {
      cause: error,
    });
  return new SourceError('GitOperationFailed', errorMessage(error), {
    cause: error,
  });
}
