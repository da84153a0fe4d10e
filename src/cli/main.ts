// The sluice command line: one Command per verb, wired here.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { installCommand } from './install.ts';
import { controllerCommand } from './controller.ts';
import { getCommand } from './get.ts';
import { resumeCommand, suspendCommand } from './suspend.ts';
import { eventsCommand } from './events.ts';
import { treeCommand } from './tree.ts';
import { buildCommand } from './build.ts';
import { diffCommand } from './diff.ts';
import { createCommand } from './create.ts';
import { reconcileCommand } from './reconcile.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function program(): Command {
  return new Command('sluice')
    .description(
      'GitOps for ordered pipelines: Flux-compatible GitRepository and Kustomization, Jobs in order',
    )
    .version(pkg.version, '-v, --version', 'print the sluice version')
    .addCommand(installCommand())
    .addCommand(getCommand())
    .addCommand(suspendCommand())
    .addCommand(resumeCommand())
    .addCommand(eventsCommand())
    .addCommand(treeCommand())
    .addCommand(controllerCommand())
    .addCommand(buildCommand())
    .addCommand(diffCommand())
    .addCommand(createCommand())
    .addCommand(reconcileCommand());
}

// A reader that stops early (`sluice install --export | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  await program().parseAsync(process.argv);
} catch (error) {
  console.error(`✗ ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
