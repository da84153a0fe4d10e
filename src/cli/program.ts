// The sluice command tree: one Command per verb, wired here (main.ts runs it).
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
import { uiCommand } from './ui.ts';
import { createCommand } from './create.ts';
import { reconcileCommand } from './reconcile.ts';
import { historyCommand } from './history.ts';
import { rerunCommand } from './rerun.ts';

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
    .addCommand(rerunCommand())
    .addCommand(uiCommand());
}
