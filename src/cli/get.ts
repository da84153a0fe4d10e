// `sluice get ks|gitrepo [name]`: Flux's `flux get kustomizations` and `flux get sources git` tables, or the
// objects as YAML or JSON; `--watch` prints a row for every change until Ctrl-C.
import { Command } from 'commander';
import { collectionPath } from '../api/meta.ts';
import { stringify } from 'yaml';
import { listWatch } from '../kube/watch.ts';
import { outputOption, withClusterOptions, type ClusterOptions, type OutputFormat } from './flags.ts';
import {
  gitRepositoryKind,
  kustomizationKind,
  readyCondition,
  type FluxKind,
  type FluxObject,
} from './kinds.ts';
import { formatTable, truncateHex } from './table.ts';
import { ReportedFailure, runWithClient } from './status-log.ts';
import { getPipelineCommand, getPipelinesCommand } from './pipelines.ts';

interface GetOptions extends ClusterOptions {
  allNamespaces?: boolean;
  output: OutputFormat;
  watch?: boolean;
  header: boolean;
  statusSelector?: string;
}

const headers = ['Name', 'Revision', 'Suspended', 'Ready', 'Message'];

/** The table header, with NAMESPACE first across namespaces. */
export function tableHeader(allNamespaces: boolean): string[] {
  return allNamespaces ? ['Namespace', ...headers] : headers;
}

/** One table row, as Flux summarises a Kustomization or GitRepository. */
export function tableRow(kind: FluxKind, object: FluxObject, allNamespaces: boolean): string[] {
  const ready = readyCondition(object);
  const [status, message] = ready
    ? [ready.status, ready.message ?? '']
    : ['False', 'waiting to be reconciled'];
  const row = [
    object.metadata.name,
    truncateHex(kind.revisionOf(object) ?? ''),
    object.spec?.suspend === true ? 'True' : 'False',
    status,
    truncateHex(message),
  ];
  return allNamespaces ? [object.metadata.namespace, ...row] : row;
}

/** `--status-selector ready=false`: the condition type and status, both compared case-insensitively. */
function statusFilter(selector: string | undefined): (object: FluxObject) => boolean {
  if (selector === undefined) return () => true;
  const parts = selector.split('=');
  if (parts.length < 2) {
    throw new Error(`expected status selector in type=status format, but found: ${selector}`);
  }
  const [type, ...rest] = parts as [string, ...string[]];
  const status = rest.join('=');
  return (object) => {
    const condition = object.status?.conditions?.findLast((c) => c.type.toLowerCase() === type.toLowerCase());
    return condition?.status.toLowerCase() === status.toLowerCase();
  };
}

function getKindCommand(kind: FluxKind, name: string, aliases: string[], description: string): Command {
  const command = new Command(name)
    .aliases(aliases)
    .description(description)
    .argument('[name]', `only the ${kind.api.kind} with this name`)
    .option('-A, --all-namespaces', 'list the requested object(s) across all namespaces')
    .addOption(outputOption())
    .option('-w, --watch', 'after listing the requested objects, watch for changes (until Ctrl-C)')
    .option('--no-header', 'skip the header when printing the results')
    .option(
      '--status-selector <type=status>',
      'only objects whose condition has this status, e.g. ready=false',
    );
  return withClusterOptions(command).action(async (objectName: string | undefined, options: GetOptions) => {
    await runWithClient(options, async (client, log) => {
      const allNamespaces = options.allNamespaces === true;
      const path = collectionPath(kind.api, allNamespaces ? undefined : options.namespace);
      const query = objectName === undefined ? {} : { fieldSelector: `metadata.name=${objectName}` };
      const matches = statusFilter(options.statusSelector);
      const header = options.header ? tableHeader(allNamespaces) : [];

      if (options.watch) {
        if (options.output !== 'table') throw new Error('--watch prints tables only: drop -o');
        let first = true;
        // Until Ctrl-C ends the process.
        for await (const event of listWatch<FluxObject>(client, path, {
          ...query,
          signal: new AbortController().signal,
        })) {
          if (event.type === 'SYNCED' || !matches(event.object)) continue;
          // Like flux, each change is its own table: the header only above the first row.
          process.stdout.write(
            formatTable(first ? header : [], [tableRow(kind, event.object, allNamespaces)]),
          );
          first = false;
        }
        return;
      }

      const list = await client.list<FluxObject>(path, query);
      if (list.items.length === 0) {
        const where = allNamespaces ? 'any' : `"${options.namespace}"`;
        log.failure(
          objectName === undefined
            ? `no ${kind.api.kind} objects found in ${where} namespace`
            : `${kind.api.kind} object '${objectName}' not found in ${where} namespace`,
        );
        throw new ReportedFailure();
      }
      const items = list.items.filter(matches);
      if (options.output === 'table') {
        process.stdout.write(
          formatTable(
            header,
            items.map((item) => tableRow(kind, item, allNamespaces)),
          ),
        );
        return;
      }
      // One object when it was asked for by name, else a List, as kubectl prints them.
      const document =
        objectName !== undefined && items.length === 1 ? items[0] : { apiVersion: 'v1', kind: 'List', items };
      process.stdout.write(
        options.output === 'json' ? `${JSON.stringify(document, null, 2)}\n` : stringify(document),
      );
    });
  });
}

export function getCommand(): Command {
  const kustomizations = () =>
    getKindCommand(
      kustomizationKind,
      'kustomizations',
      ['ks', 'kustomization'],
      'print the status of Kustomizations',
    );
  const gitRepositories = (name: string, aliases: string[]) =>
    getKindCommand(gitRepositoryKind, name, aliases, 'print the status of GitRepository sources');
  return new Command('get')
    .description('print the status of Flux resources')
    .addCommand(kustomizations())
    .addCommand(gitRepositories('gitrepositories', ['gitrepo', 'gitrepository']))
    .addCommand(
      new Command('sources')
        .alias('source')
        .description('print the status of sources')
        .addCommand(gitRepositories('git', [])),
    )
    .addCommand(getPipelinesCommand())
    .addCommand(getPipelineCommand());
}
