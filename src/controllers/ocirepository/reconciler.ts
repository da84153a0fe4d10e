// The OCIRepository reconciler: resolve the ref to a manifest digest (a tag, the highest tag a semver range
// allows, or a digest), and only when that revision, the ignore rules or the layer selector changed, download the
// selected layer (its digest checked), unpack it and archive it again (or copy it as it is), and store the
// artifact. Revisions, conditions, messages and events follow Flux's source-controller.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import semver from 'semver';
import type { Artifact } from '../../api/gitrepository.ts';
import {
  OCIRepositoryApi,
  defaultOciTimeout,
  type OCIRepository,
  type OCIRepositoryStatus,
} from '../../api/ocirepository.ts';
import { Annotation } from '../../api/meta.ts';
import { parseDuration } from '../../api/duration.ts';
import type { ReconcileFunc } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import {
  artifactUrl,
  buildArtifact,
  extractArtifact,
  fileDigest,
  type ArtifactStore,
} from '../../source/artifact.ts';
import {
  RegistryClient,
  dockerConfigCredentials,
  parseOciUrl,
  type OciManifest,
  type RegistryCredentials,
} from '../../source/oci.ts';
import { ReconcileError, type Pass } from '../reconcile.ts';
import { refuseUnsupported, sourceReconciler } from '../source.ts';
import type { ControllerContext } from '../manager.ts';
import { errorMessage, parseErrorWithoutText } from '../../errors.ts';
import { compilePattern, type Pattern } from '../../regexp.ts';

export interface OCIRepositoryOptions {
  store: ArtifactStore;
  /** Where the artifact storage is served; artifact URLs are `<base>/<path>`. */
  advertiseBase: string;
}

type OciPass = Pass<OCIRepository, OCIRepositoryStatus>;

export function ociRepositoryReconciler(
  ctx: ControllerContext,
  events: EventRecorder,
  options: OCIRepositoryOptions,
): ReconcileFunc {
  return sourceReconciler(ctx, events, {
    api: OCIRepositoryApi,
    failureReason: 'OCIArtifactPullFailed',
    store: options.store,
    fetch: reconcileArtifact,
  });

  /** The ref's revision, and a new artifact when it is not the stored one (or what is taken from it changed). */
  async function reconcileArtifact(pass: OciPass): Promise<string> {
    const { object: repo, status } = pass;
    const { spec } = repo;
    refuseUnsupported(
      [
        spec.verify ? 'spec.verify (cosign or notation signatures)' : undefined,
        spec.provider && spec.provider !== 'generic' ? `spec.provider '${spec.provider}'` : undefined,
        spec.serviceAccountName ? 'spec.serviceAccountName' : undefined,
        spec.certSecretRef ? 'spec.certSecretRef' : undefined,
        spec.proxySecretRef ? 'spec.proxySecretRef' : undefined,
      ],
      'OCIArtifactPullFailed',
      'fetch the artifact',
    );
    let reference;
    try {
      reference = parseOciUrl(spec.url);
    } catch (error) {
      throw new ReconcileError('URLInvalid', errorMessage(error), { stalled: true });
    }
    const signal = AbortSignal.any([
      pass.request.signal,
      AbortSignal.timeout(parseDuration(spec.timeout ?? defaultOciTimeout, 'spec.timeout')),
    ]);
    const registry = new RegistryClient(reference, {
      insecure: spec.insecure,
      credentials: await readCredentials(repo, reference.registry),
      signal,
    });
    const { revision, manifestRef } = await resolveRevision(registry, repo);
    const current = status.artifact;
    const upToDate =
      current?.revision === revision &&
      status.observedIgnore === spec.ignore &&
      isDeepStrictEqual(status.observedLayerSelector, spec.layerSelector) &&
      (await options.store.exists(current.path));
    if (!upToDate) {
      pass.progress(
        `building artifact: new revision '${revision}' for '${reference.registry}/${reference.repository}'`,
      );
      const { manifest } = await registry.manifest(manifestRef).catch((error: unknown) => {
        throw new ReconcileError(
          'OCIArtifactPullFailed',
          `failed to pull artifact from '${spec.url}': ${errorMessage(error)}`,
        );
      });
      status.artifact = await storeLayer(registry, repo, manifest, revision);
      if (spec.ignore === undefined) delete status.observedIgnore;
      else status.observedIgnore = spec.ignore;
      if (spec.layerSelector === undefined) delete status.observedLayerSelector;
      else status.observedLayerSelector = spec.layerSelector;
      const annotations = status.artifact.metadata ?? {};
      const origin =
        annotations['org.opencontainers.image.source'] && annotations['org.opencontainers.image.revision']
          ? `, origin source '${annotations['org.opencontainers.image.source']}', origin revision '${annotations['org.opencontainers.image.revision']}'`
          : '';
      await pass.event(
        'Normal',
        `stored artifact with revision '${revision}' from '${spec.url}'${origin}`,
        'NewArtifact',
        {
          [Annotation.sourceRevision]: status.artifact.revision,
          [Annotation.sourceDigest]: status.artifact.digest,
        },
      );
    }
    if (status.artifact) {
      // The advertised address may have changed since the artifact was stored (a new --storage-adv-addr).
      status.artifact.url = artifactUrl(options.advertiseBase, status.artifact.path);
      status.url = status.artifact.url;
    }
    return `stored artifact for digest '${status.artifact?.revision}'`;
  }

  /** Flux's revision for the ref: `<tag>@sha256:<hex>`, or `sha256:<hex>` for a digest. */
  async function resolveRevision(
    registry: RegistryClient,
    repo: OCIRepository,
  ): Promise<{ revision: string; manifestRef: string }> {
    const ref = repo.spec.ref ?? {};
    if (ref.digest) return { revision: ref.digest, manifestRef: ref.digest };
    let tag = ref.tag || 'latest';
    if (ref.semver) {
      const picked = await tagBySemver(registry, repo).catch((error: unknown) => {
        if (error instanceof ReconcileError) throw error;
        throw new ReconcileError(
          'ReadOperationFailed',
          `failed to determine the artifact tag for '${repo.spec.url}': ${errorMessage(error)}`,
        );
      });
      tag = picked;
    }
    try {
      const { digest } = await registry.manifest(tag);
      return { revision: `${tag}@${digest}`, manifestRef: digest };
    } catch (error) {
      throw new ReconcileError(
        'OCIArtifactPullFailed',
        `failed to determine artifact digest: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** The highest tag the semver range allows, among those semverFilter lets through. */
  async function tagBySemver(registry: RegistryClient, repo: OCIRepository): Promise<string> {
    const { semver: range = '', semverFilter } = repo.spec.ref ?? {};
    let constraint: semver.Range;
    try {
      // Flux's constraint library reads a comma as "and", which npm's semver spells with a space.
      constraint = new semver.Range(range.replaceAll(',', ' '));
    } catch {
      throw new ReconcileError('ReadOperationFailed', `semver '${range}' parse error: improper constraint`, {
        stalled: true,
      });
    }
    let filter: Pattern | undefined;
    try {
      filter = semverFilter ? compilePattern(semverFilter) : undefined;
    } catch (error) {
      throw new ReconcileError(
        'ReadOperationFailed',
        `spec.ref.semverFilter '${semverFilter}' is not a regular expression: ${errorMessage(error)}`,
        { stalled: true },
      );
    }
    const candidates = (await registry.tags())
      .filter((tag) => !filter || filter.test(tag))
      .map((tag) => ({ tag, version: semver.parse(tag.replace(/^v/, '')) }))
      .filter(
        (c): c is { tag: string; version: semver.SemVer } => c.version !== null && constraint.test(c.version),
      );
    candidates.sort((a, b) => semver.compareBuild(b.version, a.version));
    const best = candidates[0];
    if (!best) throw new Error(`no match found for semver: ${range}`);
    return best.tag;
  }

  /** Downloads the selected layer and stores it: unpacked and archived again, or (copy) as it is. */
  async function storeLayer(
    registry: RegistryClient,
    repo: OCIRepository,
    manifest: OciManifest,
    revision: string,
  ): Promise<Artifact> {
    const selector = repo.spec.layerSelector;
    const layerFailed = (message: string) => new ReconcileError('OCIArtifactLayerOperationFailed', message);
    if (manifest.layers.length === 0) throw layerFailed('no layers found in artifact');
    const layer = selector?.mediaType
      ? manifest.layers.find((l) => l.mediaType === selector.mediaType)
      : manifest.layers[0];
    if (!layer)
      throw layerFailed(`failed to find layer with media type '${selector?.mediaType}' in artifact`);
    const digest = revision.slice(revision.lastIndexOf('@') + 1);
    const { namespace = '', name = '' } = repo.metadata;
    const workDir = await mkdtemp(path.join(tmpdir(), 'ocirepository-'));
    try {
      const blob = path.join(workDir, 'layer.tgz');
      await registry.downloadBlob(layer.digest, blob, layer.size).catch((error: unknown) => {
        throw new ReconcileError(
          'OCIArtifactPullFailed',
          `failed to pull artifact from '${repo.spec.url}': ${errorMessage(error)}`,
        );
      });
      const metadata = manifest.annotations ?? {};
      if (selector?.operation === 'copy') {
        const storagePath = options.store.pathFor(OCIRepositoryApi.kind, namespace, name, digest);
        await options.store.writeAtomic(storagePath, (file) => copyFile(blob, file));
        await options.store.garbageCollect(storagePath);
        return {
          path: storagePath,
          url: artifactUrl(options.advertiseBase, storagePath),
          revision,
          digest: await fileDigest(options.store.localPath(storagePath), 'sha256'),
          lastUpdateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
        };
      }
      const contents = path.join(workDir, 'contents');
      await extractArtifact(blob, contents, layer.digest).catch((error: unknown) => {
        throw layerFailed(`failed to extract layer contents from artifact: ${errorMessage(error)}`);
      });
      const artifact = await buildArtifact({
        store: options.store,
        kind: OCIRepositoryApi.kind,
        namespace,
        name,
        sourceDir: contents,
        commit: digest,
        revision,
        ignore: repo.spec.ignore,
        advertiseBase: options.advertiseBase,
      });
      const merged = { ...metadata, ...artifact.metadata };
      return Object.keys(merged).length > 0 ? { ...artifact, metadata: merged } : artifact;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** The registry credentials of spec.secretRef, a kubernetes.io/dockerconfigjson Secret, for `registry`. */
  async function readCredentials(
    repo: OCIRepository,
    registry: string,
  ): Promise<RegistryCredentials | undefined> {
    const name = repo.spec.secretRef?.name;
    if (!name) return undefined;
    const id = `${repo.metadata.namespace}/${name}`;
    const secret = await ctx.objects.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: repo.metadata.namespace,
      name,
    });
    if (!secret) {
      throw new ReconcileError(
        'AuthenticationFailed',
        `failed to get credential: failed to get secret '${id}': secrets "${name}" not found`,
      );
    }
    const encoded = (secret['data'] as Record<string, string> | undefined)?.['.dockerconfigjson'];
    if (secret['type'] !== 'kubernetes.io/dockerconfigjson' || !encoded) {
      // Flux would pull anonymously; a Secret it ignores is better named.
      throw new ReconcileError(
        'AuthenticationFailed',
        `secret '${id}' must be of type kubernetes.io/dockerconfigjson with a .dockerconfigjson key (kubectl create secret docker-registry)`,
        { stalled: true },
      );
    }
    try {
      return dockerConfigCredentials(Buffer.from(encoded, 'base64').toString('utf8'), registry);
    } catch (error) {
      throw new ReconcileError(
        'AuthenticationFailed',
        `secret '${id}': its .dockerconfigjson is ${parseErrorWithoutText(error)}`,
        {
          stalled: true,
        },
      );
    }
  }
}
