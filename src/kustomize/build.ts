// Runs the real kustomize binary on a directory of an artifact, the way Flux builds it (LoadRestrictionsNone:
// files outside the directory but inside the artifact may be used). Flux links kustomize with a filesystem
// that refuses paths outside the artifact root and, with --no-remote-bases, remote bases; the binary has no
// such switches, so every kustomization file the build can reach is checked first.
import { execFile } from 'node:child_process';
import { readFile, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import type { KubeObject } from '../kube/client.ts';
import { findExecutable } from '../runtime/executables.ts';
import { findKustomizationFile, readKustomizationFile } from './generator.ts';
import { isMapping, parseManifests, parseYamlDocuments } from './yaml.ts';

/** The kustomize release Flux v2.9 links (kustomize/api v0.21.1); keep in step with dev/cluster/versions.sh. */
export const kustomizeVersion = 'v5.8.1';

const defaultTimeoutMs = 120_000;
const defaultMaxOutputBytes = 64 * 1024 * 1024;
const execFileAsync = promisify(execFile);

/**
 * Joins spec.path onto the artifact root and returns the real path of that directory. Refuses absolute
 * paths, `..` that climbs out, and symlinks (anywhere along the path) that lead out of the root.
 */
export async function securePath(root: string, relPath = ''): Promise<string> {
  if (isAbsolute(relPath)) {
    throw new Error(`kustomization path '${relPath}' must be relative to the artifact root, not absolute`);
  }
  const normalized = normalize(relPath || '.');
  if (normalized === '..' || normalized.startsWith(`..${sep}`)) {
    throw new Error(`kustomization path '${relPath}' points outside the artifact root`);
  }
  const realRoot = await realpath(root);
  let real: string;
  try {
    real = await realpath(join(realRoot, normalized));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new Error(`kustomization path not found: '${relPath}' does not exist in the artifact`, {
      cause: error,
    });
  }
  if (!isInside(realRoot, real)) {
    throw new Error(
      `kustomization path '${relPath}' leads through a symlink to ${real}, outside the artifact root`,
    );
  }
  if (!(await stat(real)).isDirectory())
    throw new Error(`kustomization path '${relPath}' is not a directory`);
  return real;
}

export interface KustomizeBuildOptions {
  /** The kustomize executable; default $SLUICE_KUSTOMIZE, then `kustomize` on PATH, then the local build cache. */
  kustomizeBinary?: string;
  /** Let kustomize fetch remote bases (git or HTTP URLs). Default false, like Flux's --no-remote-bases=true. */
  allowRemoteBases?: boolean;
  /** The artifact root, which no file the build reads may be outside of. Default: the directory built. */
  root?: string;
  timeoutMs?: number;
  /** The largest build output accepted. */
  maxOutputBytes?: number;
  signal?: AbortSignal;
}

/** `kustomize build` of `dir` (which must hold a kustomization file), parsed into objects. */
export async function kustomizeBuild(
  dir: string,
  options: KustomizeBuildOptions = {},
): Promise<KubeObject[]> {
  const root = await realpath(options.root ?? dir);
  const realDir = await realpath(dir);
  try {
    await checkReferences(realDir, root, options.allowRemoteBases ?? false);
  } catch (error) {
    throw new Error(`kustomize build failed: ${(error as Error).message}`, { cause: error });
  }
  const binary = await findKustomizeBinary(options.kustomizeBinary);
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const maxOutputBytes = options.maxOutputBytes ?? defaultMaxOutputBytes;
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(
      binary,
      ['build', '--load-restrictor', 'LoadRestrictionsNone', realDir],
      {
        cwd: realDir,
        env: buildEnvironment(options.allowRemoteBases ?? false),
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: maxOutputBytes,
        signal: options.signal,
        encoding: 'utf8',
      },
    ));
  } catch (error) {
    throw new Error(`kustomize build failed: ${describeFailure(error, binary, timeoutMs, maxOutputBytes)}`, {
      cause: error,
    });
  }
  return parseManifests(stdout, `output of kustomize build ${label(root, realDir)}`);
}

/** The kustomize executable to run, or an error saying how to provide one. */
export function findKustomizeBinary(explicit?: string): Promise<string> {
  return findExecutable({ name: 'kustomize', version: kustomizeVersion, env: 'SLUICE_KUSTOMIZE' }, explicit);
}

// Nothing of the controller's environment (credentials, kubeconfig) reaches kustomize; git and proxies may,
// for remote bases.
function buildEnvironment(allowRemoteBases: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: homedir(),
  };
  if (allowRemoteBases) {
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) {
      if (process.env[name]) env[name] = process.env[name];
    }
  }
  return env;
}

function describeFailure(error: unknown, binary: string, timeoutMs: number, maxOutputBytes: number): string {
  const failure = error as NodeJS.ErrnoException & { stderr?: string; killed?: boolean; signal?: string };
  if (failure.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
    return `its output exceeds ${maxOutputBytes} bytes`;
  if (failure.name === 'AbortError') return 'cancelled';
  if (failure.killed && failure.signal === 'SIGKILL') return `timed out after ${timeoutMs / 1000}s`;
  if (failure.code === 'ENOENT' || failure.code === 'EACCES')
    return `cannot run ${binary}: ${failure.message}`;
  const stderr = (failure.stderr ?? '').trim().replace(/^Error: /, '');
  return stderr || failure.message;
}

interface Reference {
  field: string;
  value: string;
  /** resources, bases and components: may be remote, and may be directories with a kustomization. */
  base: boolean;
}

/**
 * Walks every kustomization file the build reaches from `dir` and refuses remote bases (unless allowed) and
 * local paths (resources, patches, generator files...) that lead outside `root`, naming the file and entry;
 * resource files must be well-formed YAML.
 */
async function checkReferences(dir: string, root: string, allowRemoteBases: boolean): Promise<void> {
  const visited = new Set<string>();
  const visit = async (kustomizationDir: string): Promise<void> => {
    const file = await findKustomizationFile(kustomizationDir);
    if (!file || visited.has(file)) return;
    visited.add(file);
    const fileLabel = label(root, file);
    const kustomization = await readKustomizationFile(file, fileLabel);
    for (const { field, value, base } of referencesOf(kustomization)) {
      const target = resolve(kustomizationDir, value);
      const exists = await stat(target).catch(() => undefined);
      if (base && isRemote(value, exists !== undefined)) {
        if (allowRemoteBases) continue;
        throw new Error(
          `${fileLabel}: ${field} entry '${value}' is a remote base, and remote bases are not allowed ` +
            `(copy it into the repository, or allow remote bases)`,
        );
      }
      const real = exists ? await realpath(target) : target;
      if (!isInside(root, real)) {
        throw new Error(
          `${fileLabel}: ${field} entry '${value}' points to ${real}, outside the artifact root`,
        );
      }
      if (base && exists?.isDirectory()) await visit(real);
      // kustomize's own YAML errors name neither the file nor the line.
      if (base && exists?.isFile()) parseYamlDocuments(await readFile(real, 'utf8'), label(root, real));
    }
  };
  await visit(dir);
}

/** The file and directory paths a kustomization refers to (inline patches and plugin configs are not paths). */
function referencesOf(kustomization: Record<string, unknown>): Reference[] {
  const references: Reference[] = [];
  const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  const add = (field: string, values: string[], base = false): void => {
    for (const value of values) if (value && !value.includes('\n')) references.push({ field, value, base });
  };
  for (const field of ['resources', 'bases', 'components']) add(field, strings(kustomization[field]), true);
  for (const field of [
    'crds',
    'configurations',
    'generators',
    'transformers',
    'validators',
    'patchesStrategicMerge',
  ]) {
    add(field, strings(kustomization[field]));
  }
  for (const field of ['patches', 'patchesJson6902', 'replacements']) {
    const entries = Array.isArray(kustomization[field]) ? (kustomization[field] as unknown[]) : [];
    for (const entry of entries)
      if (isMapping(entry) && typeof entry.path === 'string') add(field, [entry.path]);
  }
  const openapi = kustomization.openapi;
  if (isMapping(openapi) && typeof openapi.path === 'string') add('openapi', [openapi.path]);
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    const generators = Array.isArray(kustomization[field]) ? (kustomization[field] as unknown[]) : [];
    for (const generator of generators) {
      if (!isMapping(generator)) continue;
      // A files entry is `path` or `key=path`.
      add(
        field,
        strings(generator.files).map((entry) => entry.slice(entry.indexOf('=') + 1)),
      );
      add(field, strings(generator.envs));
      if (typeof generator.env === 'string') add(field, [generator.env]);
    }
  }
  return references;
}

// kustomize fetches git repositories and HTTP(S) files; anything that exists on disk is local.
function isRemote(value: string, existsLocally: boolean): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return true;
  const lower = value.toLowerCase();
  if (['git::', 'gh:', 'git@', 'github.com:', 'github.com/'].some((prefix) => lower.startsWith(prefix)))
    return true;
  // `gitlab.example.com/org/repo`: a host name as the first segment of a path that is not on disk.
  return !existsLocally && /^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}\//i.test(value);
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function label(root: string, path: string): string {
  const relativePath = relative(root, path);
  if (relativePath === '') return '.';
  return relativePath.startsWith('..') || isAbsolute(relativePath) ? path : relativePath.split(sep).join('/');
}
