// Where a copy into a checkout may go. A checkout holds what the repository's author committed, symlinks
// included, so a destination is walked one name at a time and refused if any existing part of it is a symlink:
// a write through one would land wherever the author pointed it.
import { lstat } from 'node:fs/promises';
import path from 'node:path';

/**
 * `relative` (a leading "/" means `root`) joined onto `root`, for writing: refused when it climbs out of `root`,
 * is `root` itself, or passes through (or is) a symlink. `field` names the setting in the error.
 */
export async function writableInside(root: string, relative: string, field: string): Promise<string> {
  const target = path.resolve(root, relative.replace(/^\/+/, ''));
  if (!target.startsWith(root + path.sep)) {
    throw new Error(
      `${field} '${relative}' must be a directory inside the artifact, not its root or outside it`,
    );
  }
  let at = root;
  for (const part of path.relative(root, target).split(path.sep)) {
    at = path.join(at, part);
    const stats = await lstat(at).catch(() => undefined);
    if (!stats) break;
    if (stats.isSymbolicLink()) {
      throw new Error(
        `${field} '${relative}' passes through '${path.relative(root, at)}', a symlink in the repository; a copy is never written through one`,
      );
    }
  }
  return target;
}
