// Flux's kustomization.yaml generation: use the directory's kustomization file, or write one listing every
// Kubernetes YAML file below the directory, then overlay the Kustomization spec's build fields (targetNamespace,
// namePrefix, nameSuffix, patches, components, images, buildMetadata) and write the file back for
// `kustomize build`. Like Flux, the generated or rewritten file is left in the (temporary) directory.
import { readdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Image, KustomizationSpec, Patch } from '../api/kustomization.ts';
import { ManifestError, isMapping, parseYamlDocuments, toYaml } from './yaml.ts';
import type { PathMatcher } from './ignore-paths.ts';

/** The spec fields that change the kustomization file. */
export const overlayFields = [
  'targetNamespace',
  'namePrefix',
  'nameSuffix',
  'patches',
  'images',
  'components',
  'ignoreMissingComponents',
  'buildMetadata',
] as const satisfies readonly (keyof KustomizationSpec)[];

export type KustomizationOverlay = Pick<KustomizationSpec, (typeof overlayFields)[number]>;

/** The names kustomize recognises, in the order it looks for them. */
export const kustomizationFileNames = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

const kustomizeApiVersion = 'kustomize.config.k8s.io/v1beta1';

export interface GenerateOptions {
  /** The artifact root: files are named relative to it in errors, and symlinks may not lead out of it. Default: dir. */
  root?: string;
  /** Files a generated kustomization.yaml leaves out (`--ignore-paths`), relative to `dir`. */
  ignore?: PathMatcher;
}

export interface GeneratedKustomization {
  /** The kustomization file that was written. */
  file: string;
  /** True when the directory had no kustomization file and one was generated. */
  generated: boolean;
  kustomization: Record<string, unknown>;
}

/** Writes `dir`'s kustomization file with the spec overlaid, generating it first when there is none. */
export async function generateKustomization(
  dir: string,
  spec: KustomizationOverlay,
  options: GenerateOptions = {},
): Promise<GeneratedKustomization> {
  const files = new ProjectFiles(options.root ?? dir);
  const existing = await findKustomizationFile(dir);
  let kustomization: Record<string, unknown>;
  if (existing) {
    await files.requireInside(existing);
    kustomization = await readKustomizationFile(existing, files.label(existing));
    const resources = kustomization.resources;
    // An otherwise empty file would make kustomize fail with "kustomization.yaml is empty".
    if (!Array.isArray(resources) || resources.length === 0) {
      kustomization.buildMetadata = withOption(kustomization.buildMetadata, 'originAnnotations');
    }
  } else {
    const resources = await scanManifests(dir, files, options.ignore);
    kustomization = { apiVersion: kustomizeApiVersion, kind: 'Kustomization' };
    if (resources.length > 0) kustomization.resources = resources;
    // kustomize refuses an empty kustomization; a namespace alone builds to nothing.
    else kustomization.namespace = '_placeholder';
  }
  kustomization.apiVersion ??= kustomizeApiVersion;
  kustomization.kind ??= 'Kustomization';
  const file = existing ?? join(dir, kustomizationFileNames[0]);
  await overlaySpec(kustomization, spec, dir, files.label(file));
  await writeFile(file, toYaml([kustomization]));
  return { file, generated: !existing, kustomization };
}

/** The directory's kustomization file, if it has one. */
export async function findKustomizationFile(dir: string): Promise<string | undefined> {
  for (const name of kustomizationFileNames) {
    const file = join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (info && !info.isDirectory()) return file;
  }
  return undefined;
}

/** Reads a kustomization file as a mapping (an empty file is an empty mapping); `label` names it in errors. */
export async function readKustomizationFile(file: string, label: string): Promise<Record<string, unknown>> {
  const documents = parseYamlDocuments(await readFile(file, 'utf8'), label);
  const [first, second] = documents;
  if (second)
    throw new ManifestError(label, second.line, 1, 'a kustomization file holds a single YAML document');
  if (!first) return {};
  if (!isMapping(first.value)) {
    throw new ManifestError(label, first.line, 1, 'a kustomization file must be a YAML mapping');
  }
  return first.value;
}

/**
 * Flux's test that a component is neither remote (git/http URLs, `github.com/…`) nor absolute;
 * `file://` followed by a relative path counts as local.
 */
export function isLocalRelativePath(path: string): boolean {
  const lower = path.toLowerCase();
  const remotePrefixes = [
    'git::',
    'gh:',
    'ssh://',
    'https://',
    'http://',
    'git@',
    'github.com:',
    'github.com/',
  ];
  if (remotePrefixes.some((prefix) => prefix.length < path.length && lower.startsWith(prefix))) return false;
  return !isAbsolute(path) && !isAbsolute(lower.replace(/^file:\/\//, ''));
}

async function overlaySpec(
  kustomization: Record<string, unknown>,
  spec: KustomizationOverlay,
  dir: string,
  label: string,
): Promise<void> {
  // Flux builds with kustomize's library defaults, which keep the objects in the order read; the CLI's default
  // sorts them by kind ("legacy"). A sortOptions the user wrote stands.
  kustomization.sortOptions ??= { order: 'fifo' };
  if (spec.targetNamespace) kustomization.namespace = spec.targetNamespace;
  if (spec.namePrefix) kustomization.namePrefix = spec.namePrefix;
  if (spec.nameSuffix) kustomization.nameSuffix = spec.nameSuffix;
  if (spec.patches?.length) {
    kustomization.patches = [...listField(kustomization, 'patches', label), ...spec.patches.map(patchEntry)];
  }
  if (spec.components?.length) {
    const components = listField(kustomization, 'components', label);
    for (const component of spec.components) {
      if (!isLocalRelativePath(component)) {
        throw new Error(`component path '${component}' must be local and relative`);
      }
      if (spec.ignoreMissingComponents && !(await stat(resolve(dir, component)).catch(() => undefined)))
        continue;
      components.push(component);
    }
    kustomization.components = components;
  }
  if (spec.images?.length) {
    kustomization.images = mergeImages(listField(kustomization, 'images', label), spec.images);
  }
  if (spec.buildMetadata?.length) kustomization.buildMetadata = [...spec.buildMetadata];
}

function listField(kustomization: Record<string, unknown>, field: string, label: string): unknown[] {
  const value = kustomization[field] ?? [];
  if (!Array.isArray(value)) throw new Error(`${label}: field ${field} must be a list`);
  return [...value];
}

function withOption(buildMetadata: unknown, option: string): unknown[] {
  const options = Array.isArray(buildMetadata) ? buildMetadata : [];
  return options.includes(option) ? options : [...options, option];
}

// A patch without a target selects its object by its own kind and name; an empty target would select everything.
function patchEntry({ patch, target }: Patch): Record<string, unknown> {
  const selector = Object.fromEntries(Object.entries(target ?? {}).filter(([, value]) => value));
  return Object.keys(selector).length > 0 ? { patch, target: selector } : { patch };
}

/** Merges by name: newName overrides, newTag and digest are replaced together, new names are appended. */
function mergeImages(existing: unknown[], overrides: readonly Image[]): unknown[] {
  const images = [...existing];
  for (const { name, newName, newTag, digest } of overrides) {
    const index = images.findIndex((image) => isMapping(image) && image.name === name);
    const merged: Record<string, unknown> =
      index >= 0 ? { ...(images[index] as Record<string, unknown>) } : { name };
    if (newName) merged.newName = newName;
    if (newTag || digest) {
      delete merged.newTag;
      delete merged.digest;
      if (newTag) merged.newTag = newTag;
      if (digest) merged.digest = digest;
    }
    if (index >= 0) images[index] = merged;
    else images.push(merged);
  }
  return images;
}

/** Every Kubernetes YAML file below `dir`, and every subdirectory with its own kustomization file, as `./path`. */
async function scanManifests(dir: string, files: ProjectFiles, ignored?: PathMatcher): Promise<string[]> {
  const resources: string[] = [];
  const walk = async (relativeDir: string): Promise<void> => {
    const entries = await readdir(join(dir, relativeDir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relativePath = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
      const path = join(dir, relativePath);
      if (ignored?.(relativePath, entry.isDirectory())) continue;
      if (entry.isDirectory()) {
        // A directory with its own kustomization is one resource; it is not searched further.
        if (await findKustomizationFile(path)) resources.push(`./${relativePath}`);
        else await walk(relativePath);
        continue;
      }
      const extension = extname(entry.name);
      if (extension !== '.yaml' && extension !== '.yml') continue;
      // Symlinks count as files (a link to a directory is not followed) and must stay inside the root.
      await files.requireInside(path);
      const label = files.label(path);
      try {
        validateResourceFile(await readFile(path, 'utf8'), label);
      } catch (error) {
        const where =
          error instanceof ManifestError ? error.message : `${label}: ${(error as Error).message}`;
        throw new Error(`failed to decode Kubernetes YAML from ${where}`, { cause: error });
      }
      resources.push(`./${relativePath}`);
    }
  };
  await walk('');
  return resources;
}

// What kustomize's resource factory requires of a file: objects with a kind and a name (Lists need no name).
function validateResourceFile(text: string, label: string): void {
  for (const { value, line } of parseYamlDocuments(text, label)) {
    const isList = isMapping(value) && String(value.kind).endsWith('List') && Array.isArray(value.items);
    const items = isList ? [value, ...(value.items as unknown[])] : [value];
    for (const item of items) {
      if (!isMapping(item)) {
        throw new ManifestError(label, line, 1, `expected a Kubernetes object, got ${JSON.stringify(item)}`);
      }
      const kind = item.kind;
      if (typeof kind !== 'string' || kind === '') {
        throw new ManifestError(label, line, 1, 'missing kind in object');
      }
      const metadata = item.metadata;
      const named = isMapping(metadata) && typeof metadata.name === 'string' && metadata.name !== '';
      if (!named && !kind.endsWith('List')) {
        throw new ManifestError(label, line, 1, `missing metadata.name in ${kind} object`);
      }
    }
  }
}

/** Names files relative to the artifact root and keeps symlinks from leading out of it. */
class ProjectFiles {
  private readonly root: string;
  private realRoot: Promise<string> | undefined;

  constructor(root: string) {
    this.root = resolve(root);
  }

  label(path: string): string {
    const relativePath = relative(this.root, resolve(path));
    return relativePath.startsWith('..') ? path : relativePath.split(sep).join('/');
  }

  async requireInside(path: string): Promise<void> {
    this.realRoot ??= realpath(this.root);
    const [realRoot, realPath] = await Promise.all([this.realRoot, realpath(path)]);
    if (realPath !== realRoot && !realPath.startsWith(realRoot + sep)) {
      throw new Error(`${this.label(path)} is a symlink to ${realPath}, outside the artifact root`);
    }
  }
}
