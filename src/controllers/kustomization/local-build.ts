// What the Kustomization controller would apply for a local directory: `sluice build` and `sluice diff`. The
// directory is built from what an artifact of its repository would hold (so .sourceignore, the default ignore
// rules and the GitRepository's `ignore` apply, symlinks are left out and `../bases` inside the repository is
// reachable), with the same build and preparation as a reconcile. The user's directory is never written to.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { KustomizationApi, type Kustomization } from '../../api/kustomization.ts';
import { GitRepositoryApi, type GitRepository } from '../../api/gitrepository.ts';
import type { KubeObject } from '../../kube/client.ts';
import type { ObjectClient } from '../../kube/objects.ts';
import { builtinKindScopes } from '../../kube/builtin-kinds.ts';
import { dropIgnoredEntries, ignorePathsMatcher } from '../../kustomize/ignore-paths.ts';
import { isMapping, parseYamlDocuments } from '../../kustomize/yaml.ts';
import { archiveDirectory, extractArtifact } from '../../source/artifact.ts';
import { loadSourceFilter } from '../../source/ignore.ts';
import { buildManifests, prepareObjects } from './manifests.ts';

export interface LocalBuildOptions {
  /** Where substituteFrom, the source's ignore rules, kind scopes and live nested Kustomizations are read; none for --dry-run. */
  cluster?: ObjectClient;
  /** gitignore patterns of files to leave out (--ignore-paths). */
  ignorePaths: readonly string[];
  /** Flux's StrictPostBuildSubstitutions: a variable with no value and no default is an error. */
  strictSubstitutions: boolean;
  /** Also build the Kustomizations the build declares, each from its local source (--recursive). */
  recursive: boolean;
  /** `Kind/namespace/name` of a source → the local directory holding its files (--local-sources). */
  localSources: ReadonlyMap<string, string>;
  kustomizeModule?: string;
  signal: AbortSignal;
}

/** The objects one Kustomization would apply. */
export interface LocalBuild {
  kustomization: Kustomization;
  objects: KubeObject[];
}

/**
 * Builds `dir` for `ks`; with `recursive`, then every Kustomization it declares, from its source's local
 * directory and its declared spec (with the live status, when the cluster has it). The given one comes first.
 */
export async function buildLocal(
  ks: Kustomization,
  dir: string,
  options: LocalBuildOptions,
): Promise<LocalBuild[]> {
  const builds: LocalBuild[] = [];
  const seen = new Set<string>();
  const visit = async (kustomization: Kustomization, at: string): Promise<void> => {
    seen.add(keyOf(kustomization));
    const objects = await buildOne(kustomization, at, options);
    builds.push({ kustomization, objects });
    if (!options.recursive) return;
    for (const object of objects) {
      if (!isKustomization(object)) continue;
      const declared = object as unknown as Kustomization;
      if (seen.has(keyOf(declared))) continue;
      const live = await options.cluster?.get<Kustomization & KubeObject>(refOf(declared));
      const nested = live ? { ...declared, status: live.status } : declared;
      await visit(nested, localPathOf(nested, options.localSources));
    }
  };
  await visit(ks, dir);
  return builds;
}

async function buildOne(ks: Kustomization, dir: string, options: LocalBuildOptions): Promise<KubeObject[]> {
  if (!(await stat(dir).catch(() => undefined))?.isDirectory())
    throw new Error(`build path of Kustomization '${ks.metadata.name}': ${dir} is not a directory`);
  const at = path.resolve(dir);
  const root = localSourceRoot(ks, at, options.localSources) ?? (await repositoryRoot(at));
  const work = await mkdtemp(path.join(tmpdir(), 'sluice-build-'));
  try {
    const archive = path.join(work, 'artifact.tar.gz');
    const tree = path.join(work, 'tree');
    const filter = await loadSourceFilter(root, await sourceIgnore(options.cluster, ks));
    const { digest } = await archiveDirectory(root, archive, filter);
    await extractArtifact(archive, tree, digest);
    const ignore = ignorePathsMatcher(options.ignorePaths);
    if (options.ignorePaths.length > 0) await dropIgnoredEntries(tree, ignore);
    const inTree = path.join(tree, path.relative(root, at));
    if (!(await stat(inTree).catch(() => undefined))) {
      throw new Error(
        `${dir} is left out of the artifact of ${root} by its ignore rules (.sourceignore, the defaults or the GitRepository's spec.ignore)`,
      );
    }
    const built = await buildManifests(options.cluster, ks, tree, inTree, {
      kustomizeModule: options.kustomizeModule,
      strictSubstitutions: options.strictSubstitutions,
      ignore,
      signal: options.signal,
    });
    return await prepareObjects(options.cluster?.mapper ?? builtinKindScopes, ks, built.objects);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The Kustomization named `name` in `namespace` (or with no namespace, which then gets `namespace`) among the
 * documents of `file`, as `flux build --kustomization-file` picks it.
 */
export async function kustomizationFromFile(
  file: string,
  name: string,
  namespace: string,
): Promise<Kustomization> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      `--kustomization-file ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
    );
  });
  const found: string[] = [];
  for (const { value } of parseYamlDocuments(text, file)) {
    if (!isMapping(value) || !isKustomization(value as KubeObject)) continue;
    const ks = value as unknown as Kustomization;
    const at = ks.metadata?.namespace;
    found.push(`${at ?? '(no namespace)'}/${ks.metadata?.name}`);
    if (ks.metadata?.name === name && (at === namespace || !at)) {
      return { ...ks, metadata: { ...ks.metadata, namespace } };
    }
  }
  throw new Error(
    `no Kustomization '${name}' in namespace '${namespace}' in ${file}` +
      (found.length ? ` (it declares ${found.join(', ')}; pick the namespace with -n)` : ''),
  );
}

const isKustomization = (object: KubeObject): boolean =>
  object.kind === KustomizationApi.kind &&
  (object.apiVersion ?? '').startsWith(`${KustomizationApi.apiVersion.split('/')[0]}/`);

const keyOf = (ks: Kustomization): string => `${ks.metadata.namespace}/${ks.metadata.name}`;

const refOf = (ks: Kustomization) => ({
  apiVersion: KustomizationApi.apiVersion,
  kind: KustomizationApi.kind,
  namespace: ks.metadata.namespace,
  name: ks.metadata.name ?? '',
});

/** `Kind/namespace/name` of the Kustomization's source, as --local-sources names it. */
function sourceKeyOf(ks: Kustomization): string {
  const { kind, name, namespace } = ks.spec.sourceRef;
  return `${kind}/${namespace || ks.metadata.namespace}/${name}`;
}

function localPathOf(ks: Kustomization, localSources: ReadonlyMap<string, string>): string {
  const key = sourceKeyOf(ks);
  const local = localSources.get(key);
  if (local === undefined) {
    throw new Error(
      `cannot get local path for ${key} of Kustomization '${ks.metadata.name}': pass --local-sources ${key}=DIR`,
    );
  }
  return path.join(local, (ks.spec.path ?? '').replace(/^\/+/, ''));
}

/** The local directory given for the Kustomization's source, when `dir` is inside it. */
function localSourceRoot(
  ks: Kustomization,
  dir: string,
  localSources: ReadonlyMap<string, string>,
): string | undefined {
  const local = localSources.get(sourceKeyOf(ks));
  if (local === undefined) return undefined;
  const root = path.resolve(local);
  const inside = path.relative(root, dir);
  return inside.startsWith('..') || path.isAbsolute(inside) ? undefined : root;
}

/** The `spec.ignore` of the Kustomization's GitRepository, which its artifacts were filtered by. */
async function sourceIgnore(
  cluster: ObjectClient | undefined,
  ks: Kustomization,
): Promise<string | undefined> {
  const { kind, name, namespace } = ks.spec.sourceRef;
  if (!cluster || kind !== GitRepositoryApi.kind) return undefined;
  const source = await cluster.get<GitRepository & KubeObject>({
    apiVersion: GitRepositoryApi.apiVersion,
    kind,
    namespace: namespace || ks.metadata.namespace,
    name,
  });
  return source?.spec.ignore;
}

/**
 * The repository `dir` belongs to: the nearest directory at or above it that holds a .git; else the current
 * directory when `dir` is inside it (as `flux build` lets kustomize read anything below it), unless that is the
 * home directory or `/`, which would be archived whole; else `dir` itself.
 */
async function repositoryRoot(dir: string): Promise<string> {
  for (let at = dir; ; at = path.dirname(at)) {
    if (await stat(path.join(at, '.git')).catch(() => undefined)) return at;
    if (path.dirname(at) === at) break;
  }
  const cwd = process.cwd();
  const inside = path.relative(cwd, dir);
  const tooWide = cwd === homedir() || cwd === path.parse(cwd).root;
  return tooWide || inside.startsWith('..') || path.isAbsolute(inside) ? dir : cwd;
}
