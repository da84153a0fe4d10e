// The sluice command line: one Command per verb, wired here.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { installCommand } from './install.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function program(): Command {
  return new Command('sluice')
    .description(
      'GitOps for ordered pipelines: Flux-compatible GitRepository and Kustomization, Jobs in order',
    )
    .version(pkg.version, '-v, --version', 'print the sluice version')
    .addCommand(installCommand());
}

await program().parseAsync(process.argv);
