// From an artifact to the objects to apply: unpack (digest checked), find spec.path inside it, generate
// kustomization.yaml, decrypt (spec.decryption), run kustomize, decrypt what it built, substitute variables, then
// stamp ownership and defaults on each object. Each step fails with the Ready reason Flux uses for it.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kustomization } from '../../api/kustomization.ts';
import type { Artifact } from '../../api/gitrepository.ts';
import { Annotation } from '../../api/meta.ts';
import type { KubeObject } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { splitApiVersion, type KindScopes } from '../../kube/discovery.ts';
import type { PathMatcher } from '../../kustomize/ignore-paths.ts';
import type { ObjectClient } from '../../kube/objects.ts';
import type { ArtifactStore } from '../../source/artifact.ts';
import { extractArtifact } from '../../source/artifact.ts';
import { securePath, kustomizeBuild } from '../../kustomize/build.ts';
import { generateKustomization } from '../../kustomize/generator.ts';
import { mergeVars, substituteVariables } from '../../kustomize/substitute.ts';
import { toYaml } from '../../kustomize/yaml.ts';
import { hasMark } from '../../ssa/annotations.ts';
import { ReconcileError } from '../reconcile.ts';
import { decryptionKeys, supportedKeys, type DecryptionKeys } from '../../sops/keys.ts';
import { SopsDecryptor } from '../../sops/sops.ts';
import { decryptObjects, decryptSources } from '../../sops/decrypt.ts';
import { errorMessage } from '../../errors.ts';

/** A revision's artifact, unpacked (digest checked) into a temporary directory when a phase first needs it. */
export class ArtifactFiles {
  private readonly store: ArtifactStore;
  private readonly artifact: Artifact;
  private unpacked: Promise<string> | undefined;

  constructor(store: ArtifactStore, artifact: Artifact) {
    this.store = store;
    this.artifact = artifact;
  }

  /** The artifact's root directory, unpacked. */
  async root(): Promise<string> {
    this.unpacked ??= this.unpack();
    try {
      return await this.unpacked;
    } catch (error) {
      throw new ReconcileError('ArtifactFailed', errorMessage(error), { cause: error });
    }
  }

  /** Removes the unpacked files, if any. */
  async remove(): Promise<void> {
    const dir = await this.unpacked?.catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  private async unpack(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'kustomization-'));
    try {
      await extractArtifact(this.store.localPath(this.artifact.path), dir, this.artifact.digest);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return dir;
  }

  /** The directory `specPath` names inside the unpacked artifact. */
  async dir(specPath: string | undefined): Promise<string> {
    const root = await this.root();
    // Like Flux, a leading "/" means the artifact root; ".." and symlinks may still not leave it.
    const relative = (specPath ?? '').replace(/^\/+/, '');
    try {
      return await securePath(root, relative);
    } catch (error) {
      // securePath already says "kustomization path not found" for a missing path; its other errors do not.
      const message = errorMessage(error);
      const prefixed = message.startsWith('kustomization path not found')
        ? message
        : `kustomization path not found: ${message}`;
      throw new ReconcileError('ArtifactFailed', prefixed, { cause: error });
    }
  }
}

export interface BuildOptions {
  kustomizeModule?: string;
  signal: AbortSignal;
  /** Flux's StrictPostBuildSubstitutions feature gate (on by default): a variable with no value is an error. */
  strictSubstitutions?: boolean;
  /** Files a generated kustomization.yaml leaves out (`sluice build --ignore-paths`). */
  ignore?: PathMatcher;
  /** Flux's --sops-age-secret: the age keys for a spec.decryption that names no secretRef. */
  sopsAgeSecret?: { namespace: string; name: string };
}

export interface BuiltManifests {
  objects: KubeObject[];
  /** sha256 of the built YAML: the history digest. */
  digest: string;
}

/**
 * Generates kustomization.yaml, runs kustomize, and substitutes postBuild variables. With no cluster
 * (`objects` undefined: `sluice build --dry-run`), substituteFrom is skipped, as `flux build --dry-run` does.
 */
export async function buildManifests(
  objects: ObjectClient | undefined,
  ks: Kustomization,
  root: string,
  dir: string,
  options: BuildOptions,
): Promise<BuiltManifests> {
  return substitute(objects, ks, await kustomizeManifests(objects, ks, root, dir, options), options);
}

/**
 * Generates `dir`'s kustomization.yaml with the spec's overlay and runs kustomize on it; with spec.decryption,
 * decrypts the files it generates from before and the objects it built after, with the keys read through
 * `objects` (the controller's own client, as in Flux).
 */
export async function kustomizeManifests(
  objects: ObjectClient | undefined,
  ks: Kustomization,
  root: string,
  dir: string,
  options: BuildOptions,
): Promise<KubeObject[]> {
  const keys = await readDecryptionKeys(objects, ks, options.sopsAgeSecret);
  const decryptor = keys && (await SopsDecryptor.open(keys, { signal: options.signal }).catch(buildFailed));
  try {
    await generateKustomization(dir, ks.spec, { root, ignore: options.ignore }).catch(buildFailed);
    if (decryptor) {
      await decryptSources(decryptor, dir, root).catch((error: unknown) => {
        throw new ReconcileError('BuildFailed', `error decrypting sources: ${errorMessage(error)}`, {
          cause: error,
        });
      });
    }
    const built = await kustomizeBuild(dir, {
      root,
      kustomizeModule: options.kustomizeModule,
      signal: options.signal,
    }).catch(buildFailed);
    if (!decryptor) return built;
    return await decryptObjects(decryptor, built).catch((error: unknown) => {
      throw new ReconcileError('BuildFailed', `decryption failed for ${errorMessage(error)}`, {
        cause: error,
      });
    });
  } finally {
    await decryptor?.close();
  }
}

function buildFailed(error: unknown): never {
  const message = errorMessage(error);
  throw new ReconcileError(
    'BuildFailed',
    message.startsWith('kustomize build failed') ? message : `kustomize build failed: ${message}`,
    { cause: error },
  );
}

/**
 * The keys of spec.decryption.secretRef, read from the Kustomization's namespace (without one, of the
 * controller's --sops-age-secret); undefined without spec.decryption. Refuses what sluice does not decrypt with
 * (cloud key services, workload identity).
 */
async function readDecryptionKeys(
  objects: ObjectClient | undefined,
  ks: Kustomization,
  ageSecret: BuildOptions['sopsAgeSecret'],
): Promise<DecryptionKeys | undefined> {
  const decryption = ks.spec.decryption;
  if (!decryption) return undefined;
  if (decryption.serviceAccountName) {
    throw new ReconcileError(
      'BuildFailed',
      `spec.decryption.serviceAccountName (workload identity for a cloud key service) is not supported by sluice; put ${supportedKeys} into the Secret that spec.decryption.secretRef names`,
      { stalled: true },
    );
  }
  // Without a secretRef, the controller-wide age Secret (only its age keys), as Flux's --sops-age-secret.
  const ref = decryption.secretRef?.name
    ? {
        namespace: ks.metadata.namespace ?? '',
        name: decryption.secretRef.name,
        label: 'sops decryption Secret',
      }
    : ageSecret && { ...ageSecret, label: 'sops SOPS age decryption Secret' };
  if (!ref) return { age: [], pgp: [] };
  const { namespace, name, label } = ref;
  const id = `${namespace}/${name}`;
  if (!objects) {
    throw new ReconcileError(
      'BuildFailed',
      `spec.decryption: the keys are in Secret '${id}' on the cluster, which a build without one (--dry-run) cannot read`,
    );
  }
  let secret: KubeObject | undefined;
  try {
    secret = await objects.get({ apiVersion: 'v1', kind: 'Secret', namespace, name });
  } catch (error) {
    if (!isNotFound(error)) {
      throw new ReconcileError('BuildFailed', `cannot get ${label} '${id}': ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
  if (!secret) {
    throw new ReconcileError('BuildFailed', `cannot get ${label} '${id}': secrets "${name}" not found`);
  }
  const data = (secret['data'] ?? {}) as Record<string, string>;
  // Of the controller-wide Secret, Flux reads the age keys only.
  const entries = decryption.secretRef?.name
    ? data
    : Object.fromEntries(Object.entries(data).filter(([entry]) => entry.endsWith('.agekey')));
  try {
    return decryptionKeys(id, entries, label);
  } catch (error) {
    throw new ReconcileError('BuildFailed', errorMessage(error), { cause: error });
  }
}

/** Flux's postBuild: substitutes the variables of `substitute` and `substituteFrom` into what kustomize built. */
export async function substitute(
  objects: ObjectClient | undefined,
  ks: Kustomization,
  kustomized: KubeObject[],
  options: Pick<BuildOptions, 'strictSubstitutions'>,
): Promise<BuiltManifests> {
  let built = kustomized;
  if (ks.spec.postBuild) {
    const fromSources = objects ? await substituteSources(objects, ks) : [];
    const vars = mergeVars(fromSources, ks.spec.postBuild.substitute ?? {});
    try {
      built = substituteVariables(built, vars, {
        substituteStrategy: ks.spec.postBuild.substituteStrategy,
        strict: options.strictSubstitutions ?? true,
      });
    } catch (error) {
      const skipped = !objects && ks.spec.postBuild.substituteFrom?.length;
      const hint = skipped ? ' (substituteFrom is not read without a cluster)' : '';
      throw new ReconcileError('BuildFailed', `${errorMessage(error)}${hint}`, { cause: error });
    }
  }
  return { objects: built, digest: `sha256:${createHash('sha256').update(toYaml(built)).digest('hex')}` };
}

/** The variables of each postBuild.substituteFrom entry, in order, read from the Kustomization's namespace. */
async function substituteSources(
  objects: ObjectClient,
  ks: Kustomization,
): Promise<Record<string, string>[]> {
  const sources: Record<string, string>[] = [];
  for (const ref of ks.spec.postBuild?.substituteFrom ?? []) {
    const id = `${ref.kind}/${ref.name}`;
    let live: KubeObject | undefined;
    try {
      live = await objects.get({
        apiVersion: 'v1',
        kind: ref.kind,
        namespace: ks.metadata.namespace,
        name: ref.name,
      });
    } catch (error) {
      if (!isNotFound(error))
        throw new ReconcileError('BuildFailed', `substitute from '${id}' error: ${errorMessage(error)}`);
    }
    if (!live) {
      if (ref.optional) continue;
      throw new ReconcileError(
        'BuildFailed',
        `substitute from '${id}' error: ${ref.kind} "${ref.name}" not found`,
      );
    }
    const data = (live['data'] ?? {}) as Record<string, string>;
    sources.push(
      ref.kind === 'Secret'
        ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))
        : data,
    );
  }
  return sources;
}

/**
 * Makes built objects ready to apply: owner labels and commonMetadata, the Kustomization's namespace for
 * namespaced objects that name none, no status (except on CRDs), and the SOPS guard.
 */
export async function prepareObjects(
  scopes: KindScopes,
  ks: Kustomization,
  built: KubeObject[],
): Promise<KubeObject[]> {
  const owner = ownerLabels(ks);
  const common = ks.spec.commonMetadata;
  const crdScopes = definedScopes(built);
  const prepared: KubeObject[] = [];
  for (const original of built) {
    const object = structuredClone(original);
    const metadata = (object.metadata ??= {});
    metadata.labels = { ...metadata.labels, ...common?.labels, ...owner };
    if (common?.annotations) metadata.annotations = { ...metadata.annotations, ...common.annotations };
    if (object.kind !== 'CustomResourceDefinition') delete object['status'];
    // Deliberately unlike Flux (which rejects the stage): a namespaced object with no namespace goes into
    // the Kustomization's namespace, so manifests written without one apply as they are.
    if (!metadata.namespace && (await isNamespaced(scopes, object, crdScopes)))
      metadata.namespace = ks.metadata.namespace;
    if (isSopsEncrypted(object)) {
      throw new ReconcileError(
        'ReconciliationFailed',
        `${object.kind}/${metadata.namespace}/${metadata.name} is SOPS encrypted, configuring decryption is required for this secret to be reconciled`,
      );
    }
    prepared.push(object);
  }
  return prepared;
}

export function ownerLabels(ks: Kustomization): Record<string, string> {
  return {
    [Annotation.kustomizeName]: ks.metadata.name ?? '',
    [Annotation.kustomizeNamespace]: ks.metadata.namespace ?? '',
  };
}

/** Scopes of kinds defined by CRDs in the same build, which discovery does not know yet. */
function definedScopes(built: KubeObject[]): Map<string, boolean> {
  const scopes = new Map<string, boolean>();
  for (const o of built) {
    if (o.kind !== 'CustomResourceDefinition') continue;
    const spec = o['spec'] as { group?: string; scope?: string; names?: { kind?: string } } | undefined;
    scopes.set(`${spec?.group}/${spec?.names?.kind}`, spec?.scope === 'Namespaced');
  }
  return scopes;
}

async function isNamespaced(
  scopes: KindScopes,
  object: KubeObject,
  crdScopes: Map<string, boolean>,
): Promise<boolean> {
  const defined = crdScopes.get(`${splitApiVersion(object.apiVersion ?? '').group}/${object.kind}`);
  // An unknown kind stays as written: the apply's dry-run reports it.
  return defined ?? (await scopes.isNamespaced(object.apiVersion ?? '', object.kind ?? '')) ?? false;
}

function isSopsEncrypted(object: KubeObject): boolean {
  return (
    object.apiVersion === 'v1' &&
    object.kind === 'Secret' &&
    object['sops'] !== undefined &&
    !hasMark(object, Annotation.decrypt, 'disabled')
  );
}
