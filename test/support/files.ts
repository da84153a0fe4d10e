// A scratch directory per test file, removed when the file's tests end.
import { after } from 'node:test';
import { scratchDir as makeScratchDir, type ScratchDir } from '../../dev/fixtures.ts';

export async function scratchDir(prefix: string): Promise<ScratchDir> {
  const dir = await makeScratchDir(prefix);
  after(() => dir.remove());
  return dir;
}
