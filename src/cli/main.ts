// The sluice command line: one Command per verb, wired here.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function program(): Command {
  return new Command('sluice')
    .description(
      'GitOps for ordered pipelines: Flux-compatible GitRepository and Kustomization, Jobs in order',
    )
    .version(pkg.version, '-v, --version', 'print the sluice version');
}

await program().parseAsync(process.argv);
