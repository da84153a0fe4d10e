// `sluice uninstall`: Flux's `flux uninstall` for sluice, asking first unless --silent; the steps themselves are
// src/install/uninstall.ts.
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { parseDuration } from '../api/duration.ts';
import { uninstall } from '../install/uninstall.ts';
import { errorMessage } from '../errors.ts';
import { withClusterOptions, type ClusterOptions } from './flags.ts';
import { ReportedFailure, runWithClient, statusLog } from './status-log.ts';

export const confirmationPrompt =
  'Are you sure you want to delete sluice and its custom resource definitions';

/** y or yes, in any case; anything else (an empty line included) declines. */
export function confirmed(answer: string): boolean {
  return /^(y|yes)$/i.test(answer.trim());
}

async function ask(question: string): Promise<boolean> {
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return confirmed(await readline.question(`${question}? [y/N] `));
  } finally {
    readline.close();
  }
}

interface UninstallCommandOptions extends ClusterOptions {
  keepNamespace?: boolean;
  dryRun?: boolean;
  silent?: boolean;
  timeout: string;
}

export function uninstallCommand(): Command {
  return withClusterOptions(
    new Command('uninstall')
      .description(
        'remove sluice: its controller, RBAC, CRDs and namespace (what the Kustomizations applied stays)',
      )
      .option('--keep-namespace', 'do not delete the namespace')
      .option('--dry-run', 'only print the objects that would be deleted')
      .option('-s, --silent', 'delete without asking for confirmation')
      .option('--timeout <duration>', 'how long to wait for the controller to stop', '5m'),
  ).action(async (options: UninstallCommandOptions) => {
    const dryRun = options.dryRun ?? false;
    const status = statusLog();
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(options.timeout, '--timeout');
    } catch (error) {
      status.failure(errorMessage(error));
      process.exitCode = 1;
      return;
    }
    if (!dryRun && !options.silent && !process.stdin.isTTY) {
      status.failure(
        'refusing to uninstall without confirmation: stdin is not a terminal; pass --silent (-s) to confirm',
      );
      process.exitCode = 1;
      return;
    }
    await runWithClient(options, async (client, log) => {
      // Asked once the cluster configuration has loaded, as flux does: a bad kubeconfig fails before the question.
      if (!dryRun && !options.silent && !(await ask(confirmationPrompt))) throw new Error('aborting');
      const ok = await uninstall(client, log, {
        namespace: options.namespace,
        keepNamespace: options.keepNamespace ?? false,
        dryRun,
        timeoutMs,
      });
      if (!ok) {
        log.failure('uninstall finished with errors');
        throw new ReportedFailure();
      }
      log.success(`uninstall finished${dryRun ? ' (dry run)' : ''}`);
    });
  });
}
