// Artifacts as Flux's source-controller stores and serves them: a gzip tarball of the filtered checkout whose
// bytes depend only on the content (sorted entries, regular files and directories only, no owners, zero
// mtimes, normalised modes), named `<kind>/<ns>/<name>/<commit>.tar.gz` and verified by its sha256 digest.
import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import type { ReadStream, Stats } from 'node:fs';
import { lstat, mkdir, readdir, readlink, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import type { Artifact } from '../api/gitrepository.ts';
import type { SourceFilter } from './ignore.ts';
import { loadSourceFilter } from './ignore.ts';

/** Flux's archive modes: what the owner needs, nothing for others. */
const directoryMode = 0o750;
const executableMode = 0o700;
const fileMode = 0o600;
/** The tarball itself, as Flux writes it. */
const archiveFileMode = 0o600;

/** Flux keeps the current artifact and the one before it (`--artifact-retention-records=2`). */
const defaultRetention = 2;

const digestAlgorithms = new Set(['sha256', 'sha384', 'sha512']);

export interface ArchiveResult {
  /** `sha256:<hex>` of the .tar.gz bytes. */
  digest: string;
  size: number;
  /** The symlinks the archive leaves out (only files and directories go in, as in Flux), with their targets. */
  leftOut: LeftOutSymlink[];
}

export interface LeftOutSymlink {
  path: string;
  target: string;
}

/** Where an artifact records the symlinks it left out, `path -> target` separated by ", ". */
export const leftOutSymlinksKey = 'sluice.dev/left-out-symlinks';

/** Local storage of artifacts, laid out as Flux's: `<root>/<kind>/<namespace>/<name>/<file>`. */
export class ArtifactStore {
  readonly root: string;
  /** How many artifacts of one object are kept, the newest first. */
  readonly retain: number;

  constructor(root: string, options: { retain?: number } = {}) {
    this.root = path.resolve(root);
    this.retain = Math.max(1, options.retain ?? defaultRetention);
  }

  /** The storage path of an object's artifact for a commit, e.g. `gitrepository/default/app/<hex>.tar.gz`. */
  pathFor(kind: string, namespace: string, name: string, commit: string): string {
    return `${this.objectPath(kind, namespace, name)}/${checkedPart(commit)}.tar.gz`;
  }

  /** The directory of one object's artifacts, e.g. `gitrepository/default/app`. */
  objectPath(kind: string, namespace: string, name: string): string {
    return `${checkedPart(kind.toLowerCase())}/${checkedPart(namespace)}/${checkedPart(name)}`;
  }

  /** The file behind a storage path; a path that would leave the root is refused. */
  localPath(storagePath: string): string {
    const absolute = path.resolve(this.root, storagePath);
    if (!absolute.startsWith(this.root + path.sep)) {
      throw new Error(`artifact path '${storagePath}' is outside the storage`);
    }
    return absolute;
  }

  /** Writes through `produce` into a temporary file beside the target, then renames it into place. */
  async writeAtomic<T>(storagePath: string, produce: (temporaryFile: string) => Promise<T>): Promise<T> {
    const target = this.localPath(storagePath);
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = path.join(path.dirname(target), `.tmp-${randomUUID()}`);
    try {
      const result = await produce(temporary);
      await rename(temporary, target);
      return result;
    } catch (err) {
      await rm(temporary, { force: true });
      throw err;
    }
  }

  /**
   * Deletes the object's older artifacts, keeping `current` and the newest others up to `retain` in all.
   * Returns the deleted storage paths.
   */
  async garbageCollect(current: string): Promise<string[]> {
    const dir = path.dirname(this.localPath(current));
    const currentName = path.basename(current);
    const others: { name: string; mtimeMs: number }[] = [];
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.tar.gz') && entry.name !== currentName) {
        others.push({ name: entry.name, mtimeMs: (await stat(path.join(dir, entry.name))).mtimeMs });
      }
    }
    others.sort((a, b) => b.mtimeMs - a.mtimeMs);
    const deleted: string[] = [];
    for (const { name } of others.slice(this.retain - 1)) {
      await rm(path.join(dir, name), { force: true });
      deleted.push(path.posix.join(path.posix.dirname(current), name));
    }
    return deleted;
  }

  /** Removes every artifact of an object (it was deleted). */
  async removeAll(kind: string, namespace: string, name: string): Promise<void> {
    await rm(this.localPath(this.objectPath(kind, namespace, name)), { recursive: true, force: true });
  }

  async exists(storagePath: string): Promise<boolean> {
    return (await stat(this.localPath(storagePath)).catch(() => undefined))?.isFile() ?? false;
  }

  open(storagePath: string): ReadStream {
    return createReadStream(this.localPath(storagePath));
  }
}

function checkedPart(part: string): string {
  if (part === '' || part === '.' || part === '..' || part.includes('/') || part.includes('\\')) {
    throw new Error(`invalid artifact path component '${part}'`);
  }
  return part;
}

export interface BuildArtifactOptions {
  store: ArtifactStore;
  /** The source's kind, e.g. `GitRepository` (lowercased in the path). */
  kind: string;
  namespace: string;
  name: string;
  /** The checked-out work tree. */
  sourceDir: string;
  /** The commit hash: the file name. */
  commit: string;
  /** The Flux revision string recorded in the artifact. */
  revision: string;
  /** `spec.ignore`. */
  ignore?: string;
  /** Where the storage is served, e.g. `http://sluice.flux-system.svc.cluster.local.`; the URL is `<base>/<path>`. */
  advertiseBase: string;
}

/** Archives the filtered checkout into the store, drops the object's old artifacts and describes the new one. */
export async function buildArtifact(options: BuildArtifactOptions): Promise<Artifact> {
  const { store } = options;
  const storagePath = store.pathFor(options.kind, options.namespace, options.name, options.commit);
  const filter = await loadSourceFilter(options.sourceDir, options.ignore);
  const { digest, size, leftOut } = await store.writeAtomic(storagePath, (file) =>
    archiveDirectory(options.sourceDir, file, filter),
  );
  await store.garbageCollect(storagePath);
  return {
    path: storagePath,
    url: artifactUrl(options.advertiseBase, storagePath),
    revision: options.revision,
    digest,
    // metav1.Time: RFC 3339 with whole seconds.
    lastUpdateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    size,
    ...(leftOut.length > 0
      ? { metadata: { [leftOutSymlinksKey]: leftOut.map((l) => `${l.path} -> ${l.target}`).join(', ') } }
      : {}),
  };
}

/**
 * Writes a deterministic .tar.gz of `sourceDir` to `file`. The statCache hands node-tar normalised stats
 * (modes, one link), so the headers carry nothing of the machine that built them.
 */
export async function archiveDirectory(
  sourceDir: string,
  file: string,
  filter: SourceFilter,
): Promise<ArchiveResult> {
  const root = path.resolve(sourceDir);
  const statCache = new Map<string, Stats>();
  // The root comes first, as in Flux's archives; it also keeps an all-filtered archive from being empty.
  const rootStats = await stat(root);
  if (!rootStats.isDirectory()) throw new Error(`invalid dir path: ${root}`);
  statCache.set(root, normalised(rootStats, true));
  const entries = ['.'];
  const leftOut: LeftOutSymlink[] = [];
  await collectEntries(root, '', filter, entries, statCache, leftOut);
  await tar.create(
    {
      file,
      cwd: root,
      gzip: true,
      portable: true,
      mtime: new Date(0),
      noDirRecurse: true,
      strict: true,
      statCache,
      mode: archiveFileMode,
    },
    entries,
  );
  return { digest: await fileDigest(file, 'sha256'), size: (await stat(file)).size, leftOut };
}

/**
 * Depth-first in name order, like Go's filepath.Walk; symlinks and special files are left out, and the symlinks
 * that the ignore rules do not exclude anyway are named in `leftOut`, since something may expect them.
 */
async function collectEntries(
  root: string,
  dir: string,
  filter: SourceFilter,
  entries: string[],
  statCache: Map<string, Stats>,
  leftOut: LeftOutSymlink[],
): Promise<void> {
  const names = (await readdir(path.join(root, dir))).sort();
  for (const name of names) {
    const relative = dir === '' ? name : `${dir}/${name}`;
    const absolute = path.join(root, relative);
    const stats = await lstat(absolute);
    const isDirectory = stats.isDirectory();
    if (stats.isSymbolicLink() && !filter(relative, false)) {
      leftOut.push({ path: relative, target: await readlink(absolute) });
      continue;
    }
    if (!isDirectory && !stats.isFile()) continue;
    // `.git` never leaves the controller, whatever the patterns say.
    if ((isDirectory && name === '.git') || filter(relative, isDirectory)) continue;
    statCache.set(absolute, normalised(stats, isDirectory));
    entries.push(relative);
    if (isDirectory) await collectEntries(root, relative, filter, entries, statCache, leftOut);
  }
}

/** Flux's modes by type and executable bit, and a single link (so node-tar never writes a hard link). */
function normalised(stats: Stats, isDirectory: boolean): Stats {
  const permissions = isDirectory ? directoryMode : stats.mode & 0o111 ? executableMode : fileMode;
  stats.mode = (stats.mode & constants.S_IFMT) | permissions;
  stats.nlink = 1;
  return stats;
}

/** `<algorithm>:<hex>` of a file's bytes. */
export async function fileDigest(file: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(file), hash);
  return `${algorithm}:${hash.digest('hex')}`;
}

/** The most an artifact may unpack to: a gzip bomb or a tarball of a million entries fails, named, instead. */
export interface ExtractLimits {
  maxBytes: number;
  maxEntries: number;
}

export const defaultExtractLimits: ExtractLimits = { maxBytes: 1024 * 1024 * 1024, maxEntries: 100_000 };

/**
 * The consumer side: checks the tarball against the digest the artifact advertises, then unpacks regular
 * files and directories into `destDir`; an entry whose path would leave `destDir`, or entries adding up to more
 * than the limits (counted from the headers while reading, so a bomb is never inflated), fail the whole
 * extraction before anything is written.
 */
export async function extractArtifact(
  file: string,
  destDir: string,
  expectedDigest: string,
  limits: ExtractLimits = defaultExtractLimits,
): Promise<void> {
  const algorithm = expectedDigest.slice(0, expectedDigest.indexOf(':'));
  if (!digestAlgorithms.has(algorithm)) {
    throw new Error(`failed to verify archive: unsupported digest algorithm in '${expectedDigest}'`);
  }
  if ((await fileDigest(file, algorithm)) !== expectedDigest) {
    throw new Error(`failed to verify archive: computed digest doesn't match provided '${expectedDigest}'`);
  }
  await checkEntries(file, destDir, limits);
  await mkdir(destDir, { recursive: true });
  await tar.extract({
    file,
    cwd: destDir,
    strict: true,
    preserveOwner: false,
    filter: (_path, entry) => 'type' in entry && (entry.type === 'File' || entry.type === 'Directory'),
  });
}

/** Reads the tarball's headers once: no entry may leave `destDir`, and the entries must stay within `limits`. */
function checkEntries(file: string, destDir: string, limits: ExtractLimits): Promise<void> {
  return new Promise((resolve, reject) => {
    const source = createReadStream(file);
    let entries = 0;
    let bytes = 0;
    let failed = false;
    const fail = (message: string): void => {
      if (failed) return;
      failed = true;
      source.destroy();
      reject(new Error(`failed to extract archive: ${message}`));
    };
    const parser = tar.list({
      onReadEntry: (entry) => {
        entries += 1;
        bytes += entry.size ?? 0;
        if (escapesRoot(entry.path)) fail(`entry '${entry.path}' would be written outside '${destDir}'`);
        else if (entries > limits.maxEntries) fail(`it has more than ${limits.maxEntries} entries`);
        else if (bytes > limits.maxBytes)
          fail(`it unpacks to more than ${limits.maxBytes} bytes (at entry '${entry.path}')`);
        entry.resume();
      },
    });
    source.on('error', (error) => fail(error.message));
    parser.on('error', (error: Error) => fail(error.message));
    parser.on('close', () => {
      if (!failed) resolve();
    });
    source.pipe(parser);
  });
}

function escapesRoot(entryPath: string): boolean {
  const normalised = entryPath.replaceAll('\\', '/');
  return normalised.startsWith('/') || /^[a-zA-Z]:/.test(normalised) || normalised.split('/').includes('..');
}

/**
 * An artifact's URL as source-controller advertises it: `http://<--storage-adv-addr>/<path>`. The address is
 * host[:port] as in Flux; a full base URL (with a scheme) is taken as it is.
 */
export function artifactUrl(advertised: string, storagePath: string): string {
  const base = /^[a-z][a-z0-9+.-]*:\/\//i.test(advertised) ? advertised : `http://${advertised}`;
  return `${base.replace(/\/+$/, '')}/${storagePath}`;
}
