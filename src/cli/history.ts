// `sluice history ks <name>`: the Kustomization's run ledger (status.jobRuns) as a table, newest first; with
// --pipeline, that of every Kustomization it depends on too, in pipeline order. Flux has no such command.
import { Command } from 'commander';
import { stringify } from 'yaml';
import type { JobRun, Kustomization } from '../api/kustomization.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { collectionPath } from '../api/meta.ts';
import { pipelineOf } from '../controllers/kustomization/dependencies.ts';
import { historyHeader, historyRow } from '../jobs/history.ts';
import { outputOption, withClusterOptions, type ClusterOptions, type OutputFormat } from './flags.ts';
import { getKustomization } from './kinds.ts';
import { runWithClient } from './status-log.ts';
import { formatTable, truncateHex } from './table.ts';

interface HistoryOptions extends ClusterOptions {
  output: OutputFormat;
  pipeline?: boolean;
}

export function historyCommand(): Command {
  const kustomization = new Command('kustomization')
    .aliases(['ks', 'kustomizations'])
    .description(
      "print the runs of a Kustomization's Jobs, newest first: revision, attempt, result and cause",
    )
    .argument('<name>', 'the Kustomization')
    .option('--pipeline', 'also the Kustomizations it depends on, in pipeline order')
    .addOption(outputOption());
  withClusterOptions(kustomization).action(async (name: string, options: HistoryOptions) => {
    await runWithClient(options, async (client, log) => {
      const ks = (await getKustomization(client, options.namespace, name)) as unknown as Kustomization;
      const members = options.pipeline
        ? pipelineOf(ks, (await client.list<Kustomization>(collectionPath(KustomizationApi))).items)
        : [ks];
      const ledgers = members.map((k) => ({
        kustomization: `${k.metadata.namespace}/${k.metadata.name}`,
        runs: k.status?.jobRuns ?? [],
      }));
      if (options.output !== 'table') {
        const document = options.pipeline ? ledgers : (ledgers[0]?.runs ?? []);
        process.stdout.write(
          options.output === 'json' ? `${JSON.stringify(document, null, 2)}\n` : stringify(document),
        );
        return;
      }
      const now = new Date();
      const rows = ledgers.flatMap(({ kustomization: k, runs }) =>
        runs.map((run: JobRun) => [
          ...(options.pipeline ? [k] : []),
          ...historyRow(run, now).map(truncateHex),
        ]),
      );
      if (rows.length === 0) {
        log.waiting(
          `no Job runs recorded for ${options.pipeline ? 'the pipeline of ' : ''}Kustomization ${ks.metadata.namespace}/${name}`,
        );
        return;
      }
      process.stdout.write(
        formatTable([...(options.pipeline ? ['kustomization'] : []), ...historyHeader], rows),
      );
    });
  });
  return new Command('history')
    .description("print the run ledger of a Flux object's Jobs")
    .addCommand(kustomization);
}
