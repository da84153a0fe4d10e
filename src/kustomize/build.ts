// Runs the real kustomize, compiled to WebAssembly (GOOS=wasip1), the way Flux builds (LoadRestrictionsNone: files
// outside the directory but inside the artifact may be used). Flux links kustomize with a filesystem that refuses
// paths outside the artifact root; here the build is confined by construction instead: it runs under WASI with only
// the artifact root opened, so whatever field, inline string, directory or symlink a repository uses, it can read
// no other file, open no socket and start no process (wasi.ts). The kustomization files are still walked first,
// only to name the file and entry in the errors users see most.
import { mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import type { KubeObject } from '../kube/client.ts';
import { findToolFile } from '../runtime/executables.ts';
import { findKustomizationFile, readKustomizationFile } from './generator.ts';
import { errorMessage } from '../errors.ts';
import { aheadBuild } from './build-priority.ts';
import { loadWasiModule, runWasi } from './wasi.ts';
import { isMapping, parseManifests, parseYamlDocuments } from './yaml.ts';

/** The kustomize release Flux v2.9 links (kustomize/api v0.21.1); keep in step with dev/cluster/versions.sh. */
export const kustomizeVersion = 'v5.8.1';

const defaultTimeoutMs = 120_000;
const defaultMaxOutputBytes = 64 * 1024 * 1024;
const defaultMaxMemoryBytes = 1024 * 1024 * 1024;
/** Where the build sees the artifact root: its errors name files under it, which are then given relative. */
const guestRoot = '/artifact';

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
  /** kustomize's WebAssembly module; default $SLUICE_KUSTOMIZE_WASM, then the local build cache. */
  kustomizeModule?: string;
  /** The artifact root: the only directory the build can read. Default: the directory built. */
  root?: string;
  timeoutMs?: number;
  /** The largest build output accepted. */
  maxOutputBytes?: number;
  /** The most memory the build may take. */
  maxMemoryBytes?: number;
  signal?: AbortSignal;
}

/** `kustomize build` of `dir` (which must hold a kustomization file), parsed into objects. */
export async function kustomizeBuild(
  dir: string,
  options: KustomizeBuildOptions = {},
): Promise<KubeObject[]> {
  const root = await realpath(options.root ?? dir);
  const realDir = await realpath(dir);
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const maxOutputBytes = options.maxOutputBytes ?? defaultMaxOutputBytes;
  const maxMemoryBytes = options.maxMemoryBytes ?? defaultMaxMemoryBytes;
  let stdout: string;
  try {
    await checkReferences(realDir, root);
    const module = await loadWasiModule(await findKustomizeModule(options.kustomizeModule), maxMemoryBytes);
    const result = await runWasi(module, {
      args: ['kustomize', 'build', '--load-restrictor', 'LoadRestrictionsNone', guestPath(root, realDir)],
      preopen: { host: root, guest: guestRoot },
      timeoutMs,
      maxOutputBytes,
      signal: options.signal,
    });
    if (result.exitCode !== 0) throw new Error(describeFailure(result.stderr, maxMemoryBytes));
    stdout = result.stdout;
  } catch (error) {
    throw new Error(`kustomize build failed: ${errorMessage(error)}`, { cause: error });
  }
  return parseManifests(stdout, `output of kustomize build ${label(root, realDir)}`);
}

const warmedUp = new Map<string, Promise<void>>();

/**
 * Throwaway builds, so that V8 has compiled and optimised kustomize's WebAssembly before a release needs it: the
 * first build of a process takes about 0.7 s, the twentieth about 25 ms of running. Once per process and module
 * (the compiled code is the process's, whichever controllers start in it); each build waits its turn behind the
 * builds passes need (`aheadBuild`); a failure here is left for the next real build to report.
 */
export function warmUpKustomize(
  options: Pick<KustomizeBuildOptions, 'kustomizeModule'> = {},
  times = 20,
): Promise<void> {
  const key = options.kustomizeModule ?? '';
  let warming = warmedUp.get(key);
  if (!warming) {
    warming = throwawayBuilds(options, times);
    warmedUp.set(key, warming);
  }
  return warming;
}

async function throwawayBuilds(
  options: Pick<KustomizeBuildOptions, 'kustomizeModule'>,
  times: number,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-warm-up-'));
  try {
    await writeFile(join(dir, 'kustomization.yaml'), 'resources: [cm.yaml]\nnamePrefix: warm-\n');
    await writeFile(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: up\n');
    for (let i = 0; i < times; i++) await aheadBuild(() => kustomizeBuild(dir, options));
  } catch {
    // left for the next real build to report, as said above
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** kustomize's WebAssembly module, or an error saying how to provide one. */
export function findKustomizeModule(explicit?: string): Promise<string> {
  return findToolFile(
    {
      name: 'kustomize.wasm',
      version: kustomizeVersion,
      env: 'SLUICE_KUSTOMIZE_WASM',
      cacheName: 'kustomize-wasm',
    },
    explicit,
  );
}

// kustomize's message, with what the confinement refused said in words: a file outside the artifact root (WASI
// answers "Capabilities insufficient" for a symlink out, "Invalid argument" for a path under no opened directory),
// a network request (Go's WASI port has no sockets: every dial is refused), a program (no processes under WASI).
function describeFailure(stderr: string, maxMemoryBytes: number): string {
  // Go's log package stamps its lines with the time.
  const message = stderr
    .trim()
    .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /gm, '')
    .replace(/^Error: /, '');
  if (/fatal error: out of memory|runtime: out of memory/.test(message))
    return `it needed more than its memory limit of ${maxMemoryBytes / 1024 / 1024} MiB`;
  return message
    .replace(
      /(?:open|stat|lstat|readlink) (\/[^\s:]*): (?:Capabilities insufficient|Invalid argument|Operation not permitted)/g,
      (_match, path: string) =>
        `'${path}' is outside the artifact root, and a build reads only files inside it`,
    )
    .replace(
      /(?:Get|Post|Head) "([^"]+)": dial tcp [^\n]*/g,
      (_match, url: string) => `'${url}' is on the network, and a build makes no network requests`,
    )
    .replace(
      /exec: "?([\w./-]+)"?: [^\n]*(?:not supported|not implemented|not found)[^\n]*/g,
      (_match, program: string) => `running '${program}' is not possible: a build starts no programs`,
    )
    .replaceAll(`${guestRoot}/`, '')
    .replaceAll(`'${guestRoot}'`, "'.'");
}

function guestPath(root: string, path: string): string {
  const inside = relative(root, path);
  return inside ? `${guestRoot}/${inside.split(sep).join('/')}` : guestRoot;
}

interface Reference {
  field: string;
  value: string;
  /** resources, bases and components: may be remote, and may be directories with a kustomization. */
  base: boolean;
}

/**
 * Walks every kustomization file the build reaches from `dir` and refuses remote bases and
 * local paths (resources, patches, generator files...) that lead outside `root`, naming the file and entry;
 * resource files must be well-formed YAML.
 */
async function checkReferences(dir: string, root: string): Promise<void> {
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
        throw new Error(
          `${fileLabel}: ${field} entry '${value}' is a remote base, and a build makes no network requests ` +
            `(copy it into the repository, or include its GitRepository with spec.include)`,
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
