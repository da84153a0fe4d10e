// Bundles the page of `sluice ui` (src/ui/web/app.ts and its one library, dagre) into dist/ui/app.js with
// esbuild, minified, so the server serves it inline and the page needs no network. Run by `npm run build`;
// the test suite's global setup runs it too, so the tests see the page as the source is.
import path from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from './cluster.ts';

export async function buildUi(): Promise<string> {
  const outfile = path.join(repoRoot, 'dist/ui/app.js');
  await build({
    entryPoints: [path.join(repoRoot, 'src/ui/web/app.ts')],
    outfile,
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2022',
    platform: 'browser',
    logLevel: 'warning',
  });
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`built ${path.relative(repoRoot, await buildUi())}\n`);
}
