// `sluice check`: Flux's `flux check` for sluice, printed as flux prints it; exit 0 only if every check passes.
// The checks themselves are src/install/check.ts.
import { Command } from 'commander';
import type { KubeClient } from '../kube/client.ts';
import { checks, passed, type CheckSection } from '../install/check.ts';
import { withClusterOptions, type ClusterOptions } from './flags.ts';
import { ReportedFailure, runWithClient } from './status-log.ts';
import type { StatusLog } from '../runtime/logger.ts';

/** Prints a section; true if every entry passed. */
function report(log: StatusLog, section: CheckSection): boolean {
  log.action(`checking ${section.title}`);
  for (const entry of section.entries) {
    if (entry.info) log.action(entry.message);
    else if (entry.ok) log.success(entry.message);
    else log.failure(entry.message);
  }
  return passed(section);
}

/** Prints every section; true if every check passed. */
async function check(
  client: KubeClient,
  log: StatusLog,
  options: { namespace: string; pre: boolean },
): Promise<boolean> {
  let ok = true;
  for await (const section of checks(client, options)) ok = report(log, section) && ok;
  if (ok) log.success(options.pre ? 'prerequisites checks passed' : 'all checks passed');
  return ok;
}

interface CheckOptions extends ClusterOptions {
  pre?: boolean;
}

export function checkCommand(): Command {
  return withClusterOptions(
    new Command('check')
      .description('check the prerequisites and the installation (exit 1 if a check fails)')
      .option(
        '--pre',
        'only check the prerequisites (the cluster is reachable and its Kubernetes recent enough)',
      ),
  ).action((options: CheckOptions) =>
    runWithClient(options, async (client, log) => {
      const passed = await check(client, log, { namespace: options.namespace, pre: options.pre ?? false });
      if (!passed) {
        log.failure(options.pre ? 'prerequisites checks failed' : 'checks failed');
        throw new ReportedFailure();
      }
    }),
  );
}
