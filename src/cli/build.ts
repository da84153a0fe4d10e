// `sluice build ks NAME --path DIR`: what the controller would apply for a local directory, with the live
// Kustomization's settings (overlays, substitution, namespace, owner labels), Secret values masked; the files
// are those an artifact of the directory's repository would hold.
import { Command } from 'commander';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kustomization } from '../api/kustomization.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { GitRepositoryApi, type GitRepository } from '../api/gitrepository.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { ObjectClient } from '../kube/objects.ts';
import { buildManifests, prepareObjects } from '../controllers/kustomization/manifests.ts';
import { toYaml } from '../kustomize/yaml.ts';
import { archiveDirectory, extractArtifact } from '../source/artifact.ts';
import { loadSourceFilter } from '../source/ignore.ts';
import { withClusterOptions, type ClusterOptions } from './flags.ts';
import { runWithClient } from './status-log.ts';

/** The live Kustomization, or a clear error naming it. */
export async function getKustomization(
  objects: ObjectClient,
  namespace: string,
  name: string,
): Promise<Kustomization> {
  const ks = await objects.get<Kustomization & KubeObject>({
    apiVersion: KustomizationApi.apiVersion,
    kind: KustomizationApi.kind,
    namespace,
    name,
  });
  if (!ks) throw new Error(`Kustomization object '${name}' not found in "${namespace}" namespace`);
  return ks;
}

/**
 * Builds `dir` as the controller would for `ks`: from what an artifact of its repository would hold (the
 * repository is the nearest directory above with a .git, else `dir` itself), so .sourceignore and the default
 * ignore rules apply, symlinks are left out, and `../bases` inside the repository is reachable. The user's
 * directory is never written to.
 */
export async function buildLocal(client: KubeClient, ks: Kustomization, dir: string): Promise<KubeObject[]> {
  if (!(await stat(dir).catch(() => undefined))?.isDirectory())
    throw new Error(`--path ${dir}: not a directory`);
  const root = await repositoryRoot(path.resolve(dir));
  const work = await mkdtemp(path.join(tmpdir(), 'sluice-build-'));
  try {
    const archive = path.join(work, 'artifact.tar.gz');
    const tree = path.join(work, 'tree');
    const objects = new ObjectClient(client);
    const filter = await loadSourceFilter(root, await sourceIgnore(objects, ks));
    const { digest } = await archiveDirectory(root, archive, filter);
    await extractArtifact(archive, tree, digest);
    const at = path.join(tree, path.relative(root, path.resolve(dir)));
    const built = await buildManifests(objects, ks, tree, at, {
      allowRemoteBases: false,
      signal: AbortSignal.timeout(120_000),
    });
    return await prepareObjects(objects, ks, built.objects);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The `spec.ignore` of the Kustomization's GitRepository, which its artifacts were filtered by. */
async function sourceIgnore(objects: ObjectClient, ks: Kustomization): Promise<string | undefined> {
  const { kind, name, namespace } = ks.spec.sourceRef;
  if (kind !== GitRepositoryApi.kind) return undefined;
  const source = await objects.get<GitRepository & KubeObject>({
    apiVersion: GitRepositoryApi.apiVersion,
    kind,
    namespace: namespace || ks.metadata.namespace,
    name,
  });
  return source?.spec.ignore;
}

/** The nearest directory at or above `dir` that holds a .git, else `dir`. */
async function repositoryRoot(dir: string): Promise<string> {
  for (let at = dir; ; at = path.dirname(at)) {
    if (await stat(path.join(at, '.git')).catch(() => undefined)) return at;
    if (path.dirname(at) === at) return dir;
  }
}

/** A copy with every Secret value replaced, so builds and diffs can be shown and shared. */
export function maskSecrets(object: KubeObject): KubeObject {
  if (object.apiVersion !== 'v1' || object.kind !== 'Secret') return object;
  const masked = structuredClone(object);
  for (const field of ['data', 'stringData']) {
    const values = masked[field] as Record<string, string> | undefined;
    if (values) masked[field] = Object.fromEntries(Object.keys(values).map((k) => [k, '*****']));
  }
  return masked;
}

interface BuildOptions extends ClusterOptions {
  path: string;
}

export function buildCommand(): Command {
  const ks = withClusterOptions(
    new Command('kustomization')
      .alias('ks')
      .description('print the objects the controller would apply for a local directory, Secret values masked')
      .argument('<name>', 'the Kustomization whose settings the build uses')
      .requiredOption('--path <dir>', 'the local directory to build'),
  ).action(async (name: string, options: BuildOptions) => {
    await runWithClient(options, async (client) => {
      const live = await getKustomization(new ObjectClient(client), options.namespace, name);
      const objects = await buildLocal(client, live, options.path);
      process.stdout.write(toYaml(objects.map(maskSecrets)));
    });
  });
  return new Command('build').description('build a Kustomization locally').addCommand(ks);
}
