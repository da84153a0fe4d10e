// The sluice command line: one Command per verb, wired here.
import { Command } from 'commander';
import { sluiceVersion } from '../version.ts';
import { installCommand } from './install.ts';
import { uninstallCommand } from './uninstall.ts';
import { checkCommand } from './check.ts';
import { controllerCommand } from './controller.ts';
import { getCommand } from './get.ts';
import { resumeCommand, suspendCommand } from './suspend.ts';
import { eventsCommand } from './events.ts';
import { treeCommand } from './tree.ts';
import { logsCommand } from './logs.ts';
import { buildCommand } from './build.ts';
import { diffCommand } from './diff.ts';
import { createCommand } from './create.ts';
import { reconcileCommand } from './reconcile.ts';
import { historyCommand } from './history.ts';
import { rerunCommand } from './rerun.ts';
import { errorMessage } from '../errors.ts';

export function program(): Command {
  return new Command('sluice')
    .description(
      'GitOps for ordered pipelines: Flux-compatible GitRepository and Kustomization, Jobs in order',
    )
    .version(sluiceVersion, '-v, --version', 'print the sluice version')
    .addCommand(installCommand())
    .addCommand(uninstallCommand())
    .addCommand(checkCommand())
    .addCommand(getCommand())
    .addCommand(suspendCommand())
    .addCommand(resumeCommand())
    .addCommand(eventsCommand())
    .addCommand(treeCommand())
    .addCommand(logsCommand())
    .addCommand(controllerCommand())
    .addCommand(buildCommand())
    .addCommand(diffCommand())
    .addCommand(createCommand())
    .addCommand(reconcileCommand())
    .addCommand(historyCommand())
    .addCommand(rerunCommand());
}

// A reader that stops early (`sluice install --export | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  await program().parseAsync(process.argv);
} catch (error) {
  console.error(`✗ ${errorMessage(error)}`);
  process.exitCode = 1;
}
