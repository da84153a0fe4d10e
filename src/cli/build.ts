// `sluice build ks NAME --path DIR`: what the controller would apply for a local directory, with the
// Kustomization's settings (live, or from --kustomization-file; --dry-run needs no cluster), Secret values
// masked. The flags are `flux build ks`'s.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Kustomization } from '../api/kustomization.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import type { KubeObject } from '../kube/client.ts';
import { ObjectClient } from '../kube/objects.ts';
import {
  buildLocal,
  kustomizationFromFile,
  type LocalBuild,
} from '../controllers/kustomization/local-build.ts';
import { toYaml } from '../kustomize/yaml.ts';
import { errorMessage } from '../errors.ts';
import { booleanOption, durationMs, withClusterOptions, type ClusterOptions } from './flags.ts';
import { runWithClient, statusLog } from './status-log.ts';

/** The live Kustomization, or a clear error naming it. */
export async function getKustomization(
  objects: ObjectClient,
  namespace: string,
  name: string,
): Promise<Kustomization> {
  const ks = await objects.get<Kustomization & KubeObject>(kustomizationRef(namespace, name));
  if (!ks) throw new Error(`Kustomization object '${name}' not found in "${namespace}" namespace`);
  return ks;
}

const kustomizationRef = (namespace: string, name: string) => ({
  apiVersion: KustomizationApi.apiVersion,
  kind: KustomizationApi.kind,
  namespace,
  name,
});

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

/** The flags `flux build ks` and `flux diff ks` share. */
export interface LocalBuildFlags extends ClusterOptions {
  path: string;
  kustomizationFile?: string;
  ignorePaths: string[];
  strictSubstitute: boolean;
  recursive: boolean;
  localSources: Map<string, string>;
  timeout: number;
}

/** cobra's string-slice flag: comma-separated values, and the flag may be given again. */
const appendList = (value: string, previous: string[]): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

/** cobra's string-to-string flag: `Kind/namespace/name=path` pairs, comma-separated or repeated. */
function appendLocalSources(value: string, previous: Map<string, string>): Map<string, string> {
  const next = new Map(previous);
  for (const pair of value.split(',').filter(Boolean)) {
    const at = pair.indexOf('=');
    const key = pair.slice(0, Math.max(at, 0));
    if (at < 1 || key.split('/').length !== 3 || pair.slice(at + 1) === '')
      throw new InvalidArgumentError(`expected Kind/namespace/name=path, got ${JSON.stringify(pair)}`);
    next.set(key, pair.slice(at + 1));
  }
  return next;
}

/** Adds the flags of a local build, as `flux build ks` names them. */
export function withLocalBuildOptions(command: Command): Command {
  return withClusterOptions(command)
    .argument('<name>', 'the Kustomization whose settings the build uses')
    .requiredOption('--path <dir>', 'the local directory to build')
    .option(
      '--kustomization-file <file>',
      'read the Kustomization from this YAML file instead of the cluster (its live status is still used)',
    )
    .addOption(
      new Option('--ignore-paths <patterns>', 'files to leave out, in .gitignore format, comma-separated')
        .argParser(appendList)
        .default([], 'none'),
    )
    .addOption(
      booleanOption(
        '--strict-substitute',
        'fail on a ${var} with no value and no default, as the controller does (=false: substitute nothing)',
        true,
      ),
    )
    .addOption(booleanOption('-r, --recursive', 'also build the Kustomizations the build declares', false))
    .addOption(
      new Option(
        '--local-sources <sources>',
        'local directories of sources, for --recursive: Kind/namespace/name=path, comma-separated',
      )
        .argParser(appendLocalSources)
        .default(new Map<string, string>(), 'none'),
    )
    .addOption(
      new Option('--timeout <duration>', 'how long the build may take')
        .argParser(durationMs)
        .default(80_000, '80s'),
    );
}

/** The Kustomization to build with: from --kustomization-file (with the live status, if any) or the cluster. */
export async function resolveKustomization(
  cluster: ObjectClient | undefined,
  name: string,
  flags: LocalBuildFlags,
): Promise<Kustomization> {
  if (!flags.kustomizationFile) {
    if (!cluster)
      throw new Error('--dry-run needs --kustomization-file: there is no cluster to read it from');
    return getKustomization(cluster, flags.namespace, name);
  }
  const declared = await kustomizationFromFile(flags.kustomizationFile, name, flags.namespace);
  const live = await cluster?.get<Kustomization & KubeObject>(kustomizationRef(flags.namespace, name));
  return live ? { ...declared, status: live.status } : declared;
}

/** Builds the directory the flags name, for `name`; `cluster` is undefined in --dry-run. */
export async function buildFromFlags(
  cluster: ObjectClient | undefined,
  name: string,
  flags: LocalBuildFlags,
): Promise<LocalBuild[]> {
  const ks = await resolveKustomization(cluster, name, flags);
  return buildLocal(ks, flags.path, {
    cluster,
    ignorePaths: flags.ignorePaths,
    strictSubstitutions: flags.strictSubstitute,
    recursive: flags.recursive,
    localSources: flags.localSources,
    signal: AbortSignal.timeout(flags.timeout),
  });
}

interface BuildFlags extends LocalBuildFlags {
  dryRun: boolean;
}

const printBuilds = (builds: LocalBuild[]) =>
  process.stdout.write(toYaml(builds.flatMap((b) => b.objects).map(maskSecrets)));

export function buildCommand(): Command {
  const ks = withLocalBuildOptions(
    new Command('kustomization')
      .alias('ks')
      .description(
        'print the objects the controller would apply for a local directory, Secret values masked',
      ),
  )
    .addOption(
      booleanOption(
        '--dry-run',
        'no cluster: the Kustomization comes from --kustomization-file, substituteFrom is not read, and kind scopes are those of Kubernetes and Flux',
        false,
      ),
    )
    .action(async (name: string, flags: BuildFlags) => {
      if (!flags.dryRun) {
        await runWithClient(flags, async (client) => {
          printBuilds(await buildFromFlags(new ObjectClient(client), name, flags));
        });
        return;
      }
      try {
        printBuilds(await buildFromFlags(undefined, name, flags));
      } catch (error) {
        statusLog().failure(errorMessage(error));
        process.exitCode = 1;
      }
    });
  return new Command('build').description('build a Kustomization locally').addCommand(ks);
}
