// `--ignore-paths` of `sluice build`/`diff`, with the meaning `flux build` gives it: gitignore patterns that
// take files out of the build. Every kustomization file of the tree loses its local `resources`,
// `components` and `crds` entries that match (patterns anchored to that file's directory, as Flux's newer
// builds do for bases too), and a generated kustomization.yaml leaves matching files out.
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ignore from 'ignore';
import { kustomizationFileNames, isLocalRelativePath, readKustomizationFile } from './generator.ts';
import { toYaml } from './yaml.ts';

/** True when a path relative to the directory the patterns are anchored to is ignored. */
export type PathMatcher = (relativePath: string, isDirectory: boolean) => boolean;

/** A matcher for patterns given as flags (each may hold several, comma-separated, as cobra splits them). */
export function ignorePathsMatcher(patterns: readonly string[]): PathMatcher {
  const matcher = ignore({ ignorecase: false }).add(patterns.filter((p) => p.trim() !== ''));
  return (relativePath, isDirectory) => {
    // A path outside the anchor directory is never matched by its patterns.
    if (relativePath === '' || relativePath.startsWith('../')) return false;
    return matcher.ignores(isDirectory ? `${relativePath}/` : relativePath);
  };
}

const listFields = ['resources', 'components', 'crds'] as const;

/** Drops the matching entries from every kustomization file below `root` (a build's own temporary tree). */
export async function dropIgnoredEntries(root: string, matches: PathMatcher): Promise<void> {
  for (const file of await kustomizationFiles(root)) {
    const dir = path.dirname(file);
    const kustomization = await readKustomizationFile(file, path.relative(root, file));
    let changed = false;
    for (const field of listFields) {
      const entries = kustomization[field];
      if (!Array.isArray(entries)) continue;
      const kept = [];
      for (const entry of entries) {
        if (typeof entry === 'string' && isLocalRelativePath(entry) && (await isIgnored(dir, entry, matches)))
          continue;
        kept.push(entry);
      }
      if (kept.length !== entries.length) {
        kustomization[field] = kept;
        changed = true;
      }
    }
    if (changed) await writeFile(file, toYaml([kustomization]));
  }
}

async function isIgnored(dir: string, entry: string, matches: PathMatcher): Promise<boolean> {
  const relative = path.relative(dir, path.resolve(dir, entry.replace(/^file:\/\//, '')));
  const entries = await readdir(path.dirname(path.join(dir, relative)), { withFileTypes: true }).catch(
    () => undefined,
  );
  const found = entries?.find((e) => e.name === path.basename(relative));
  // An entry that names nothing is left for kustomize to report.
  if (!found) return false;
  return matches(relative.split(path.sep).join('/'), found.isDirectory());
}

async function kustomizationFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const names = new Set<string>(kustomizationFileNames);
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && names.has(entry.name)) found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}
