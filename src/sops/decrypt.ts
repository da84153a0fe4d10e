// What a Kustomization's spec.decryption decrypts, and when, as Flux's kustomize-controller does it: before the
// build, the secretGenerator files and env files and the patch files of every kustomization file reachable from
// spec.path (in place, in the pass's own copy of the artifact); after the build, each object encrypted as a whole
// (any kind, with sops.mac), else each Secret `data` value that is an encrypted file. Substitution comes after.
import { lstat, readFile, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KubeObject } from '../kube/client.ts';
import { parseErrorWithoutText } from '../errors.ts';
import { Annotation } from '../api/meta.ts';
import { hasMark } from '../ssa/annotations.ts';
import { findKustomizationFile, readKustomizationFile } from '../kustomize/generator.ts';
import {
  encryptedFormat,
  formatForPath,
  isEncryptedAs,
  type SopsDecryptor,
  type SopsFormat,
} from './sops.ts';

/** The largest file decrypted before the build, as in Flux. */
const maxSourceBytes = 5 * 1024 * 1024;

/**
 * Decrypts, in place, the encrypted files that the kustomization files from `dir` on (resources and components
 * that are directories, recursively) generate Secrets or patches from. Nothing outside `root` is read.
 */
export async function decryptSources(decryptor: SopsDecryptor, dir: string, root: string): Promise<void> {
  const realRoot = await realpath(root);
  const visitedDirs = new Set<string>();
  const visitedFiles = new Set<string>();

  const visit = async (at: string): Promise<void> => {
    if (visitedDirs.has(at)) return;
    visitedDirs.add(at);
    const file = await findKustomizationFile(at);
    if (!file) return;
    const kustomization = await readKustomizationFile(file, relativeTo(realRoot, file));
    for (const [source, format] of generatorSources(kustomization)) {
      const target = await insideRoot(realRoot, at, source);
      if (!target || visitedFiles.has(target)) continue;
      visitedFiles.add(target);
      await decryptFile(decryptor, realRoot, target, format);
    }
    for (const entry of [
      ...stringList(kustomization['resources']),
      ...stringList(kustomization['components']),
    ]) {
      const target = await insideRoot(realRoot, at, entry);
      if (target && (await lstat(target)).isDirectory()) await visit(target);
    }
  };
  await visit(await realpath(dir));
}

/** Each object as Flux decrypts it after the build; objects marked `decrypt: disabled` are left as built. */
export async function decryptObjects(decryptor: SopsDecryptor, objects: KubeObject[]): Promise<KubeObject[]> {
  const decrypted: KubeObject[] = [];
  for (const object of objects) {
    if (hasMark(object, Annotation.decrypt, 'disabled')) decrypted.push(object);
    else if (isEncryptedWhole(object)) decrypted.push(await decryptWhole(decryptor, object));
    else if (object.kind === 'Secret') decrypted.push(await decryptSecretData(decryptor, object));
    else decrypted.push(object);
  }
  return decrypted;
}

/** The files one kustomization file generates from, with the format each is decrypted as. */
function generatorSources(kustomization: Record<string, unknown>): [string, SopsFormat][] {
  const sources: [string, SopsFormat][] = [];
  for (const generator of mappingList(kustomization['secretGenerator'])) {
    for (const entry of stringList(generator['files'])) {
      // `key=path`: the key's name picks the format, as sops would for a file of that name.
      const split = entry.indexOf('=');
      const key = split >= 0 ? entry.slice(0, split) : entry;
      sources.push([split >= 0 ? entry.slice(split + 1) : entry, formatForPath(key)]);
    }
    for (const envFile of stringList(generator['envs'])) {
      const format = formatForPath(envFile);
      sources.push([envFile, format === 'binary' ? 'dotenv' : format]);
    }
  }
  for (const patch of mappingList(kustomization['patches'])) {
    const file = patch['path'];
    if (typeof file !== 'string' || file === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(file)) continue;
    const format = formatForPath(file);
    sources.push([file, format === 'json' || format === 'yaml' ? format : 'binary']);
  }
  return sources;
}

async function decryptFile(
  decryptor: SopsDecryptor,
  root: string,
  file: string,
  format: SopsFormat,
): Promise<void> {
  const shown = relativeTo(root, file);
  const info = await lstat(file);
  if (!info.isFile()) throw new Error(`${shown}: cannot decrypt a file that is not a regular file`);
  if (info.size > maxSourceBytes) {
    throw new Error(
      `${shown}: cannot decrypt a file of ${info.size} bytes, more than the limit of ${maxSourceBytes}`,
    );
  }
  const content = await readFile(file);
  // A file without the chosen format's marker is not encrypted (or not in that format): left as it is.
  if (!isEncryptedAs(content, format)) return;
  let plain: Buffer;
  try {
    plain = await decryptor.decrypt(content, format);
  } catch (error) {
    throw new Error(`${shown}: ${(error as Error).message}`, { cause: error });
  }
  await writeFile(file, plain, { mode: 0o600 });
}

function isEncryptedWhole(object: KubeObject): boolean {
  const sops = object['sops'];
  return typeof sops === 'object' && sops !== null && Boolean((sops as Record<string, unknown>)['mac']);
}

async function decryptWhole(decryptor: SopsDecryptor, object: KubeObject): Promise<KubeObject> {
  let plain: Buffer;
  try {
    // The MAC is not checked: kustomize has changed the object since it was encrypted (namespace, labels).
    plain = await decryptor.decrypt(Buffer.from(JSON.stringify(object)), 'json', 'json', { ignoreMac: true });
  } catch (error) {
    throw new Error(
      `${describe(object)}: failed to decrypt and format its data: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  try {
    return JSON.parse(plain.toString('utf8')) as KubeObject;
  } catch (error) {
    throw new Error(`${describe(object)}: the decrypted object is ${parseErrorWithoutText(error)}`, {
      cause: error,
    });
  }
}

async function decryptSecretData(decryptor: SopsDecryptor, secret: KubeObject): Promise<KubeObject> {
  const data = secret['data'];
  if (typeof data !== 'object' || data === null) return secret;
  let changed: Record<string, string> | undefined;
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (typeof value !== 'string') continue;
    const content = Buffer.from(value, 'base64');
    const input = encryptedFormat(content);
    if (!input) continue;
    try {
      const plain = await decryptor.decrypt(content, input, formatForPath(key));
      changed ??= { ...(data as Record<string, string>) };
      changed[key] = plain.toString('base64');
    } catch (error) {
      throw new Error(
        `${describe(secret)}: failed to decrypt and format field '${key}': ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  return changed ? { ...secret, data: changed } : secret;
}

/** `dir`/`entry` if it exists inside `root` (through symlinks too); undefined for what is not there. */
async function insideRoot(root: string, dir: string, entry: string): Promise<string | undefined> {
  if (path.isAbsolute(entry)) throw new Error(`'${entry}' must be a path relative to its kustomization file`);
  const real = await realpath(path.resolve(dir, entry)).catch(() => undefined);
  if (real === undefined) return undefined;
  if (real !== root && !real.startsWith(root + path.sep)) {
    throw new Error(`'${entry}' in ${relativeTo(root, dir)} leads outside the artifact`);
  }
  return real;
}

function describe(object: KubeObject): string {
  const { namespace, name } = object.metadata ?? {};
  return `${object.kind}/${namespace ? `${namespace}/` : ''}${name}`;
}

function relativeTo(root: string, file: string): string {
  return path.relative(root, file) || '.';
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function mappingList(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
    : [];
}
